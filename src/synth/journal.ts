/**
 * An append-only journal of finished work, so a job killed at any moment (even SIGKILL) resumes
 * without losing a finished generation: one JSON object per line, flushed to disk (fdatasync)
 * before the work counts as done. Appends are group-committed: lines queued while a flush is in
 * progress go out together in the next write + fdatasync.
 */
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { existsSync } from 'node:fs';

/** What a journal holds: its complete lines, parsed, and where the last complete line ends. */
export interface JournalContents<T> {
  entries: T[];
  /** Byte length of the complete lines; anything after it is a torn write to cut off. */
  validBytes: number;
  /** Bytes of a torn last line (killed mid-write), ignored. */
  tornBytes: number;
  /** Complete lines that were not JSON (should not happen; skipped). */
  badLines: number;
}

/**
 * Reads a journal; a missing file is an empty journal. A last line without its newline is a
 * write torn by a kill: it is reported in `tornBytes` and not returned.
 *
 * @example
 * const { entries } = await readJournal<{ record: number }>('out.jsonl.journal');
 */
export async function readJournal<T>(path: string): Promise<JournalContents<T>> {
  if (!existsSync(path)) return { entries: [], validBytes: 0, tornBytes: 0, badLines: 0 };
  const bytes = await readFile(path);
  const end = bytes.lastIndexOf(0x0a) + 1;
  const entries: T[] = [];
  let badLines = 0;
  for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
    if (line === '') continue;
    try {
      entries.push(JSON.parse(line) as T);
    } catch {
      badLines += 1;
    }
  }
  return { entries, validBytes: end, tornBytes: bytes.length - end, badLines };
}

/**
 * Appends entries durably. Open with the `validBytes` of {@link readJournal}, so that a torn
 * last line is cut off before new lines follow it.
 *
 * @example
 * const journal = await JournalWriter.open('out.jsonl.journal', contents.validBytes);
 * await journal.append({ record: 0, candidate: 1, thought: '...' }); // on disk when it resolves
 * await journal.close();
 */
export class JournalWriter<T> {
  private pending: { line: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;

  private constructor(private readonly handle: FileHandle) {}

  static async open<T>(path: string, validBytes = 0): Promise<JournalWriter<T>> {
    if (existsSync(path)) await truncate(path, validBytes);
    return new JournalWriter<T>(await open(path, 'a'));
  }

  /** Resolves once the entry is written and flushed to disk. */
  append(entry: T): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const done = new Promise<void>((resolve, reject) => this.pending.push({ line, resolve, reject }));
    this.flushing ??= this.flush();
    return done;
  }

  /** Waits for queued entries, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.handle.write(batch.map((item) => item.line).join(''));
        await this.handle.datasync();
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.flushing = undefined;
  }
}
