/**
 * One writer at a time per index folder: `write.lock` is created exclusively and holds the
 * writer's pid. A lock whose process is gone (a writer killed with SIGKILL) is stale and taken
 * over, which is what lets a re-run resume. Readers never take it.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../errors.js';

/** The lock file's name inside an index folder. */
export const LOCK_FILE = 'write.lock';

/** Whether process `pid` exists (signal 0 checks without signalling). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the write lock of `index` (the folder must exist); resolves to a release function.
 * Rejects with STORE_ERROR naming the lock file while another live process holds it.
 *
 * A stale lock is removed and retaken; two processes taking over the same stale lock at the
 * same instant could both succeed (the lock is advisory, for people running commands, not a
 * distributed mutex).
 *
 * @example
 * const release = await acquireWriteLock('scifact.index');
 * try { ... } finally { await release(); }
 */
export async function acquireWriteLock(index: string): Promise<() => Promise<void>> {
  const path = join(index, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify({ pid: process.pid, started: new Date().toISOString() })}\n`, { flag: 'wx' });
      return async () => {
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new O1Error('STORE_ERROR', `cannot create the write lock: ${(error as Error).message}`, { file: path }, { cause: error });
    }
    let holder: number | undefined;
    try {
      holder = (JSON.parse(await readFile(path, 'utf8')) as { pid?: number }).pid;
    } catch {
      // Torn (the writer died while creating it) or removed meanwhile: stale either way.
    }
    if (typeof holder === 'number' && processAlive(holder)) {
      const who = holder === process.pid ? 'this process' : `another process (pid ${holder})`;
      throw new O1Error('STORE_ERROR', `${who} is writing this index; wait for it to finish`, { file: path });
    }
    await rm(path, { force: true });
  }
  throw new O1Error('STORE_ERROR', 'could not take the write lock (it keeps being recreated)', { file: path });
}
