/**
 * The layout of an index folder and its version pointer.
 *
 * ```
 * INDEX/
 *   CURRENT              the published version's folder name ("v000003\n"), replaced atomically
 *   v000003/             one complete version: never changed once CURRENT names it
 *     manifest.json      what the version holds (manifest.ts)
 *     documents.jsonl    the documents, BEIR corpus lines, in index order
 *     documents.idx      each document's line offset and CRC-32, and the ids (documents.ts)
 *     bm25-0.index       a BM25 part: Bm25Retriever.save's binary index
 *     dense-1/           a dense part's vector store folder (flat: vectors.o1v; hnsw: hnsw.o1v + graph)
 *   build/               only while a build or update runs (or was killed)
 *     intent.json        what is being written (operation, fingerprint, target version)
 *     dense-1.journal    fsync'd JSONL of embedded batches, so a re-run embeds only what is missing
 *     v000004/           the staging version, renamed to INDEX/v000004 when complete
 *   write.lock           the writer's pid while one runs
 * ```
 *
 * A reader reads CURRENT, then that version's files. A writer builds the next version in
 * build/, syncs it, renames it into INDEX/, then replaces CURRENT (write, fsync, rename, fsync
 * of INDEX/), and only then removes older versions: a reader sees the old version or the new
 * one, never a mixture, and a writer killed at any point leaves CURRENT naming a complete one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../errors.js';
import { syncDirectory, writeFileDurable } from './durable.js';

/** The pointer file naming the published version. */
export const CURRENT_FILE = 'CURRENT';
/** Where a running (or killed) writer keeps its intent, journals and staging version. */
export const BUILD_DIRECTORY = 'build';
/** A version's manifest. */
export const MANIFEST_FILE = 'manifest.json';
/** A version's documents. */
export const DOCUMENTS_FILE = 'documents.jsonl';
/** The writer's intent inside {@link BUILD_DIRECTORY}. */
export const INTENT_FILE = 'intent.json';

const VERSION_PATTERN = /^v(\d{6,})$/;

/**
 * The folder name of version `version` (1-based).
 *
 * @example
 * versionName(3) // 'v000003'
 */
export function versionName(version: number): string {
  return `v${String(version).padStart(6, '0')}`;
}

/** The version number of a folder name, or undefined when it is not one. */
export function parseVersionName(name: string): number | undefined {
  const match = VERSION_PATTERN.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** The folder of version `version` inside an index. */
export function versionPath(index: string, version: number): string {
  return join(index, versionName(version));
}

/**
 * The published version, or undefined when nothing has been published yet. A CURRENT file that
 * does not name a version is CORRUPT_INDEX.
 *
 * @example
 * await readCurrent('scifact.index') // 1
 */
export async function readCurrent(index: string): Promise<number | undefined> {
  const path = join(index, CURRENT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new O1Error('STORE_ERROR', `cannot read the version pointer: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  const version = parseVersionName(text.trim());
  if (version === undefined || version < 1) throw new O1Error('CORRUPT_INDEX', `the version pointer should name a version folder such as v000001, got ${JSON.stringify(text.slice(0, 40))}`, { file: path });
  return version;
}

/**
 * Publishes `version`: CURRENT is replaced atomically and durably. The version's folder must
 * already be complete and synced.
 *
 * @example
 * await publishVersion('scifact.index', 2);
 */
export async function publishVersion(index: string, version: number): Promise<void> {
  await writeFileDurable(join(index, CURRENT_FILE), `${versionName(version)}\n`);
}

/** Names a writer creates in an index folder and in its build folder. */
const INDEX_ENTRY = /^(CURRENT(\.tmp-\d+)?|write\.lock|build|v\d{6,})$/;
const BUILD_ENTRY = /^(intent\.json(\.tmp-\d+)?|(bm25|dense)-\d+\.journal|v\d{6,})$/;

/**
 * Whether `path` is an index folder: it has a published version, or it holds nothing but what
 * a writer creates (a build killed before publishing, even before writing its intent). A
 * folder with anything else is not, so a writer never adopts (and later cleans up) a folder
 * of other files.
 *
 * @example
 * isIndexFolder('scifact.index') // true
 */
export function isIndexFolder(path: string): boolean {
  if (existsSync(join(path, CURRENT_FILE))) return true;
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return false;
  }
  if (entries.length === 0 || !entries.every((name) => INDEX_ENTRY.test(name))) return false;
  const build = join(path, BUILD_DIRECTORY);
  return !existsSync(build) || readdirSync(build).every((name) => BUILD_ENTRY.test(name));
}

/**
 * Removes version folders other than the published one (older versions, and a version renamed
 * into place by a writer killed before it replaced CURRENT) and the pointer's leftover
 * temporary files. Writers call it under the write lock, after publishing; a reader that was
 * still loading an older version sees it vanish and starts again from CURRENT (open-index.ts).
 *
 * @example
 * await removeUnpublished('scifact.index', 3);
 */
export async function removeUnpublished(index: string, current: number | undefined): Promise<void> {
  let removed = false;
  for (const name of await readdir(index)) {
    const version = parseVersionName(name);
    if ((version !== undefined && version !== current) || name.startsWith(`${CURRENT_FILE}.tmp-`)) {
      await rm(join(index, name), { recursive: true, force: true });
      removed = true;
    }
  }
  if (removed) await syncDirectory(index);
}
