/**
 * Durable file operations for index folders: a file is written to a temporary name, synced and
 * renamed, and the folder is synced after the rename, so that after a crash (or SIGKILL) a name
 * holds either its old complete bytes or its new complete bytes, and a published name survives
 * a power loss. Also the two fingerprints an index records: SHA-256 of bytes and of canonical
 * JSON (keys sorted, so equal values hash equally whatever their key order).
 */
import { createHash } from 'node:crypto';
import { link, copyFile, mkdir, open, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeHandleAtomic } from '../util/atomic-write.js';

/**
 * Writes `data` to `path` atomically and durably (temporary file, fsync, rename, fsync of the
 * folder).
 *
 * @example
 * await writeFileDurable('index/CURRENT', 'v000001\n');
 */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  await writeHandleAtomic(path, async (handle) => {
    await handle.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    await handle.sync();
  });
  await syncDirectory(dirname(path));
}

/**
 * Flushes a folder's entries (new, renamed and removed names) to disk. On platforms where a
 * folder cannot be opened for syncing (Windows) it does nothing.
 *
 * @example
 * await syncDirectory('index');
 */
export async function syncDirectory(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR' || (error as NodeJS.ErrnoException).code === 'EPERM') return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on folders; their renames are then as durable as they get.
    if (!['EINVAL', 'EBADF', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Syncs every file and folder under `path` (a staging version before it is published), so
 * that the rename that publishes it never exposes unwritten pages.
 *
 * @example
 * await syncTree('index/build/v000002');
 */
export async function syncTree(path: string): Promise<void> {
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await syncTree(child);
    else if (entry.isFile()) {
      const handle = await open(child, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await syncDirectory(path);
}

/**
 * Copies a folder's files into `target` as hard links (a copy for file systems without them).
 * Safe for stores because they never write a file in place: every write goes to a new file
 * renamed over the old name, which leaves the other link (the published version) untouched.
 *
 * @example
 * await linkTree('index/v000001/dense-1', 'index/build/v000002/dense-1');
 */
export async function linkTree(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) await linkTree(from, to);
    else if (entry.isFile()) {
      // Leftover temporary files of a killed writer are not part of the store.
      if (entry.name.includes('.tmp-')) continue;
      try {
        await link(from, to);
      } catch {
        await copyFile(from, to);
      }
    }
  }
}

/**
 * SHA-256 of bytes, as `sha256:` + hex.
 *
 * @example
 * sha256(Buffer.from('abc')) // 'sha256:ba7816bf...'
 */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * JSON with object keys sorted at every level (arrays keep their order), so that two equal
 * configs give the same text and the same hash.
 *
 * @example
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().filter((key) => record[key] !== undefined).map((key) => [key, sortKeys(record[key])]));
  }
  return value;
}
