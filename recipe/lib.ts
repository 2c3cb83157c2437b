/**
 * Building blocks of the o1-small recipe (recipe/small.ts): resumable steps with atomic outputs,
 * training records mined from a BEIR train split, a context-window + batching wrapper that lets a
 * small engine model serve as the exploration expert, and a mean-pooling committee embedder.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DocumentInput, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../src/backends/embedder.js';
import { plainPromptText } from '../src/backends/completion-text.js';
import { documentText as plainDocumentText, queryText } from '../src/backends/inputs.js';

export { plainPromptText };
import type { ChatMessage, GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt } from '../src/backends/thinker.js';
import { loadBeir, writeBeirQrels, writeCorpus, writeQueries } from '../src/data/beir.js';
import type { Document, Qrels, Query, Run } from '../src/data/types.js';
import { fuseRankings } from '../src/retrieval/fusion/fused-retriever.js';
import type { DecoderModel } from '../src/inference/model.js';
import { documentText } from '../src/o1/layout.js';
import type { TrainingRecord } from '../src/synth/records.js';
import type { Tokenizer } from '../src/tokenizer/index.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { permutation } from '../src/util/random.js';

/** One step's entry in the work dir's `steps.json`. */
export interface StepRecord {
  seconds: number;
  finishedAt: string;
  details?: Record<string, unknown>;
}

/**
 * Runs resumable steps: a step whose `done` marker file exists is skipped (its earlier timing
 * is kept); otherwise it runs, then its marker and the timing table are written atomically.
 *
 * @example
 * const steps = await StepRunner.open('.cache/recipe-small');
 * await steps.run('tokenizer', '.cache/recipe-small/tokenizer/tokenizer.json', async () => ({ vocab: 8000 }));
 */
export class StepRunner {
  private constructor(readonly path: string, readonly records: Record<string, StepRecord>, private readonly log: (line: string) => void) {}

  static async open(workDir: string, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<StepRunner> {
    const path = `${workDir}/steps.json`;
    const records = existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as Record<string, StepRecord>) : {};
    return new StepRunner(path, records, log);
  }

  /**
   * @param done the file whose existence means the step is finished (written last, atomically)
   * @param body does the work; returns details kept in steps.json
   */
  async run(name: string, done: string, body: () => Promise<Record<string, unknown> | void>): Promise<{ skipped: boolean; record: StepRecord }> {
    if (existsSync(done) && this.records[name] !== undefined) {
      this.log(`[recipe] ${name}: done earlier (${this.records[name].seconds.toFixed(1)} s), skipped`);
      return { skipped: true, record: this.records[name] };
    }
    this.log(`[recipe] ${name}: starting`);
    const started = performance.now();
    const details = (await body()) ?? undefined;
    const seconds = (performance.now() - started) / 1000;
    const record: StepRecord = { seconds: Math.round(seconds * 10) / 10, finishedAt: new Date().toISOString(), ...(details === undefined ? {} : { details }) };
    if (!existsSync(done)) {
      await mkdir(dirname(done), { recursive: true });
      await writeFileAtomic(done, `${JSON.stringify(record, null, 2)}\n`);
    }
    this.records[name] = record;
    await writeFileAtomic(this.path, `${JSON.stringify(this.records, null, 2)}\n`);
    this.log(`[recipe] ${name}: finished in ${record.seconds.toFixed(1)} s`);
    return { skipped: false, record };
  }
}

/**
 * Writes a folder atomically: `fill` writes into `path.tmp-PID`, which is then renamed to `path`
 * (an existing `path` is replaced).
 */
export async function writeFolderAtomic(path: string, fill: (temporary: string) => Promise<void>): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  try {
    await fill(temporary);
    await rm(path, { recursive: true, force: true });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** A seeded Fisher-Yates shuffle (a new array): `permutation`'s order applied to `items`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return permutation(items.length, seed).map((index) => items[index]);
}

/** Settings of {@link buildTrainingRecords}. */
export interface RecordSettings {
  /** Queries kept (a seeded sample of the judged train queries); undefined: all. */
  queries?: number;
  /** Most positives per record (highest relevance first, then qrels order). */
  maxPositives: number;
  /** BM25 depth searched for negatives. */
  depth: number;
  /** Negatives kept per record (best BM25 ranks first). */
  negatives: number;
  seed: number;
  /** Query ids never used (held out for validation). Default none. */
  exclude?: ReadonlySet<string>;
}

/**
 * Training records from a BEIR train split: the query, its judged positives (relevance > 0) as
 * `pos`, and BM25 hard negatives, i.e. the top-ranked corpus documents that are not judged for
 * the query at all, as `neg`. Passages are `title text` (the layout's document text).
 * `rank(query)` returns document ids best first.
 *
 * @example
 * const records = buildTrainingRecords(corpus, queries, qrels, (query) => bm25Ids(query), { maxPositives: 8, depth: 30, negatives: 15, seed: 0 });
 */
