/**
 * Dynamic batching: items submitted by concurrent callers (the texts of concurrent HTTP
 * requests) are handed to one function together, so a model runs one batch of 40 texts
 * instead of 40 batches of one. A batch leaves when it is full (`maxBatch` items) or when its
 * oldest item has waited `maxWaitMs`; one batch runs at a time per batcher, and items that
 * arrive meanwhile wait for the next one (which then usually leaves at once: they have waited
 * long enough). A caller whose signal fires loses its queued items at once, and a running
 * batch whose every item was cancelled has its own signal fired, so the model can stop.
 */
import { O1Error } from '../errors.js';

/** Runs one batch: one output per item, in order. `signal` fires when every caller in the batch has gone. */
export type BatchRunner<Input, Output> = (items: readonly Input[], signal: AbortSignal) => Promise<readonly Output[]>;

/** Settings of a {@link Batcher}. */
export interface BatcherOptions {
  /** Most items per batch. Default 64. */
  maxBatch?: number;
  /** Longest an item waits for others before its batch leaves anyway, in milliseconds. Default 5. */
  maxWaitMs?: number;
  /** Most items waiting (not running); a submission that would exceed it fails with OVERLOADED. Default unlimited. */
  maxQueue?: number;
  /** Named in errors, e.g. `document embeddings`. Default `batcher`. */
  name?: string;
  /** Called with each batch's size as it leaves (metrics). */
  onBatch?: (size: number) => void;
}

/** Options of {@link Batcher.submit}. */
export interface SubmitOptions {
  /** Cancels this submission: its queued items are dropped and the promise rejects with CANCELLED. */
  signal?: AbortSignal;
}

interface Ticket<Output> {
  results: Output[];
  remaining: number;
  settled: boolean;
  resolve(results: Output[]): void;
  reject(error: unknown): void;
}

interface Entry<Input, Output> {
  ticket: Ticket<Output>;
  position: number;
  item: Input;
  enqueuedAt: number;
}

/**
 * A dynamic batcher over one batch function.
 *
 * @example
 * const batcher = new Batcher((texts: readonly string[], signal) => embedder.embedDocuments(texts, { signal }).then((result) => result.vectors), { maxBatch: 64, maxWaitMs: 5 });
 * const [first, second] = await Promise.all([batcher.submit(['a text']), batcher.submit(['another', 'and one more'])]); // one call of 3 texts
 * await batcher.close();
 */
