/**
 * The o1-small recipe: `npm run recipe:small [-- --smoke] [-- --work DIR]`.
 *
 * Builds a toy O1 Embedder from ../shared data on this machine (2 CPU cores, about an hour):
 *   1. tokenizer  byte-level BPE (8,000) on the SciFact + NFCorpus corpus text
 *   2. pretrain   a 5.3 M-parameter decoder (d 256, 4 layers, 4 heads), next-token loss on the
 *                 same corpus text (documents only, no queries)
 *   3. records    train queries + train-qrels positives + BM25 hard negatives (a seeded sample)
 *   4. explore    3 candidate thoughts per record, the pre-trained model as the expert with the
 *                 official few-shot prompt (engine backend, in-process)
 *   5. vote       committee: BM25Okapi + USE-Lite + the pre-trained model (mean pooling, no thoughts)
 *   6. pairs      USE-Lite (the teacher) embeds every title and text of both corpora: records
 *                 title -> text with the teacher's nearest other text as a hard negative and the
 *                 teacher's cosines as scores;
 *      contrastive  InfoNCE + KL to the teacher over each group (the query-only layout), then
 *      joint      O1 joint training (0.8 InfoNCE + 0.2 thought CE), full fine-tuning
 *   7. export     the model into the work dir (f16 safetensors, config.json, tokenizer.json)
 *   8. eval       validation (fusion weight, no-thinking and thinking scores), then SciFact and
 *                 NFCorpus test: bm25, dense, o1 (3 thoughts), fused (bm25 + o1), each through
 *                 `evaluateRetriever`, the call behind `o1e eval --json`, so the numbers (and the
 *                 JSON files) are the CLI's
 *   9. card       results.json and README.md beside the model
 *  10. replace    models/o1-small is replaced (model, results.json, card) only if this model's
 *                 mean o1 nDCG@10 on the validation queries beats the committed one's
 * Every step writes under the work dir (default .cache/recipe-small, git-ignored) and is skipped
 * when its output exists, so a killed run resumes where it stopped. Test queries and test qrels
 * are only read by step 8. `--smoke` shrinks every step to seconds (work dir
 * .cache/recipe-small-smoke, model written there, evaluation on a small slice of the train split).
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createThinker } from '../src/backends/registry.js';
import { loadBeir, readCorpus } from '../src/data/beir.js';
import { DecoderModel } from '../src/inference/model.js';
import { prepareO1Model } from '../src/o1/model.js';
import { Bm25Retriever } from '../src/retrieval/bm25/index.js';
import { Bm25Member, EmbedderMember } from '../src/synth/committee.js';
import { UseLiteEmbedder } from '../src/backends/use-lite/embedder.js';
import type { Document } from '../src/data/types.js';
import { TopK, dot } from '../src/util/vectors.js';
import { explore } from '../src/synth/explore.js';
import { voteRecords } from '../src/synth/vote.js';
import { loadTokenizer, trainByteLevelBpe } from '../src/tokenizer/index.js';
import { resolveTrainingConfig } from '../src/training/config.js';
import { checkpointSteps } from '../src/training/checkpoint.js';
import { runTraining, type TrainingSummary } from '../src/training/trainer.js';
import { writeFileAtomic, writeLinesAtomic } from '../src/util/atomic-write.js';
import { readRun } from '../src/data/trec.js';
import { evaluate } from '../src/evaluation/index.js';
import { evaluateRetriever, type EvaluationReport } from '../src/evaluation/evaluate-retriever.js';
import type { RetrieverConfig } from '../src/retrieval/retriever.js';
import { buildTrainingRecords, fuseRuns, judgedQueryIds, MeanPoolingEmbedder, REPRODUCTION_SLICE, seededShuffle, StepRunner, WindowedBatchingThinker, writeBeirQuerySubset, writeBeirSlice, writeFolderAtomic } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '..', 'shared', 'datasets');
const DATASETS = ['scifact', 'nfcorpus'] as const;
const RETRIEVERS = ['bm25', 'dense', 'o1', 'fused'] as const;
const SEED = 0;

/** Every size and count of the recipe, full and smoke. */
function settingsFor(smoke: boolean) {
  return {
    version: 2,
    vocabSize: smoke ? 600 : 8000,
    tokenizerDocuments: smoke ? 300 : undefined,
    model: { hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4 },
    pretrain: { sequenceLength: smoke ? 64 : 512, batchSize: smoke ? 4 : 4, maxSteps: smoke ? 3 : 1300, learningRate: 1e-3, checkpointEvery: smoke ? 0 : 200 },
    records: {
      // Train queries sampled per dataset (seeded); records keep up to 8 positives and 15 negatives.
      queries: { scifact: smoke ? 6 : undefined, nfcorpus: smoke ? 6 : 700 } as Record<string, number | undefined>,
      maxPositives: 8,
      depth: 200,
      negatives: 15,
      // Validation queries for choosing the fusion weight, never trained on: SciFact has no dev
      // split, so a seeded sample of its train queries is held out; NFCorpus has a dev split.
      validation: { scifact: { split: 'train', queries: smoke ? 4 : 100 }, nfcorpus: { split: 'dev', queries: smoke ? 4 : 100 } } as Record<string, { split: string; queries: number }>,
    },
    // USE-Lite (this repo's engine, first 128 pieces) as the teacher: it embeds every document's
    // title and text; each text's nearest other texts are the contrastive stage's negatives and
    // the teacher's cosines (x 1/temperature, the student's InfoNCE temperature) its KL targets.
    teacher: { neighbours: 1, temperature: 0.02 },
    explore: { candidates: 3, maxTokens: smoke ? 8 : 48, temperature: 0.7, topP: 0.9, contextTokens: smoke ? 48 : 256, concurrency: smoke ? 4 : 12 },
    vote: { maxLength: smoke ? 64 : 256 },
    // Contrastive stage on the corpora: title -> text, 1 positive + the teacher's neighbours per
    // group, in-batch negatives, KL to the teacher's scores over the group.
    contrastive: { batchSize: 16, groupSize: 2, epochs: 1, maxSteps: smoke ? 3 : null as number | null, learningRate: 3e-4, passageMaxLength: 192, checkpointEvery: smoke ? 0 : 100 },
    // droppedThoughtEos true (the method): a first attempt with false (group 8, 1 epoch) made the
    // model write thoughts, and they lowered every validation score (see the model card).
    joint: { groupSize: 5, batchSize: 4, epochs: 2, maxSteps: smoke ? 3 : null as number | null, learningRate: 3e-4, droppedThoughtEos: true, checkpointEvery: smoke ? 0 : 100 },
    eval: { thoughts: 3, maxNewTokens: smoke ? 8 : 128, seed: 0 },
    // Weights of the o1 ranking (bm25's is 1) tried on the validation queries; the best is used on test.
    fusionWeights: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5],
  };
}