export function buildTrainingRecords(
  corpus: readonly Document[],
  queries: readonly Query[],
  qrels: Qrels,
  ranked: ReadonlyMap<string, readonly string[]>,
  settings: RecordSettings,
): (TrainingRecord & { id: string })[] {
  const byId = new Map(corpus.map((document) => [document.id, document]));
  const judged = queries.filter((query) => settings.exclude?.has(query.id) !== true && [...(qrels.get(query.id) ?? new Map()).values()].some((relevance) => relevance > 0));
  const sorted = [...judged].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const chosen = settings.queries === undefined ? sorted : seededShuffle(sorted, settings.seed).slice(0, settings.queries);
  chosen.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const records: (TrainingRecord & { id: string })[] = [];
  for (const query of chosen) {
    const judgements = qrels.get(query.id) ?? new Map<string, number>();
    const positives = [...judgements].filter(([id, relevance]) => relevance > 0 && byId.has(id))
      .map(([id, relevance], order) => ({ id, relevance, order }))
      .sort((a, b) => b.relevance - a.relevance || a.order - b.order)
      .slice(0, settings.maxPositives);
    if (positives.length === 0) continue;
    const negatives = (ranked.get(query.id) ?? []).slice(0, settings.depth).filter((id) => !judgements.has(id) && id !== query.id).slice(0, settings.negatives);
    records.push({
      id: query.id,
      query: query.text,
      pos: positives.map(({ id }) => documentText(byId.get(id) as Document)),
      neg: negatives.map((id) => documentText(byId.get(id) as Document)),
    });
  }
  return records;
}


/**
 * Lets a small model with a short context serve as the exploration expert:
 * - the prompt (chat messages joined as the engine's plain thinker joins them) is cut to its last
 *   `contextTokens` tokens, so it fits the positions the model was trained on;
 * - requests arriving together are generated as one batch (explore's `concurrency` workers);
 * - every batch uses the same sampling seed. The engine seeds sample k of every prompt from
 *   (seed, k), so a prompt's sample does not depend on which prompts share its batch: the
 *   output is deterministic however requests are grouped. Candidates differ because each
 *   candidate's prompt has its own re-drawn few-shot examples (the official mechanism).
 */
