/**
 * How tests start `o1e` as a child process: `node --import tsx src/cli/main.ts ...`, the
 * TypeScript source, not bin/o1e.js. bin/o1e.js runs the compiled dist/ (what an install gets),
 * which would make every CLI test depend on a fresh `npm run build`: a stale dist/ would test old
 * code, and building first would add a full compile to `npm test`. The source is always current;
 * the compiled bin and the package as installed are checked by test/package.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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

/**
 * Starts `o1e serve ARGS` as a child process and resolves once it prints its URL (`.../v1`);
 * rejects, with what it wrote on stderr, if it exits first. Its stderr is read all along (an
 * unread pipe would block the server once full) and kept for `stderr()`. `stop()` sends SIGTERM
 * and waits for the exit.
 *
 * @example
 * const served = await startServeProcess(['--index', index, '--port', '0', '--quiet']);
 * await fetch(`${served.url}/search`, ...);
 * await served.stop();
 */
export async function startServeProcess(args: readonly string[]): Promise<{ child: ChildProcess; url: string; stderr(): string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...O1E, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => { errors += chunk; });
  const stop = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  };
  try {
    let output = '';
    child.stdout?.setEncoding('utf8');
    while (!/listening on (\S+)/.test(output)) {
      const [chunk] = (await Promise.race([once(child.stdout as NodeJS.ReadableStream, 'data'), once(child, 'exit').then(() => { throw new Error(`o1e serve ${args.join(' ')} exited early: ${errors}`); })])) as [string];
      output += chunk;
    }
    return { child, url: /listening on (\S+)/.exec(output)?.[1] as string, stderr: () => errors, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