type Settings = ReturnType<typeof settingsFor>;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function corpusTexts(dataset: string, limit?: number): Promise<string[]> {
  const texts: string[] = [];
  for await (const document of readCorpus(join(SHARED, dataset, 'corpus.jsonl'))) {
    if (limit !== undefined && texts.length >= limit) break;
    texts.push(document.title ? `${document.title} ${document.text}` : document.text);
  }
  return texts;
}

/**
 * Runs one training stage of the recipe into `output` with the recipe's seed, resuming from its
 * newest checkpoint when an earlier run was killed.
 */
async function trainStage(output: string, stage: Record<string, unknown>): Promise<TrainingSummary> {
  const config = resolveTrainingConfig({ ...stage, output, seed: SEED });
  return runTraining(config, { resume: (await checkpointSteps(output)).length > 0, progress: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { smoke: { type: 'boolean', default: false }, work: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: npm run recipe:small [-- --smoke] [-- --work DIR] [-- --out DIR]\n(see docs in recipe/small.ts and models/o1-small/README.md)\n');
    return;
  }
  const smoke = values.smoke || process.env.O1E_RECIPE_SMOKE === '1';
  const settings: Settings = settingsFor(smoke);
  const work = resolve(values.work ?? join(ROOT, '.cache', smoke ? 'recipe-small-smoke' : 'recipe-small'));
  // The model is built and evaluated in the work dir; it replaces the committed models/o1-small
  // only if it beats it on the validation queries (step 10). --out writes straight there instead.
  const committed = join(ROOT, 'models', 'o1-small');
  const out = resolve(values.out ?? join(work, 'o1-small'));
  await mkdir(work, { recursive: true });
  const started = performance.now();
  log(`[recipe] o1-small ${smoke ? '(SMOKE) ' : ''}work dir ${work}, model ${out}`);
  const steps = await StepRunner.open(work, log);

  // 1. Tokenizer: byte-level BPE on the corpus text of both datasets.
  const tokenizerDir = join(work, 'tokenizer');
  await steps.run('tokenizer', join(tokenizerDir, 'DONE'), async () => {
    const texts = (await Promise.all(DATASETS.map((dataset) => corpusTexts(dataset, settings.tokenizerDocuments)))).flat();
    const tokenizer = trainByteLevelBpe(texts, { vocabSize: settings.vocabSize, specialTokens: ['<|endoftext|>'] });
    await writeFolderAtomic(tokenizerDir, async (folder) => tokenizer.save(folder));
    return { documents: texts.length, vocabSize: settings.vocabSize };
  });

  // 2. Pre-training on the corpus text (documents only).
  const pretrainDir = join(work, 'pretrain');
  await steps.run('pretrain', join(pretrainDir, 'DONE'), async () => {
    const p = settings.pretrain;
    const summary = await trainStage(pretrainDir, {
      mode: 'pretrain',
      model: { init: settings.model, tokenizer: tokenizerDir },
      data: { texts: DATASETS.map((dataset) => join(SHARED, dataset, 'corpus.jsonl')) },
      pretrain: { sequenceLength: p.sequenceLength, packing: 'packed' },
      batchSize: p.batchSize,
      maxSteps: p.maxSteps,
      optimizer: { learningRate: p.learningRate },
      schedule: { warmupRatio: 0.05, decay: 'cosine', minimumLearningRate: p.learningRate / 10 },
      lengthBuckets: [p.sequenceLength],
      checkpointEvery: p.checkpointEvery,
      logEvery: 50,
      saveDtype: 'f32',
    });
    return { steps: summary.steps, tokensThisRun: summary.tokens, tokensPerSecond: Math.round(summary.tokensPerSecond), lastLoss: summary.last?.loss };
  });
  const pretrainedModel = join(pretrainDir, 'model');

  // 3. Training records: train queries, train-qrels positives, BM25 hard negatives.
  const recordsDir = join(work, 'records');
  const recordsFile = join(recordsDir, 'train.jsonl');
  await steps.run('records', join(recordsDir, 'DONE'), async () => {
    await mkdir(recordsDir, { recursive: true });
    const counts: Record<string, number> = {};
    const all: string[] = [];
    for (const dataset of DATASETS) {
      const { corpus, queries, qrels } = await loadBeir(join(SHARED, dataset), 'train', { quiet: true });
      // Validation queries first, so they can be kept out of the training records.
      const validation = settings.records.validation[dataset];
      const validationSplit = validation.split === 'train' ? { queries, qrels } : await loadBeir(join(SHARED, dataset), validation.split, { quiet: true });
      // (A smoke run validates on a small slice instead, to stay fast: its first 40 judged
      // queries, as writeBeirSlice chooses them, so the validation queries are drawn from those.)
      const smokeSlice = { queries: 40, documents: 150 };
      const validationPool = smoke ? validationSplit.queries.filter((query) => validationSplit.qrels.has(query.id)).slice(0, smokeSlice.queries) : validationSplit.queries;
      const validationIds = seededShuffle(judgedQueryIds(validationPool, validationSplit.qrels), SEED + 1).slice(0, validation.queries);
      if (smoke) await writeBeirSlice(join(SHARED, dataset), validation.split, join(recordsDir, 'smoke-validation-source', dataset), smokeSlice);
      const validationSource = smoke ? join(recordsDir, 'smoke-validation-source', dataset) : join(SHARED, dataset);
      await writeBeirQuerySubset(validationSource, validation.split, join(recordsDir, 'validation', dataset), validationIds, 'validation');
      counts[`${dataset}ValidationQueries`] = validationIds.length;
      const bm25 = new Bm25Retriever();
      await bm25.index(corpus, { quiet: true });
      const ranked = new Map<string, string[]>();
      for (const query of queries) ranked.set(query.id, (await bm25.search(query, { hits: settings.records.depth })).map((hit) => hit.id));
      const records = buildTrainingRecords(corpus, queries, qrels, ranked, {
        queries: settings.records.queries[dataset], maxPositives: settings.records.maxPositives, depth: settings.records.depth, negatives: settings.records.negatives, seed: SEED,
        exclude: new Set(validationIds),
      });
      counts[dataset] = records.length;
      counts[`${dataset}JudgedTrainQueries`] = queries.length;
      const lines = records.map(({ id, ...record }) => JSON.stringify({ ...record, type: dataset, query_id: id }));
      await writeLinesAtomic(join(recordsDir, `${dataset}.jsonl`), lines);
      all.push(...lines);
    }
    await writeLinesAtomic(recordsFile, all);
    return counts;
  });

  // 4. Exploration: the pre-trained model is the expert.
  const exploreFile = join(work, 'explore', 'explored.jsonl');
  await steps.run('explore', join(work, 'explore', 'DONE'), async () => {
    await mkdir(join(work, 'explore'), { recursive: true });
    const e = settings.explore;
    const tokenizer = await loadTokenizer(pretrainedModel);
    const inner = await createThinker({ backend: 'engine', model: pretrainedModel, layout: 'plain' });
    const thinker = new WindowedBatchingThinker(inner, tokenizer, { contextTokens: e.contextTokens, batchSize: e.concurrency, seed: SEED });
    try {
      const summary = await explore({
        records: recordsFile, out: exploreFile, thinker, candidates: e.candidates, concurrency: e.concurrency, seed: SEED,
        maxTokens: e.maxTokens, temperature: e.temperature, topP: e.topP,
      });
      return { records: summary.records, written: summary.written, dropped: summary.dropped, generated: summary.generated, reused: summary.reused, emptyGenerations: summary.emptyGenerations };
    } finally {
      await thinker.close();
    }
  });

  // 5. Refinement: BM25Okapi + the pre-trained model (mean pooling, no thoughts), soft voting.
  const voteFile = join(work, 'vote', 'voted.jsonl');
  await steps.run('vote', join(work, 'vote', 'DONE'), async () => {
    await mkdir(join(work, 'vote'), { recursive: true });
    const decoder = await DecoderModel.load(pretrainedModel);
    const members = [
      new Bm25Member('bm25'),
      new EmbedderMember('use-lite', await UseLiteEmbedder.create({ backend: 'use-lite' })),
      new EmbedderMember('pretrained-mean', new MeanPoolingEmbedder('pretrained-mean', decoder, settings.vote.maxLength)),
    ];
    try {
      const summary = await voteRecords({ records: exploreFile, out: voteFile, members, voting: 'soft', batchSize: 64 });
      return { records: summary.records, members: summary.members, winners: summary.winners };
    } finally {
      for (const member of members) await member.close();
    }
  });

  // 6a. Contrastive stage: the pre-trained model with the O1 tokens learns to embed on pairs made
  // from the corpora alone (a document's title as the query, its text as the positive; other
  // pairs of the batch as negatives), so joint training starts from a model that already embeds.
  const initDir = join(work, 'o1-init');
  const pairsFile = join(work, 'pairs', 'pairs.jsonl');
  await steps.run('pairs', join(work, 'pairs', 'DONE'), async () => {
    await mkdir(join(work, 'pairs'), { recursive: true });
        const teacher = await UseLiteEmbedder.create({ backend: 'use-lite' });
    const lines: string[] = [];
    const counts: Record<string, number> = {};
    const teacherStarted = performance.now();
    try {
      for (const dataset of DATASETS) {
        const documents: Document[] = [];
        for await (const document of readCorpus(join(SHARED, dataset, 'corpus.jsonl'))) {
          if (smoke && documents.length >= 64) break;
          if (document.title.trim() === '' || document.text.trim() === '') continue;
          documents.push(document);
        }
        log(`[recipe]   teacher: USE-Lite embeds ${documents.length} ${dataset} titles and texts`);
        const titles = (await teacher.embedQueries(documents.map((document) => document.title))).vectors;
        const texts = (await teacher.embedDocuments(documents.map((document) => ({ text: document.text })))).vectors;
        documents.forEach((document, index) => {
          // The teacher's nearest other texts (duplicated texts skipped: they are not negatives).
          const nearest = new TopK<number>(settings.teacher.neighbours);
          for (let other = 0; other < documents.length; other++) {
            if (other !== index && documents[other].text !== document.text) nearest.push(other, dot(texts[index], texts[other]));
          }
          const negatives = nearest.sorted().map(({ key }) => key);
          const score = (other: number) => round6(dot(titles[index], texts[other]) / settings.teacher.temperature);
          lines.push(JSON.stringify({
            query: document.title, pos: [document.text], neg: negatives.map((other) => documents[other].text),
            pos_scores: [score(index)], neg_scores: negatives.map(score), type: `${dataset}-title-text`, doc_id: document.id,
          }));
        });
        counts[dataset] = documents.length;
      }
    } finally {
      await teacher.close();
    }
    await writeLinesAtomic(pairsFile, lines);
    return { pairs: lines.length, ...counts, teacherSeconds: Math.round((performance.now() - teacherStarted) / 100) / 10 };
  });
  const contrastiveDir = join(work, 'contrastive');
  await steps.run('contrastive', join(contrastiveDir, 'DONE'), async () => {
    if (!existsSync(join(initDir, 'config.json'))) {
      // Adds <query>, </query>, <thought>, <emb> (idempotent: pre-training already added them).
      await writeFolderAtomic(initDir, async (folder) => { await prepareO1Model(pretrainedModel, { output: folder }); });
    }
    const c = settings.contrastive;
    const summary = await trainStage(contrastiveDir, {
      mode: 'contrastive',
      model: { path: initDir },
      data: { records: [pairsFile] },
      joint: { groupSize: c.groupSize, passageMaxLength: c.passageMaxLength },
      batchSize: c.batchSize,
      epochs: c.epochs,
      maxSteps: c.maxSteps,
      optimizer: { learningRate: c.learningRate },
      checkpointEvery: c.checkpointEvery,
      logEvery: 25,
      saveDtype: 'f32',
    });
    return { steps: summary.steps, tokensPerSecond: Math.round(summary.tokensPerSecond), lastLoss: summary.last?.loss, distillationLoss: summary.last?.distillationLoss };
  });

  // 6b. Joint training (O1 loss), full fine-tuning, from the contrastive stage's model.
  const jointDir = join(work, 'joint');
  await steps.run('joint', join(jointDir, 'DONE'), async () => {
    const j = settings.joint;
    const summary = await trainStage(jointDir, {
      mode: 'joint',
      model: { path: join(contrastiveDir, 'model') },
      data: { records: [voteFile], corpus: DATASETS.map((dataset) => join(SHARED, dataset, 'corpus.jsonl')) },
      joint: { groupSize: j.groupSize, droppedThoughtEos: j.droppedThoughtEos },
      batchSize: j.batchSize,
      epochs: j.epochs,
      maxSteps: j.maxSteps,
      optimizer: { learningRate: j.learningRate },
      checkpointEvery: j.checkpointEvery,
      logEvery: 25,
      saveDtype: 'f16',
    });
    return { steps: summary.steps, tokensPerSecond: Math.round(summary.tokensPerSecond), lastLoss: summary.last?.loss, contrastiveLoss: summary.last?.contrastiveLoss, generationLoss: summary.last?.generationLoss };
  });

  // 7. Export the model folder.
  await steps.run('export', join(work, 'export.DONE'), async () => {
    await writeFolderAtomic(out, async (folder) => {
      for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) await copyFile(join(jointDir, 'model', file), join(folder, file));
    });
    const bytes = statSync(join(out, 'model.safetensors')).size;
    if (bytes > 16 * 1024 * 1024) throw new Error(`model.safetensors is ${bytes} bytes, over 16 MB`);
    return { modelBytes: bytes };
  });

  // 8a. The fusion weight, chosen on the validation queries (never on test): bm25 and o1 runs
  // evaluated as `o1e eval` does, fused offline for each candidate weight, best nDCG@10 kept
  // (ties: smaller weight).
  const evalDir = join(work, 'eval');
  await mkdir(evalDir, { recursive: true });
  // In-process `o1e eval --json` (quiet): the retriever configs below are the ones the CLI builds
  // from the same flags, and each report file holds what the CLI prints.
  const evaluation = async (config: RetrieverConfig, data: string, split: string, run?: string): Promise<EvaluationReport> => {
    log(`[recipe]   evaluate ${JSON.stringify(config)} on ${data} (${split})`);
    return evaluateRetriever(config, data, { split, quiet: true, run });
  };
  const reportText = (report: EvaluationReport): string => `${JSON.stringify(report)}\n`;
  // `--retriever o1 --model out --thoughts --seed --max-new-tokens [--thought-cache --document-cache]`.
  const o1Config = (dataset: string | undefined): RetrieverConfig => ({
    retriever: 'o1', model: out, thoughts: settings.eval.thoughts, seed: settings.eval.seed, maxNewTokens: settings.eval.maxNewTokens,
    ...(dataset === undefined ? {} : { documentCache: join(evalDir, `${dataset}.documents.jsonl`), thoughtCache: join(evalDir, `${dataset}.thoughts.jsonl`) }),
  });
  const denseConfig = (documentCache: string): RetrieverConfig => ({ retriever: 'dense', model: out, documentCache });
  const fusionWeight: Record<string, number> = {};
  const validationTable: Record<string, unknown> = {};
  for (const dataset of DATASETS) {
    const file = join(evalDir, `${dataset}-validation.json`);
    await steps.run(`validate-${dataset}`, file, async () => {
      const data = join(recordsDir, 'validation', dataset);
      const runs = { bm25: join(evalDir, `${dataset}-validation-bm25.run`), o1: join(evalDir, `${dataset}-validation-o1.run`) };
      const bm25 = await evaluation({ retriever: 'bm25' }, data, 'validation', runs.bm25);
      const o1 = await evaluation(o1Config(dataset), data, 'validation', runs.o1);
      const dense = await evaluation(denseConfig(join(evalDir, `${dataset}.documents.jsonl`)), data, 'validation');
      const { readBeirQrels } = await import('../src/data/beir.js');
      const qrels = await readBeirQrels(join(data, 'qrels', 'validation.tsv'));
      const rankings = [await readRun(runs.bm25), await readRun(runs.o1)];
      const weights: { weight: number; ndcg_cut_10: number }[] = [];
      let best = { weight: settings.fusionWeights[0], ndcg: -1 };
      for (const weight of settings.fusionWeights) {
        const fused = fuseRuns(rankings, [1, weight], 1000);
        const ndcg = evaluate(qrels, fused, { preset: 'anserini-beir', measures: ['ndcg_cut.10'] }).all.ndcg_cut_10 ?? 0;
        weights.push({ weight, ndcg_cut_10: ndcg });
        if (ndcg > best.ndcg) best = { weight, ndcg };
      }
      const report = { queries: bm25.queries, bm25: bm25.metrics.ndcg_cut_10, dense: dense.metrics.ndcg_cut_10, o1: o1.metrics.ndcg_cut_10, fusedByWeight: weights, chosenWeight: best.weight };
      await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
      return report;
    });
    const report = JSON.parse(await readFile(file, 'utf8'));
    fusionWeight[dataset] = report.chosenWeight;
    validationTable[dataset] = report;
  }

  // 8b. Evaluation on test, as `o1e eval` runs it (what the test re-runs).
  const table: Record<string, Record<string, { ndcg_cut_10: number; recall_100: number; seconds: number }>> = {};
  for (const dataset of DATASETS) {
    let data = join(SHARED, dataset);
    let split = 'test';
    if (smoke) {
      data = join(work, 'smoke-beir', dataset);
      split = 'train';
      if (!existsSync(data)) await writeBeirSlice(join(SHARED, dataset), 'train', data, { queries: 8, documents: 150 });
    }
    table[dataset] = {};
    for (const retriever of RETRIEVERS) {
      const file = join(evalDir, `${dataset}-${retriever}.json`);
      await steps.run(`eval-${dataset}-${retriever}`, file, async () => {
        const configs: Record<(typeof RETRIEVERS)[number], () => RetrieverConfig> = {
          bm25: () => ({ retriever: 'bm25' }),
          dense: () => denseConfig(join(evalDir, `${dataset}.documents.jsonl`)),
          o1: () => o1Config(dataset),
          // `--retriever fused --model out ... --fusion-weights 1,w`: bm25 + o1 by RRF.
          fused: () => ({ retriever: 'fused', fusion: 'rrf', retrievers: [{ retriever: 'bm25' }, o1Config(dataset)], weights: [1, fusionWeight[dataset]] }),
        };
        await writeFileAtomic(file, reportText(await evaluation(configs[retriever](), data, split)));
      });
      const report = JSON.parse(await readFile(file, 'utf8'));
      table[dataset][retriever] = { ndcg_cut_10: report.metrics.ndcg_cut_10, recall_100: report.metrics.recall_100, seconds: steps.records[`eval-${dataset}-${retriever}`].seconds };
    }
  }

  // 8c. The quick reproduction check's reference: o1 on a fixed slice of SciFact test.
  const sliceDir = join(work, 'reproduction-slice');
  const sliceFile = join(evalDir, 'reproduction-slice-o1.json');
  await steps.run('eval-reproduction-slice', sliceFile, async () => {
    const source = smoke ? join(work, 'smoke-beir', 'scifact') : join(SHARED, REPRODUCTION_SLICE.dataset);
    const split = smoke ? 'train' : REPRODUCTION_SLICE.split;
    await writeBeirSlice(source, split, sliceDir, REPRODUCTION_SLICE);
    // No caches: thoughts generated afresh, as the test re-runs it.
    await writeFileAtomic(sliceFile, reportText(await evaluation(o1Config(undefined), sliceDir, split)));
  });
  const sliceReport = JSON.parse(await readFile(sliceFile, 'utf8'));

  // 8d. A diagnostic, not a score: no thinking on the SciFact queries the model was trained on
  // (how well joint training fitted its own data), next to the same on validation and test.
  const fitFile = join(evalDir, 'scifact-trained-queries-dense.json');
  await steps.run('eval-scifact-trained-queries', fitFile, async () => {
    const ids = (await readFile(join(recordsDir, 'scifact.jsonl'), 'utf8')).trim().split('\n').map((line) => String(JSON.parse(line).query_id));
    const source = smoke ? join(recordsDir, 'smoke-validation-source', 'scifact') : join(SHARED, 'scifact');
    const data = join(recordsDir, 'trained-queries', 'scifact');
    await writeBeirQuerySubset(source, 'train', data, ids, 'trained');
    await writeFileAtomic(fitFile, reportText(await evaluation(denseConfig(join(evalDir, 'scifact.documents.jsonl')), data, 'trained')));
  });
  const fitReport = JSON.parse(await readFile(fitFile, 'utf8'));
  const validationDenseFile = join(evalDir, 'scifact-validation-dense.json');
  await steps.run('eval-scifact-validation-dense', validationDenseFile, async () => {
    await writeFileAtomic(validationDenseFile, reportText(await evaluation(denseConfig(join(evalDir, 'scifact.documents.jsonl')), join(recordsDir, 'validation', 'scifact'), 'validation')));
  });
  const validationDense = JSON.parse(await readFile(validationDenseFile, 'utf8'));
  const fit = {
    note: 'o1-small without thinking on SciFact: the train queries joint training used, the held-out validation queries, and test',
    trainedQueries: { queries: fitReport.queries, ndcg_cut_10: fitReport.metrics.ndcg_cut_10, recall_100: fitReport.metrics.recall_100 },
    validationQueries: { queries: validationDense.queries, ndcg_cut_10: validationDense.metrics.ndcg_cut_10, recall_100: validationDense.metrics.recall_100 },
    testQueries: { queries: JSON.parse(await readFile(join(evalDir, 'scifact-dense.json'), 'utf8')).queries, ndcg_cut_10: table.scifact.dense.ndcg_cut_10, recall_100: table.scifact.dense.recall_100 },
  };

  // 9. results.json + model card.
  const goals = DATASETS.map((dataset) => {
    const row = table[dataset];
    return {
      dataset,
      thinkingBeatsNoThinking: row.o1.ndcg_cut_10 > row.dense.ndcg_cut_10,
      thinkingMinusNoThinking: round6(row.o1.ndcg_cut_10 - row.dense.ndcg_cut_10),
      fusedBeatsBm25: row.fused.ndcg_cut_10 > row.bm25.ndcg_cut_10,
      fusedMinusBm25: round6(row.fused.ndcg_cut_10 - row.bm25.ndcg_cut_10),
    };
  });
  // 10. Replace the committed model only if this one is better on validation: the mean over both
  // datasets of o1 (thinking) nDCG@10 on the validation queries, which training never saw.
  const previousFile = join(committed, 'results.json');
  const previous = !smoke && values.out === undefined && existsSync(previousFile) ? JSON.parse(await readFile(previousFile, 'utf8')) : undefined;
  const validationMean = (table: Record<string, { o1: number }> | undefined) => (table === undefined ? -Infinity : DATASETS.reduce((sum, dataset) => sum + (table[dataset]?.o1 ?? -Infinity), 0) / DATASETS.length);
  const candidateMean = validationMean(validationTable as Record<string, { o1: number }>);
  const previousMean = validationMean(previous?.validation);
  const replacement = {
    criterion: 'mean over scifact and nfcorpus of o1 (thinking) nDCG@10 on the validation queries',
    candidate: round6(candidateMean),
    previous: previous === undefined ? null : { version: previous.settings?.version ?? 1, mean: round6(previousMean), validation: previous.validation, metrics: previous.metrics },
    replaced: !smoke && values.out === undefined && candidateMean > previousMean,
  };
  const results = {
    model: 'o1-small',
    version: settings.version,
    replacement,
    smoke,
    evaluation: smoke ? 'SMOKE: a slice of the train split' : 'test split, anserini-beir preset (o1e eval defaults), 1000 hits',
    metrics: table,
    o1: { thoughts: settings.eval.thoughts, seed: settings.eval.seed, maxNewTokens: settings.eval.maxNewTokens, temperature: 0.1, topP: 0.9 },
    fusion: { method: 'rrf k 60, weights bm25 1 and o1 w, w chosen on validation queries', weights: fusionWeight },
    validation: validationTable,
    goals,
    fit,
    reproductionSlice: { ...REPRODUCTION_SLICE, queriesEvaluated: sliceReport.queries, documentsEvaluated: sliceReport.documents, metrics: sliceReport.metrics },
    steps: steps.records,
    totalStepSeconds: Math.round(Object.values(steps.records).reduce((sum, record) => sum + record.seconds, 0)),
    settings,
  };
  await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const { modelCard } = await import('./card.js');
  await writeFileAtomic(join(out, 'README.md'), modelCard(results));
  if (replacement.replaced) {
    await writeFolderAtomic(committed, async (folder) => {
      for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'results.json', 'README.md']) await copyFile(join(out, file), join(folder, file));
    });
    log(`[recipe] replaced ${committed}: validation ${replacement.candidate} > ${replacement.previous?.mean ?? 'none'}`);
  } else if (!smoke && values.out === undefined) {
    log(`[recipe] kept ${committed}: validation ${replacement.candidate} <= ${replacement.previous?.mean}; this model stays in ${out}`);
  }
  const summary = { ok: true, smoke, work, model: replacement.replaced ? committed : out, replacement: { candidate: replacement.candidate, previous: replacement.previous?.mean ?? null, replaced: replacement.replaced }, seconds: Math.round((performance.now() - started) / 1000), metrics: table, goals };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

main().catch((error) => {
  process.stderr.write(`[recipe] failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
