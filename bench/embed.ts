/**
 * Embedding throughput: 1,000 SciFact documents (`title text`, truncated to 256 tokens), our
 * engine (DecoderModel.embedTokens: sorted by length, batched, last-token pooling in the graph)
 * against node-llama-cpp's embedding context (one document at a time, as its API evaluates them;
 * pooling as the GGUF metadata says: last), on the same f32 GGUF (the random ~5 M-parameter
 * Llama with a SciFact BPE vocabulary), same token ids, same thread count, same process. Timings
 * include our session compilation (one per length bucket).
 *
 * Prints ONE JSON line with texts/s on both sides, `ratio` = ours / llama.cpp, the mean cosine
 * between the two sides' vectors (a correctness check) and the process's peak RSS.
 *
 * `use_lite` in the same line: Universal Sentence Encoder Lite on our engine at 1 and 2 threads
 * against its own TF.js runtime (one WebAssembly thread) on the same documents, texts in and
 * vectors out, with the smallest cosine between the two sides (bench/peers/use-lite.ts).
 *
 * usage: npm run bench:embed -- [--threads N] [--documents N] [--arena on|off] (our sessions' CPU memory arena; default: DecoderModel's)
 *        [--use-lite on|off|only] (default on; `only` skips the llama.cpp comparison)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, type Token } from 'node-llama-cpp';
import { defaultThreadCount } from '../src/engine/session.js';
import { DecoderModel } from '../src/inference/model.js';
import { cosineSimilarity } from '../src/util/vectors.js';
import { peakRssMiB, randomLlamaGguf, scifactDocuments } from './peers/models.js';
import { useLiteRow } from './peers/use-lite.js';

const MAX_TOKENS = 256;
const { values } = parseArgs({ options: { threads: { type: 'string' }, documents: { type: 'string', default: '1000' }, arena: { type: 'string' }, 'use-lite': { type: 'string', default: 'on' } } });
const threads = values.threads === undefined ? defaultThreadCount() : Number(values.threads);
const count = Number(values.documents);
const useLite = values['use-lite'] === 'off' ? undefined : await useLiteRow(await scifactDocuments(count));
if (values['use-lite'] === 'only') {
  console.log(JSON.stringify({ bench: 'embed', use_lite: useLite, peak_rss_mib: peakRssMiB() }));
  process.exit(0);
}

const directory = await mkdtemp(join(tmpdir(), 'o1-bench-embed-'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
try {
  const model = await randomLlamaGguf(directory);
  const documents = await scifactDocuments(count);
  const ours = await DecoderModel.load(model.path, { threads, enableCpuMemArena: values.arena === undefined ? undefined : values.arena !== 'off' });
  const loaded = await llama.loadModel({ modelPath: model.path });
  const context = await loaded.createEmbeddingContext({ threads, contextSize: MAX_TOKENS + 8 });
  try {
    // The exact token ids llama.cpp evaluates (its BOS/EOS rules), truncated to 256, fed to both.
    const { bos, eos, shouldPrependBosToken, shouldAppendEosToken } = loaded.tokens;
    const sequences = documents.map((text) => {
      let tokens = ours.tokenizer.encode(text).slice(0, MAX_TOKENS - 1);
      if (shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens = [bos, ...tokens].slice(0, MAX_TOKENS);
      if (shouldAppendEosToken && eos !== null && tokens.at(-1) !== eos) tokens.push(eos);
      return tokens.slice(0, MAX_TOKENS);
    });
    const tokens = sequences.reduce((total, sequence) => total + sequence.length, 0);

    let started = performance.now();
    const ourVectors = await ours.embedTokens(sequences, { pooling: 'last' });
    const oursSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    const theirVectors: number[][] = [];
    for (const sequence of sequences) theirVectors.push([...(await context.getEmbeddingFor(sequence as Token[])).vector]);
    const theirSeconds = (performance.now() - started) / 1000;

    const meanCosine = ourVectors.reduce((total, vector, index) => total + cosineSimilarity(vector, theirVectors[index]), 0) / ourVectors.length;
    const oursRate = documents.length / oursSeconds;
    const theirRate = documents.length / theirSeconds;
    console.log(
      JSON.stringify({
        bench: 'embed',
        model: model.name,
        parameters: model.parameters,
        documents: documents.length,
        max_tokens: MAX_TOKENS,
        mean_tokens: Math.round(tokens / documents.length),
        threads,
        arena: values.arena ?? 'default',
        ours_texts_per_s: Number(oursRate.toFixed(1)),
        llama_cpp_texts_per_s: Number(theirRate.toFixed(1)),
        ratio: Number((oursRate / theirRate).toFixed(3)),
        mean_cosine: Number(meanCosine.toFixed(6)),
        ours_sessions: ours.sessionCount,
        use_lite: useLite,
        peak_rss_mib: peakRssMiB(),
      }),
    );
  } finally {
    await context.dispose();
    await loaded.dispose();
    await ours.dispose();
  }
} finally {
  await llama.dispose();
  await rm(directory, { recursive: true, force: true });
}
