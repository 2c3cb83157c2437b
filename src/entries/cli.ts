/**
 * `o1-embedder/cli`: the `o1e` command line as a function, for wrappers and tests; `main`
 * resolves to the exit code. Importing it loads every command (and so ONNX Runtime).
 *
 * @example
 * import { main } from 'o1-embedder/cli';
 * process.exitCode = await main(['eval', '--data', 'scifact', '--retriever', 'bm25', '--json']);
 *
 * @module
 */
export { main } from '../cli/main.js';
export { COMMANDS } from '../cli/registry.js';
export type { Command } from '../cli/command.js';
