/**
 * How tests start `o1e` as a child process: `node --import tsx src/cli/main.ts ...`, the
 * TypeScript source, not bin/o1e.js. bin/o1e.js runs the compiled dist/ (what an install gets),
 * which would make every CLI test depend on a fresh `npm run build`: a stale dist/ would test old
 * code, and building first would add a full compile to `npm test`. The source is always current;
 * the compiled bin and the package as installed are checked by test/package.test.ts.
 */
import { join, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Arguments for `process.execPath` that run the o1e CLI from source; append the command's own.
 * tsx is given as an absolute URL so the child finds it from any working directory.
 *
 * @example
 * await execFile(process.execPath, [...O1E, 'eval', '--data', directory, '--json']);
 */
export const O1E: readonly string[] = ['--import', import.meta.resolve('tsx'), join(ROOT, 'src', 'cli', 'main.ts')];
