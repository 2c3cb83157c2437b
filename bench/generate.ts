/**
 * Generation throughput: 3 samples x 128 new tokens (temperature 0.8, top-p 0.9, no top-k) from
 * one prompt, our engine (DecoderModel: one batch of 3, bucketed KV cache) against node-llama-cpp
 * (one context with 3 sequences evaluated concurrently, so llama.cpp batches them too), on the
 * same f32 GGUF files, with the same thread count, in the same process. Each side runs once to
 * warm up (session compilation, llama.cpp context), then `--repeats` timed runs (median).
 *
 * Prints ONE JSON line: per model tokens/s for both sides and `ratio` = ours / llama.cpp; the
 * top-level `ratio` is the 5 M-parameter model's (the meaningful size), `peak_rss_mib` covers the
 * whole process (both engines).
 *
 * `row_buckets`: DecoderModel's batch padding (`rowBuckets`), on the 5 M model, 5, 9 and 17
 * prompts x 3 samples x 128 tokens per call: ms per call padded to the next row bucket
 * (6, 12, 24 prompts) and unpadded, and the ratio.
 *
 * usage: npm run bench:generate -- [--threads N] [--repeats N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, type Llama, type Token } from 'node-llama-cpp';
import { defaultThreadCount } from '../src/engine/session.js';
import { DecoderModel } from '../src/inference/model.js';
import { peakRssMiB, randomLlamaGguf, storiesGguf, type BenchModel } from './peers/models.js';

const SAMPLES = 3;
const NEW_TOKENS = 128;
const SAMPLING = { temperature: 0.8, topP: 0.9 };

const { values } = parseArgs({ options: { threads: { type: 'string' }, repeats: { type: 'string', default: '3' } } });
const threads = values.threads === undefined ? defaultThreadCount() : Number(values.threads);
const repeats = Number(values.repeats);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** `run(0)` once to warm up, then the median of `run(1..repeats)`. */
async function medianRun(run: (seed: number) => Promise<number>): Promise<number> {
  await run(0);
  const values: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) values.push(await run(repeat + 1));
  return median(values);
}

async function ours(model: BenchModel, prompt: string): Promise<number> {
  const decoder = await DecoderModel.load(model.path, { threads });
  try {
    const run = async (seed: number) => {
      const started = performance.now();
      const [samples] = await decoder.generate([prompt], { ...SAMPLING, samples: SAMPLES, maxNewTokens: NEW_TOKENS, stopAtEos: false, seed });
      const tokens = samples.reduce((total, sample) => total + sample.tokens.length, 0);
      return tokens / ((performance.now() - started) / 1000);
    };
    return await medianRun(run);
  } finally {
    await decoder.dispose();
  }
}

/** Median ms per call generating for `count` prompts (3 samples x 128 tokens each). */
async function batchMs(model: BenchModel, prompt: string, count: number, rowBuckets: boolean): Promise<number> {
  const decoder = await DecoderModel.load(model.path, { threads, rowBuckets });
  try {
    const prompts = Array.from({ length: count }, (_, index) => `${prompt} ${index}`);
    const run = async (seed: number) => {
      const started = performance.now();
      await decoder.generate(prompts, { ...SAMPLING, samples: SAMPLES, maxNewTokens: NEW_TOKENS, stopAtEos: false, seed });
      return performance.now() - started;
    };
    return await medianRun(run);
  } finally {
    await decoder.dispose();
  }
}

async function llamaCpp(llama: Llama, model: BenchModel, prompt: string): Promise<number> {
  const loaded = await llama.loadModel({ modelPath: model.path });
  const context = await loaded.createContext({ threads, sequences: SAMPLES, contextSize: SAMPLES * 256 });
  try {
    const promptTokens = loaded.tokenize(prompt, false);
    const bos = loaded.tokens.bos;
    const tokensIn = (loaded.tokens.shouldPrependBosToken && bos !== null ? [bos, ...promptTokens] : promptTokens) as Token[];
    const sequences = Array.from({ length: SAMPLES }, () => context.getSequence());
    const run = async (seed: number) => {
      const started = performance.now();
      const counts = await Promise.all(
        sequences.map(async (sequence, index) => {
          await sequence.clearHistory();
          let count = 0;
          for await (const token of sequence.evaluate(tokensIn, { ...SAMPLING, topK: 0, seed: seed * 100 + index, yieldEogToken: true })) {
            void token;
            if (++count >= NEW_TOKENS) break;
          }
          return count;
        }),
      );
      return counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000);
    };
    return await medianRun(run);
  } finally {
    await context.dispose();
    await loaded.dispose();
  }
}

const directory = await mkdtemp(join(tmpdir(), 'o1-bench-generate-'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
try {
  const models = [await storiesGguf(directory), await randomLlamaGguf(directory)];
  const prompts: Record<string, string> = { 'stories260K': 'Once upon a time', 'llama-5m-random': 'Vitamin D deficiency and the risk of' };
  const results = [];
  for (const model of models) {
    const oursRate = await ours(model, prompts[model.name]);
    const theirRate = await llamaCpp(llama, model, prompts[model.name]);
    results.push({ model: model.name, parameters: model.parameters, ours_tokens_per_s: Math.round(oursRate), llama_cpp_tokens_per_s: Math.round(theirRate), ratio: Number((oursRate / theirRate).toFixed(3)) });
  }
  const main = results[results.length - 1];
  const rowBuckets = [];
  for (const count of [5, 9, 17]) {
    const padded = await batchMs(models[1], prompts[models[1].name], count, true);
    const unpadded = await batchMs(models[1], prompts[models[1].name], count, false);
    rowBuckets.push({ prompts: count, padded_ms: Math.round(padded), unpadded_ms: Math.round(unpadded), ratio: Number((padded / unpadded).toFixed(3)) });
  }
  console.log(JSON.stringify({ bench: 'generate', samples: SAMPLES, new_tokens: NEW_TOKENS, ...SAMPLING, threads, repeats, models: results, ratio: main.ratio, row_buckets: rowBuckets, peak_rss_mib: peakRssMiB() }));
} finally {
  await llama.dispose();
  await rm(directory, { recursive: true, force: true });
}
