import { createWriteStream } from 'node:fs';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';

/** The temporary name used while `path` is being written: same folder, so rename is atomic. */
export function temporaryPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/**
 * Writes a whole file atomically: a reader (or a process killed mid-write) sees either the old
 * file or the complete new one, never a torn file.
 *
 * @example
 * await writeFileAtomic('index.bin', bytes)
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Streams lines into a file atomically (temporary file, then rename), for outputs too large to
 * build as one string. Back-pressure is respected.
 *
 * @example
 * await writeLinesAtomic('run.trec', (function* () { yield 'q1 Q0 d1 1 2.5 bm25' })())
 */
export async function writeLinesAtomic(path: string, lines: Iterable<string> | AsyncIterable<string>): Promise<void> {
  const temporary = temporaryPath(path);
  const stream = createWriteStream(temporary, { encoding: 'utf8' });
  try {
    for await (const line of lines) {
      if (!stream.write(`${line}\n`)) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');
    await rename(temporary, path);
  } catch (error) {
    stream.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes a file atomically through an open handle, for binary outputs written piece by piece
 * (model files of many tensors): the pieces go to a temporary file that is renamed into place
 * only when `write` has finished; on failure the temporary file is removed.
 *
 * @example
 * await writeHandleAtomic('model.gguf', async (handle) => { await handle.write(header) })
 */
export async function writeHandleAtomic(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const temporary = temporaryPath(path);
  const handle = await open(temporary, 'w');
  try {
    await write(handle);
    await handle.close();
    await rename(temporary, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}
