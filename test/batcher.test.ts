import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { Batcher } from '../src/server/batcher.js';

/** A batch function that records each batch and answers when released (or at once). */
function recordingRunner(options: { hold?: boolean } = {}) {
  const batches: string[][] = [];
  const signals: AbortSignal[] = [];
  const releases: (() => void)[] = [];
  const run = async (items: readonly string[], signal: AbortSignal): Promise<string[]> => {
    batches.push([...items]);
    signals.push(signal);
    if (options.hold === true) await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((item) => item.toUpperCase());
  };
  return { run, batches, signals, release: () => releases.shift()?.() };
}

async function until(condition: () => boolean): Promise<void> {
  for (let tries = 0; tries < 500 && !condition(); tries++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(condition(), 'condition never held');
}

describe('Batcher: dynamic batching with bounded wait, maximum batch and cancellation', () => {
  test('concurrent submissions share one batch; outputs come back to each caller in order', async () => {
    const runner = recordingRunner();
    const sizes: number[] = [];
    const batcher = new Batcher(runner.run, { maxBatch: 64, maxWaitMs: 20, onBatch: (size) => sizes.push(size) });
    const [first, second, third] = await Promise.all([batcher.submit(['a']), batcher.submit(['b', 'c']), batcher.submit(['d'])]);
    assert.deepEqual(first, ['A']);
    assert.deepEqual(second, ['B', 'C']);
    assert.deepEqual(third, ['D']);
    assert.deepEqual(runner.batches, [['a', 'b', 'c', 'd']]);
    assert.deepEqual(sizes, [4]);
  });

  test('a full batch leaves at once; a submission larger than maxBatch spans several batches', async () => {
    const runner = recordingRunner();
    const times: number[] = [];
    const batcher = new Batcher(runner.run, { maxBatch: 3, maxWaitMs: 300, onBatch: () => times.push(performance.now()) });
    const started = performance.now();
    const result = await batcher.submit(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    assert.deepEqual(result, ['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    assert.deepEqual(runner.batches, [['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    assert.ok(times[1] - started < 250, 'the full batches did not wait');
    // The last, partial batch had to wait out maxWaitMs: only full batches skip it.
    assert.ok(times[2] - started >= 290, `the partial batch left after ${times[2] - started} ms`);
  });

  test('a lone item waits no longer than maxWaitMs', async () => {
    const runner = recordingRunner();
    const batcher = new Batcher(runner.run, { maxBatch: 64, maxWaitMs: 30 });
    const started = performance.now();
    assert.deepEqual(await batcher.submit(['x']), ['X']);
    const waited = performance.now() - started;
    assert.ok(waited >= 25, `left after ${waited} ms, before its wait was up`);
    assert.ok(waited < 1_000, `waited ${waited} ms`);
  });

  test('items arriving while a batch runs wait for it, then leave together', async () => {
    const runner = recordingRunner({ hold: true });
    const batcher = new Batcher(runner.run, { maxBatch: 64, maxWaitMs: 0 });
    const first = batcher.submit(['a']);
    await until(() => runner.batches.length === 1);
    const second = batcher.submit(['b']);
    const third = batcher.submit(['c']);
    assert.equal(batcher.depth, 2);
    assert.equal(batcher.inFlight, 1);
    runner.release();
    assert.deepEqual(await first, ['A']);
    await until(() => runner.batches.length === 2);
    runner.release();
    assert.deepEqual([await second, await third], [['B'], ['C']]);
    assert.deepEqual(runner.batches, [['a'], ['b', 'c']]);
  });

  test('a cancelled caller loses its queued items at once and rejects with CANCELLED; others are unaffected', async () => {
    const runner = recordingRunner({ hold: true });
    const batcher = new Batcher(runner.run, { maxBatch: 64, maxWaitMs: 0 });
    const running = batcher.submit(['a']);
    await until(() => runner.batches.length === 1);
    const controller = new AbortController();
    const cancelled = batcher.submit(['gone-1', 'gone-2'], { signal: controller.signal });
    const kept = batcher.submit(['kept']);
    assert.equal(batcher.depth, 3);
    controller.abort(new Error('client left'));
    await assert.rejects(cancelled, (error: unknown) => error instanceof O1Error && error.code === 'CANCELLED');
    assert.equal(batcher.depth, 1, 'the cancelled items left the queue');
    runner.release();
    await running;
    await until(() => runner.batches.length === 2);
    runner.release();
    assert.deepEqual(await kept, ['KEPT']);
    assert.deepEqual(runner.batches, [['a'], ['kept']], 'the model never saw the cancelled texts');
    assert.equal(runner.signals[0].aborted, false);
  });

  test('when every caller of the running batch is gone, the batch signal fires; not before', async () => {
    const runner = recordingRunner({ hold: true });
    const batcher = new Batcher(runner.run, { maxBatch: 64, maxWaitMs: 5 });
    const left = new AbortController();
    const right = new AbortController();
    const first = batcher.submit(['a'], { signal: left.signal });
    const second = batcher.submit(['b'], { signal: right.signal });
    await until(() => runner.batches.length === 1);
    assert.deepEqual(runner.batches[0], ['a', 'b']);
    left.abort();
    await assert.rejects(first, /cancelled/);
    assert.equal(runner.signals[0].aborted, false, 'one caller still waits for the batch');
    right.abort();
    await assert.rejects(second, /cancelled/);
    assert.equal(runner.signals[0].aborted, true);
    runner.release();
    await batcher.close();
  });

  test('an already aborted signal never queues; a failed batch rejects each of its callers', async () => {
    const controller = new AbortController();
    controller.abort();
    const runner = recordingRunner();
    const batcher = new Batcher(runner.run, { maxWaitMs: 0 });
    await assert.rejects(batcher.submit(['a'], { signal: controller.signal }), /cancelled/);
    assert.equal(runner.batches.length, 0);
    let calls = 0;
    const failing = new Batcher<string, string>(async () => {
      calls += 1;
      throw new O1Error('GENERATION_FAILED', 'the model broke');
    }, { maxWaitMs: 10 });
    const results = await Promise.allSettled([failing.submit(['a']), failing.submit(['b'])]);
    assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
    assert.match(String((results[0] as PromiseRejectedResult).reason), /the model broke/);
    assert.equal(calls, 1);
    // A batch function returning the wrong number of outputs is an error, not silent misalignment.
    const short = new Batcher<string, string>(async () => ['only one'], { maxWaitMs: 0 });
    await assert.rejects(short.submit(['a', 'b']), /returned 1 outputs/);
  });

  test('a full queue refuses with OVERLOADED; close() waits for the work and refuses more', async () => {
    const runner = recordingRunner({ hold: true });
    const batcher = new Batcher(runner.run, { maxBatch: 1, maxWaitMs: 0, maxQueue: 2 });
    const running = batcher.submit(['a']);
    await until(() => runner.batches.length === 1);
    const queued = batcher.submit(['b', 'c']);
    await assert.rejects(batcher.submit(['d']), (error: unknown) => error instanceof O1Error && error.code === 'OVERLOADED');
    let closed = false;
    const closing = batcher.close().then(() => { closed = true; });
    await assert.rejects(batcher.submit(['e']), /closed/);
    for (let batch = 0; batch < 3; batch++) {
      await until(() => runner.batches.length === batch + 1);
      assert.equal(closed, false);
      runner.release();
    }
    await closing;
    assert.deepEqual([await running, await queued], [['A'], ['B', 'C']]);
    assert.throws(() => new Batcher(runner.run, { maxBatch: 0 }), /maxBatch/);
  });
});