export class WindowedBatchingThinker implements Thinker {
  readonly backend: string;
  readonly model: string;
  readonly identity: string;
  private queue: { prompt: string; options: GenerateOptions; resolve: (value: string[][]) => void; reject: (error: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: Thinker,
    private readonly tokenizer: Tokenizer,
    private readonly settings: { contextTokens: number; batchSize: number; seed: number },
  ) {
    this.backend = inner.backend;
    this.model = inner.model;
    this.identity = `${inner.identity}:window${settings.contextTokens}`;
  }

  /** The prompt text the model sees: the last `contextTokens` tokens of the plain prompt. */
  window(prompt: ThinkerPrompt): string {
    const ids = this.tokenizer.encode(plainPromptText(prompt), { addBos: false });
    return ids.length <= this.settings.contextTokens ? plainPromptText(prompt) : this.tokenizer.decode(ids.slice(ids.length - this.settings.contextTokens));
  }

  generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}): Promise<string[][]> {
    if ((options.n ?? 1) !== 1 || prompts.length !== 1) return this.inner.generate(prompts.map((prompt) => this.window(prompt)), { ...options, seed: this.settings.seed });
    return new Promise((resolve, reject) => {
      this.queue.push({ prompt: this.window(prompts[0]), options, resolve, reject });
      if (this.queue.length >= this.settings.batchSize) this.flush();
      else {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush(), 25);
      }
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    const batch = this.queue.splice(0, this.queue.length);
    if (batch.length === 0) return;
    this.running = this.running.then(async () => {
      try {
        const { options } = batch[0];
        const results = await this.inner.generate(batch.map((item) => item.prompt), {
          n: 1, maxTokens: options.maxTokens, temperature: options.temperature, topP: options.topP, seed: this.settings.seed,
        });
        batch.forEach((item, index) => item.resolve([results[index]]));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    });
  }

  config(): ThinkerConfig {
    return { ...this.inner.config(), contextTokens: this.settings.contextTokens };
  }

  async close(): Promise<void> {
    await this.running;
    await this.inner.close();
  }
}

/**
 * A committee embedder on the engine: the pre-trained decoder without thoughts, mean pooling
 * over the text's tokens (cut to `maxLength`), L2-normalised. Mean pooling because the model has
 * had no contrastive training: its last hidden state predicts the next token rather than
 * summarising the text.
 */
export class MeanPoolingEmbedder implements Embedder {
  readonly backend = 'engine';
  readonly identity: string;

  constructor(readonly model: string, private readonly decoder: DecoderModel, private readonly maxLength: number) {
    this.identity = `recipe-mean:${model}:${maxLength}`;
  }

  async dimension(): Promise<number> {
    return this.decoder.config.hiddenSize;
  }

  embedQueries(queries: readonly QueryInput[]): Promise<EmbeddingResult> {
    return this.embedTexts(queries.map((query) => queryText(query)));
  }

  embedDocuments(documents: readonly DocumentInput[]): Promise<EmbeddingResult> {
    return this.embedTexts(documents.map((document) => plainDocumentText(document)));
  }

  private async embedTexts(texts: string[]): Promise<EmbeddingResult> {
    const vectors = await this.decoder.embed(texts, { pooling: 'mean', normalize: true, maxLength: this.maxLength, addBos: true });
    const tokens = texts.reduce((sum, text) => sum + Math.min(this.maxLength, this.decoder.tokenizer.encode(text, { addBos: true }).length), 0);
    return { vectors, usage: { tokens } };
  }

  config(): EmbedderConfig {
    return { backend: 'engine', model: this.model, pooling: 'mean', maxLength: this.maxLength };
  }

  async close(): Promise<void> {
    await this.decoder.dispose();
  }
}

/** What {@link writeBeirSlice} keeps. */
export interface SliceSettings {
  /** The first N judged queries of the split, in queries.jsonl order. */
  queries: number;
  /** Besides the judged documents of those queries, the first N corpus documents (file order). */
  documents: number;
}

/**
 * Writes a small BEIR folder cut from `source`: the first judged queries of `split`, every
 * document judged for them plus the first corpus documents, and their qrels. Deterministic; used
 * for the quick reproduction check of o1-small (test/recipe-small.test.ts) and smoke runs.
 *
 * @example
 * await writeBeirSlice('../shared/datasets/scifact', 'test', '/tmp/scifact-slice', { queries: 40, documents: 400 });
 */
export async function writeBeirSlice(source: string, split: string, output: string, settings: SliceSettings): Promise<{ queries: number; documents: number }> {
  const { corpus, queries, qrels } = await loadBeir(source, split, { quiet: true });
  const chosen = queries.filter((query) => qrels.has(query.id)).slice(0, settings.queries);
  const judged = new Set(chosen.flatMap((query) => [...(qrels.get(query.id) ?? new Map<string, number>()).keys()]));
  const documents = corpus.filter((document, index) => judged.has(document.id) || index < settings.documents);
  const kept = new Set(documents.map((document) => document.id));
  await writeFolderAtomic(output, async (folder) => {
    await writeCorpus(`${folder}/corpus.jsonl`, documents);
    await writeQueriesAndQrels(folder, chosen, qrels, split, kept);
  });
  return { queries: chosen.length, documents: documents.length };
}

/** `queries.jsonl` and `qrels/<split>.tsv` of the chosen queries (judgements of `kept` documents only, when given). */
async function writeQueriesAndQrels(folder: string, chosen: readonly Query[], qrels: Qrels, split: string, kept?: ReadonlySet<string>): Promise<void> {
  await mkdir(`${folder}/qrels`, { recursive: true });
  await writeQueries(`${folder}/queries.jsonl`, chosen);
  const subset: Qrels = new Map(chosen.map((query) => [query.id, new Map([...(qrels.get(query.id) ?? new Map<string, number>())].filter(([id]) => kept?.has(id) ?? true))]));
  await writeBeirQrels(`${folder}/qrels/${split}.tsv`, subset);
}

/** The slice of SciFact test on which the committed o1-small is re-checked quickly. */
export const REPRODUCTION_SLICE: SliceSettings & { dataset: string; split: string } = { dataset: 'scifact', split: 'test', queries: 40, documents: 400 };

/** Ids of the queries with at least one positive judgement, sorted bytewise. */
export function judgedQueryIds(queries: readonly Query[], qrels: Qrels): string[] {
  return queries.filter((query) => [...(qrels.get(query.id) ?? new Map<string, number>()).values()].some((relevance) => relevance > 0))
    .map((query) => query.id)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Writes a BEIR folder with the whole corpus of `source` (a symbolic link, not a copy) and only
 * the given queries of `split`, their qrels written as `outputSplit`. Used for validation sets.
 *
 * @example
 * await writeBeirQuerySubset('../shared/datasets/scifact', 'train', '/tmp/scifact-val', heldOut, 'validation');
 */
export async function writeBeirQuerySubset(source: string, split: string, output: string, queryIds: readonly string[], outputSplit: string): Promise<{ queries: number }> {
  const { queries, qrels } = await loadBeir(source, split, { quiet: true });
  const wanted = new Set(queryIds);
  const chosen = queries.filter((query) => wanted.has(query.id));
  await writeFolderAtomic(output, async (folder) => {
    await symlink(resolve(source, 'corpus.jsonl'), `${folder}/corpus.jsonl`);
    await writeQueriesAndQrels(folder, chosen, qrels, outputSplit);
  });
  return { queries: chosen.length };
}

/**
 * Fuses two TREC runs by weighted reciprocal rank (k 60) per query, as `o1e eval --retriever
 * fused --fusion-weights A,B` does from the same rankings (each run's order is its rank order).
 */
export function fuseRuns(runs: readonly Run[], weights: readonly number[], hits: number): Run {
  const fused: Run = new Map();
  const queryIds = new Set(runs.flatMap((run) => [...run.keys()]));
  for (const queryId of queryIds) {
    const rankings = runs.map((run) => [...(run.get(queryId) ?? new Map<string, number>())].map(([id, score]) => ({ id, score })));
    fused.set(queryId, new Map(fuseRankings(rankings, { method: 'rrf', k: 60, weights, hits }).map((hit) => [hit.id, hit.score])));
  }
  return fused;
}
