/**
 * A writer's session on an index folder (layout.ts): the write lock, the intent of the
 * operation (written durably before any other work, so a re-run can tell "resume" from "another
 * operation"), the staging version, its atomic publication, and the clean-up after it. Build,
 * add and delete (build.ts, update.ts) are sequences of these steps.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../errors.js';
import { openVectorStore } from '../stores/registry.js';
import type { VectorStoreConfig } from '../stores/vector-store.js';
import { syncDirectory, syncTree, writeFileDurable } from './durable.js';
import { BUILD_DIRECTORY, INTENT_FILE, MANIFEST_FILE, publishVersion, readCurrent, removeUnpublished, versionName, versionPath } from './layout.js';
import { readManifest, type IndexManifest } from './manifest.js';
import { acquireWriteLock } from './write-lock.js';

/** What a writer is doing, recorded in `build/intent.json` before it starts. */
export interface Intent {
  operation: 'build' | 'add' | 'delete';
  /** The operation's fingerprint (its inputs and settings). */
  key: string;
  /** The version it starts from (null for a build). */
  base: number | null;
  /** The version it publishes. */
  target: number;
  started: string;
  /** Ids to delete from database stores once the target is published (their rows are shared by every version). */
  deleteAfterPublish?: string[];
}

/**
 * One writer's session: holds the write lock from {@link IndexWriter.begin} to
 * {@link IndexWriter.release}.
 *
 * @example
 * const writer = await IndexWriter.begin('scifact.index');
 * try {
 *   await writer.startIntent({ operation: 'add', key, base: 1, target: 2, started: new Date().toISOString() });
 *   const stage = await writer.stage(2);
 *   // ... write the version's files into stage ...
 *   await writer.publish(2);
 *   await writer.finish();
 * } finally {
 *   await writer.release();
 * }
 */
export class IndexWriter {
  /** The published version, if any. */
  current: number | undefined;
  /** Its manifest. */
  manifest: IndexManifest | undefined;
  /** An unpublished operation left by a killed writer (resume it, or refuse to do another). */
  pending: Intent | undefined;
  private intent: Intent | undefined;

  private constructor(
    readonly index: string,
    private readonly releaseLock: () => Promise<void>,
    private readonly storeOverride: Partial<VectorStoreConfig>,
  ) {}

  /** The build folder (intent, journals, staging version). */
  get buildPath(): string {
    return join(this.index, BUILD_DIRECTORY);
  }

  /** The intent file. */
  get intentPath(): string {
    return join(this.buildPath, INTENT_FILE);
  }

  /** The published version's manifest file. */
  get manifestPath(): string {
    return join(versionPath(this.index, this.current ?? 0), MANIFEST_FILE);
  }

  /**
   * Takes the lock of `index` (created when absent), removes what killed writers left behind,
   * and completes an operation that was published but not cleaned up.
   *
   * @param storeOverride settings merged into database store configs (a connection string with its password)
   */
  static async begin(index: string, storeOverride: Partial<VectorStoreConfig> = {}): Promise<IndexWriter> {
    await mkdir(index, { recursive: true });
    const writer = new IndexWriter(index, await acquireWriteLock(index), storeOverride);
    try {
      writer.current = await readCurrent(index);
      await removeUnpublished(index, writer.current);
      if (writer.current !== undefined) writer.manifest = await readManifest(writer.manifestPath);
      const pending = await writer.readIntent();
      // A build folder without an intent is what a writer killed while creating it, or while
      // removing it after publication, left behind: nothing in it can be resumed.
      if (pending === undefined && existsSync(writer.buildPath)) await rm(writer.buildPath, { recursive: true, force: true });
      if (pending !== undefined && pending.target === writer.current) {
        writer.intent = pending;
        await writer.finish();
      } else {
        writer.pending = pending;
      }
      return writer;
    } catch (error) {
      await writer.release();
      throw error;
    }
  }

  private async readIntent(): Promise<Intent | undefined> {
    if (!existsSync(this.intentPath)) return undefined;
    try {
      const intent = JSON.parse(await readFile(this.intentPath, 'utf8')) as Intent;
      if (typeof intent.key === 'string' && Number.isInteger(intent.target)) return intent;
    } catch {
      // Written durably and atomically, so this is damage, not a torn write.
    }
    throw new O1Error('CORRUPT_INDEX', 'the intent of an interrupted operation is unreadable; remove the build/ folder to discard that operation', { file: this.intentPath });
  }

  /**
   * Records the operation (durably) before any of its work, or adopts the pending one when it
   * is the same operation (a resumed run). Another pending operation is INDEX_MISMATCH naming
   * its intent: nothing of it is discarded.
   */
  async startIntent(intent: Intent): Promise<{ resumed: boolean }> {
    if (this.pending !== undefined) {
      if (this.pending.key !== intent.key || this.pending.operation !== intent.operation || this.pending.base !== intent.base) {
        throw new O1Error('INDEX_MISMATCH', `an interrupted ${this.pending.operation} with other inputs or settings is pending here (started ${this.pending.started}); re-run that command to finish it, or remove the build/ folder to discard it`, { file: this.intentPath });
      }
      this.intent = this.pending;
      this.pending = undefined;
      return { resumed: true };
    }
    await mkdir(this.buildPath, { recursive: true });
    await writeFileDurable(this.intentPath, `${JSON.stringify(intent, null, 2)}\n`);
    await syncDirectory(this.index);
    this.intent = intent;
    return { resumed: false };
  }

  /** An empty staging folder for `version` (a killed run's half-written one is removed first). */
  async stage(version: number): Promise<string> {
    const path = join(this.buildPath, versionName(version));
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true });
    return path;
  }

  /** A journal's path in the build folder. */
  journalPath(part: string): string {
    return join(this.buildPath, `${part}.journal`);
  }

  /**
   * Publishes the staging version: syncs its files and folders, renames it into the index,
   * then replaces CURRENT. A kill before CURRENT is replaced leaves the old version published
   * (the renamed folder is removed by the next writer); after it, the new one.
   */
  async publish(version: number): Promise<void> {
    const stage = join(this.buildPath, versionName(version));
    await syncTree(stage);
    const target = versionPath(this.index, version);
    await rm(target, { recursive: true, force: true });
    await rename(stage, target);
    await syncDirectory(this.buildPath);
    await syncDirectory(this.index);
    await publishVersion(this.index, version);
    this.current = version;
    this.manifest = await readManifest(this.manifestPath);
  }

  /**
   * After publication: deletes from database stores what the operation removed (idempotent),
   * then removes the build folder and the older versions.
   */
  async finish(): Promise<void> {
    const ids = this.intent?.deleteAfterPublish;
    if (ids !== undefined && ids.length > 0 && this.manifest !== undefined) {
      for (const part of this.manifest.parts) {
        if (part.kind !== 'dense' || part.directory !== undefined) continue;
        const store = await openVectorStore({ ...part.store, ...this.storeOverride }, { dimension: part.embedder.dimension });
        try {
          await store.delete(ids);
        } finally {
          await store.close();
        }
      }
    }
    await rm(this.buildPath, { recursive: true, force: true });
    await syncDirectory(this.index);
    await removeUnpublished(this.index, this.current);
    this.intent = undefined;
  }

  /** Releases the write lock. Idempotent. */
  async release(): Promise<void> {
    await this.releaseLock();
  }
}