export class Batcher<Input, Output> {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly name: string;
  private readonly onBatch?: (size: number) => void;
  private queue: Entry<Input, Output>[] = [];
  private running?: { entries: Entry<Input, Output>[]; controller: AbortController };
  private timer?: NodeJS.Timeout;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly run: BatchRunner<Input, Output>, options: BatcherOptions = {}) {
    this.maxBatch = options.maxBatch ?? 64;
    this.maxWaitMs = options.maxWaitMs ?? 5;
    this.maxQueue = options.maxQueue ?? Number.POSITIVE_INFINITY;
    this.name = options.name ?? 'batcher';
    this.onBatch = options.onBatch;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new O1Error('BAD_ARGUMENT', `maxBatch must be an integer >= 1, got ${this.maxBatch}`, { field: 'maxBatch' });
    if (!Number.isFinite(this.maxWaitMs) || this.maxWaitMs < 0) throw new O1Error('BAD_ARGUMENT', `maxWaitMs must be a number >= 0, got ${this.maxWaitMs}`, { field: 'maxWaitMs' });
    if (!(this.maxQueue >= 1)) throw new O1Error('BAD_ARGUMENT', `maxQueue must be >= 1, got ${this.maxQueue}`, { field: 'maxQueue' });
  }

  /** Items waiting for a batch (not counting the running one). */
  get depth(): number {
    return this.queue.length;
  }

  /** Items in the batch running now (0 when idle). */
  get inFlight(): number {
    return this.running?.entries.length ?? 0;
  }

  /**
   * Queues `items` and resolves with their outputs, in order, once every one has been through
   * a batch (a submission larger than `maxBatch` spans several). Rejects with OVERLOADED when
   * the queue is full, CANCELLED when the signal fires first, or the batch function's error.
   */
  submit(items: readonly Input[], options: SubmitOptions = {}): Promise<Output[]> {
    const signal = options.signal;
    if (this.closed) return Promise.reject(new O1Error('CANCELLED', `${this.name}: closed, no new work is taken`));
    if (signal?.aborted === true) return Promise.reject(cancelled(this.name, signal));
    if (items.length === 0) return Promise.resolve([]);
    if (this.queue.length + items.length > this.maxQueue) {
      return Promise.reject(new O1Error('OVERLOADED', `${this.name}: ${this.queue.length} items are waiting (at most ${this.maxQueue}); retry later`));
    }
    return new Promise<Output[]>((resolve, reject) => {
      const onAbort = (): void => this.cancel(ticket, cancelled(this.name, signal));
      const ticket: Ticket<Output> = {
        results: new Array<Output>(items.length),
        remaining: items.length,
        settled: false,
        resolve: (results) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(results);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const now = performance.now();
      items.forEach((item, position) => this.queue.push({ ticket, position, item, enqueuedAt: now }));
      this.schedule();
    });
  }

  /** Stops taking work and resolves once everything queued or running has finished. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && this.running === undefined) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private cancel(ticket: Ticket<Output>, error: O1Error): void {
    if (ticket.settled) return;
    ticket.settled = true;
    this.queue = this.queue.filter((entry) => entry.ticket !== ticket);
    const running = this.running;
    // The model may stop only when nobody in the running batch still wants its output.
    if (running !== undefined && running.entries.every((entry) => entry.ticket.settled)) running.controller.abort(error);
    ticket.reject(error);
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.running !== undefined || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].enqueuedAt;
    if (this.queue.length >= this.maxBatch || waited >= this.maxWaitMs) {
      this.dispatch();
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, Math.max(0, this.maxWaitMs - waited));
    }
  }

  private dispatch(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const entries = this.queue.splice(0, this.maxBatch);
    const controller = new AbortController();
    this.running = { entries, controller };
    this.onBatch?.(entries.length);
    let outputs: Promise<readonly Output[]>;
    try {
      outputs = Promise.resolve(this.run(entries.map((entry) => entry.item), controller.signal));
    } catch (error) {
      outputs = Promise.reject(error);
    }
    outputs.then(
      (results) => {
        if (results.length !== entries.length) {
          this.fail(entries, new O1Error('GENERATION_FAILED', `${this.name}: a batch of ${entries.length} items returned ${results.length} outputs`));
          return;
        }
        entries.forEach((entry, index) => {
          const ticket = entry.ticket;
          if (ticket.settled) return;
          ticket.results[entry.position] = results[index];
          ticket.remaining -= 1;
          if (ticket.remaining === 0) {
            ticket.settled = true;
            ticket.resolve(ticket.results);
          }
        });
      },
      (error: unknown) => this.fail(entries, error),
    ).finally(() => {
      this.running = undefined;
      this.notifyIdle();
      this.schedule();
    });
  }

  /** Rejects every caller with an item in a failed batch, and drops their other queued items. */
  private fail(entries: readonly Entry<Input, Output>[], error: unknown): void {
    const tickets = new Set(entries.map((entry) => entry.ticket).filter((ticket) => !ticket.settled));
    for (const ticket of tickets) {
      ticket.settled = true;
      ticket.reject(error);
    }
    this.queue = this.queue.filter((entry) => !tickets.has(entry.ticket));
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.running !== undefined) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function cancelled(name: string, signal: AbortSignal | undefined): O1Error {
  return new O1Error('CANCELLED', `${name}: cancelled`, {}, { cause: signal?.reason });
}
