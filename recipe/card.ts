/** The model card (models/o1-small/README.md), written from results.json by recipe/small.ts. */
import { REPRODUCTION_SLICE } from './lib.js';

interface Metric {
  ndcg_cut_10: number;
  recall_100: number;
  seconds: number;
}

interface Results {
  smoke: boolean;
  version?: number;
  replacement?: { criterion: string; candidate: number; previous: null | { version: number; mean: number; metrics?: Record<string, Record<string, Metric>> }; replaced: boolean };
  evaluation: string;
  metrics: Record<string, Record<string, Metric>>;
  o1: Record<string, unknown>;
  fusion: { method: string; weights: Record<string, number> };
  validation: Record<string, { queries: number; bm25: number; dense?: number; o1: number; fusedByWeight: { weight: number; ndcg_cut_10: number }[]; chosenWeight: number }>;
  goals: { dataset: string; thinkingBeatsNoThinking: boolean; thinkingMinusNoThinking: number; fusedBeatsBm25: boolean; fusedMinusBm25: number }[];
  fit?: Record<string, { queries: number; ndcg_cut_10: number; recall_100: number } | string>;
  reproductionSlice: { dataset: string; split: string; queries: number; documents: number; queriesEvaluated: number; documentsEvaluated: number; metrics: Record<string, number> };
  steps: Record<string, { seconds: number; details?: Record<string, unknown> }>;
  totalStepSeconds: number;
  settings: {
    vocabSize: number;
    pretrain: { sequenceLength: number; batchSize: number; maxSteps: number; learningRate: number };
    records: { queries: Record<string, number | undefined>; maxPositives: number; depth: number; negatives: number; validation: Record<string, { split: string; queries: number }> };
    fusionWeights: number[];
    explore: { candidates: number; maxTokens: number; temperature: number; topP: number; contextTokens: number; concurrency: number };
    vote: { maxLength: number };
    teacher?: { neighbours: number; temperature: number };
    contrastive?: { batchSize: number; groupSize?: number; epochs: number; maxSteps?: number | null; learningRate: number; passageMaxLength?: number };
    joint: { groupSize: number; batchSize: number; epochs: number; learningRate: number; droppedThoughtEos?: boolean };
  };
}

const LABELS: Record<string, string> = {
  bm25: 'BM25 (Anserini flat, k1 0.9, b 0.4)',
  dense: 'o1-small, no thinking (dense)',
  o1: 'o1-small, thinking (3 thoughts)',
  fused: 'BM25 + o1-small thinking (weighted RRF, k 60)',
};

const BUDGET: Record<string, string> = {
  tokenizer: '< 1 min',
  pretrain: '~17 min',
  records: '< 1 min',
  'validate-scifact': '~3 min',
  'validate-nfcorpus': '~3 min',
  explore: '~9 min',
  vote: '~1 min',
  pairs: '~2 min',
  contrastive: '~9 min',
  joint: '~11 min',
  export: '-',
};

/** USE-Lite test nDCG@10 without thinking (the no-thinking goal) and with Gemini thoughts, from ../shared/reference/engine.md. */
const USE_LITE = { scifact: 0.2164, nfcorpus: 0.1487 } as const;
const USE_LITE_WITH_THOUGHTS = { scifact: 0.2963, nfcorpus: 0.1699 } as const;

const f4 = (value: number) => value.toFixed(4);
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(Math.abs(value) > 0 && Math.abs(value) < 1e-3 ? 6 : 4)}`;
const minutes = (seconds: number) => (seconds >= 90 ? `${(seconds / 60).toFixed(1)} min` : `${seconds.toFixed(1)} s`);

export function modelCard(input: Record<string, unknown>): string {
  const results = input as unknown as Results;
  const s = results.settings;
  const details = (name: string) => results.steps[name]?.details ?? {};
  const records = details('records') as Record<string, number>;
  const explored = details('explore') as Record<string, number>;
  const voted = details('vote') as { winners?: number[] };
  const joint = details('joint') as Record<string, number>;
  const pairs = details('pairs') as Record<string, number>;
  const contrastive = details('contrastive') as Record<string, number>;
  const pretrain = details('pretrain') as Record<string, number>;
  const pretrainTokens = s.pretrain.maxSteps * s.pretrain.sequenceLength * s.pretrain.batchSize;
  const trainQueries = explored.written ?? '?';

  const scoreRows = Object.keys(LABELS).map((retriever) => {
    const cells = ['scifact', 'nfcorpus'].map((dataset) => {
      const metric = results.metrics[dataset]?.[retriever];
      return metric === undefined ? '- | -' : `${f4(metric.ndcg_cut_10)} | ${f4(metric.recall_100)}`;
    });
    return `| ${LABELS[retriever]} | ${cells.join(' | ')} |`;
  });

  const stepRows = Object.entries(results.steps).map(([name, record]) => `| ${name} | ${minutes(record.seconds)} | ${BUDGET[name] ?? (name.startsWith('eval') ? '' : '')} |`);

  const goalLines = results.goals.map((goal) =>
    `- ${goal.dataset}: thinking vs no thinking ${signed(goal.thinkingMinusNoThinking)} nDCG@10 (${goal.thinkingBeatsNoThinking ? 'met' : 'MISSED'}); ` +
    `fused vs BM25 ${signed(goal.fusedMinusBm25)} nDCG@10 (${goal.fusedBeatsBm25 ? 'met' : 'MISSED'}).`);

  const validationRows = Object.entries(results.validation ?? {}).map(([dataset, row]) =>
    `| ${dataset} | ${row.queries} | ${f4(row.bm25)} | ${f4(row.o1)} | ${row.fusedByWeight.map(({ weight, ndcg_cut_10: value }) => `${weight}: ${f4(value)}`).join(', ')} | ${row.chosenWeight} |`);

  const fit = results.fit as Record<string, { queries: number; ndcg_cut_10: number; recall_100: number }> | undefined;
  const fitRows = fit === undefined ? [] : (['trainedQueries', 'validationQueries', 'testQueries'] as const).map((name) =>
    `| ${{ trainedQueries: 'train queries used in joint training', validationQueries: 'held-out validation queries', testQueries: 'test queries' }[name]} | ${fit[name].queries} | ${f4(fit[name].ndcg_cut_10)} | ${f4(fit[name].recall_100)} |`);
  const validation = results.validation ?? {};
  const fusionLines = Object.entries(validation).map(([dataset, row]) => {
    const best = row.fusedByWeight.find((entry) => entry.weight === row.chosenWeight)?.ndcg_cut_10 ?? 0;
    const test = results.goals.find((goal) => goal.dataset === dataset)?.fusedMinusBm25 ?? 0;
    return `${dataset}: w ${row.chosenWeight}, ${signed(best - row.bm25)} over BM25 on validation, ${signed(test)} on test`;
  });
  const thinkingLines = Object.entries(validation).map(([dataset, row]) => {
    const goal = results.goals.find((entry) => entry.dataset === dataset);
    const onValidation = row.dense === undefined ? '?' : signed(row.o1 - row.dense);
    return `${dataset} ${onValidation} on validation, ${signed(goal?.thinkingMinusNoThinking ?? 0)} on test`;
  });
  const replacement = results.replacement;
  const previous = replacement?.previous;
  const previousRows = previous?.metrics === undefined ? [] : Object.keys(LABELS).map((retriever) => {
    const cells = ['scifact', 'nfcorpus'].map((dataset) => {
      const before = previous.metrics?.[dataset]?.[retriever]?.ndcg_cut_10;
      const now = results.metrics[dataset]?.[retriever]?.ndcg_cut_10;
      return before === undefined || now === undefined ? '- | -' : `${f4(before)} | ${f4(now)}`;
    });
    return `| ${LABELS[retriever]} | ${cells.join(' | ')} |`;
  });
  const replacementSection = replacement === undefined ? '' : `### Against the previous model

${replacement.replaced ? 'This model **replaced**' : 'This model did **not** replace'} the committed one (version ${previous?.version ?? '-'}): ${replacement.criterion}:
${f4(replacement.candidate)} for this model against ${previous === null || previous === undefined ? 'none' : f4(previous.mean)} for the previous one.
${previousRows.length === 0 ? '' : `
| test nDCG@10 (previous, this) | SciFact previous | SciFact this | NFCorpus previous | NFCorpus this |
|---|---|---|---|---|
${previousRows.join('\n')}
`}`;
  // What would close the gaps: every number below comes from results.json or the fixed
  // USE-Lite references, so the paragraph stays true when the recipe changes.
  const teacherShare = (['scifact', 'nfcorpus'] as const).map((dataset) => {
    const dense = results.metrics[dataset]?.dense?.ndcg_cut_10;
    return dense === undefined ? `${dataset} ?` : `${dataset} ${f4(dense)} of ${f4(USE_LITE[dataset])} (${Math.round((100 * dense) / USE_LITE[dataset])} %)`;
  });
  const fitGap = fit === undefined ? '' : ` On SciFact it scores ${f4(fit.trainedQueries.ndcg_cut_10)} on the queries joint training saw and ${f4(fit.testQueries.ndcg_cut_10)} on test, so more of the same queries would mostly be memorised.`;
  const gapsSection = `### What would close the gaps

- **Dense >= USE-Lite.** The student reaches ${teacherShare.join(', ')} of its teacher's nDCG@10 without thinking.${fitGap}
  The distilled contrastive stage made one pass over the title -> text pairs (${contrastive.steps ?? '?'} steps); distilling more corpus
  windows (sentences and passages, not only titles) for several epochs, and pre-training past ${(pretrainTokens / 3.17e6).toFixed(2)} epochs of the
  corpus, are the next things to try, and each costs more than the hour on two cores this recipe allows.
- **Thinking > no thinking.** The thoughts are this model's own (pre-training ended at ${pretrain.lastLoss === undefined ? '?' : Number(pretrain.lastLoss).toFixed(2)} nats per token), so they add
  noise rather than corpus content. A real language model's thoughts lift USE-Lite from ${f4(USE_LITE.scifact)} to ${f4(USE_LITE_WITH_THOUGHTS.scifact)} on SciFact and
  from ${f4(USE_LITE.nfcorpus)} to ${f4(USE_LITE_WITH_THOUGHTS.nfcorpus)} on NFCorpus (engine.md; docs/results.md): the thinker, not the aggregation, is the bottleneck. Inside the
  recipe that means a far longer-trained thinker; outside it, thinking with a bigger model through the Thinker seam
  (\`o1e eval --retriever dense --model PATH --thinker CONFIG\`, with node-llama-cpp or an OpenAI-compatible server).
- **Fused > BM25.** Reciprocal-rank fusion with a ranker this far below BM25 can only help at small weights, and 100
  validation queries do not pin such a weight (${fusionLines.join('; ')}). Even USE-Lite fused 1 : 1 with
  BM25 pulls BM25 down (docs/results.md); the fusion goal needs a dense ranker much closer to BM25 on its own.`;

  const fitSection = `### Reading

Without thinking, on SciFact:

| o1-small without thinking, SciFact | queries | nDCG@10 | R@100 |
|---|---|---|---|
${fitRows.join('\n')}

- Thinking minus no thinking (nDCG@10): ${thinkingLines.join('; ')}.
- Fusion, weight chosen on validation: ${fusionLines.join('; ')}.
- ${trainQueries} training queries seen ${s.joint.epochs === 1 ? 'once' : `${s.joint.epochs} times`} (${joint.steps ?? '?'} steps of ${s.joint.batchSize} queries x ${s.joint.groupSize} passages) are little
  supervised signal for a 5 M-parameter model pre-trained for minutes; the gap between the
  trained queries and the held-out ones shows how little of it generalises.
- USE-Lite (SciFact ${f4(USE_LITE.scifact)}, NFCorpus ${f4(USE_LITE.nfcorpus)} nDCG@10 without thinking) is the teacher of the
  contrastive stage; the student's no-thinking rows above say how much of it transferred.

${gapsSection}

${replacementSection}`;

  const recordQueries = Object.entries(s.records.queries).map(([dataset, count]) => `${dataset}: ${count === undefined ? 'all' : count} of ${records[`${dataset}JudgedTrainQueries`] ?? '?'} judged train queries (${records[dataset] ?? '?'} records)`).join('; ') +
    ` (SciFact's ${records.scifactValidationQueries ?? '?'} validation queries excluded before sampling)`;

  return `# o1-small: a toy O1 Embedder, trained from scratch on two CPU cores

**This is a toy.** A 5.3 M-parameter decoder (d_model 256, 4 layers, 4 heads, vocabulary 8,000 +
4 O1 tokens, tied embeddings) pre-trained for ${minutes(results.steps.pretrain?.seconds ?? 0)} on two small BEIR corpora, taught to
embed on (title, text) pairs from the same corpora with Universal Sentence Encoder Lite as its
teacher, then jointly trained as an O1 Embedder (think, then embed) on ${trainQueries} train queries with
thoughts synthesised by itself and chosen by a committee of BM25, USE-Lite and itself (recipe version ${results.version ?? 1}). It exists to show
the whole method running end to end on one machine and to give the tests a real model; it is not
a useful retriever, and BM25 beats it alone by a wide margin.${results.smoke ? '\n\n**SMOKE RUN: these numbers come from `--smoke` settings and mean nothing.**' : ''}

Files: \`model.safetensors\` (f16), \`config.json\`, \`tokenizer.json\` + \`tokenizer_config.json\`
(byte-level BPE with \`<query>\`, \`</query>\`, \`<thought>\`, \`<emb>\`), \`results.json\` (every number
below, each step's time and every setting). Rebuilt by \`npm run recipe:small\` (recipe/small.ts).

## Scores (${results.evaluation})

| system | SciFact nDCG@10 | SciFact R@100 | NFCorpus nDCG@10 | NFCorpus R@100 |
|---|---|---|---|---|
${scoreRows.join('\n')}

Thinking: ${results.o1.thoughts} thoughts per query, temperature ${results.o1.temperature}, top-p ${results.o1.topP}, at most
${results.o1.maxNewTokens} new tokens, seed ${results.o1.seed}; the query vector is the mean of the three normalised
query+thought embeddings (o1-method.md §3). Every number is what \`o1e eval --json\` printed, e.g.

\`\`\`
o1e eval --data ../shared/datasets/scifact --split test --retriever o1 --model models/o1-small --json
o1e eval --data ../shared/datasets/nfcorpus --split test --retriever fused --model models/o1-small --fusion-weights 1,${results.fusion?.weights?.nfcorpus ?? 1} --json
\`\`\`

Fusion: reciprocal-rank fusion (k 60) with weight 1 for BM25 and weight w for o1-small, w chosen
from ${JSON.stringify(s.fusionWeights)} by nDCG@10 on validation queries that training never saw (SciFact: a seeded
${s.records.validation.scifact.queries} of its train queries, held out of the training records, as it has no dev split; NFCorpus: a
seeded ${s.records.validation.nfcorpus.queries} of its dev queries). Test was not used to choose anything.

| validation | queries | BM25 nDCG@10 | o1 nDCG@10 | fused nDCG@10 by w | chosen w |
|---|---|---|---|---|---|
${validationRows.join('\n')}

Goals:
${goalLines.join('\n')}

${fitSection}

## Recipe

1. **Tokenizer**: byte-level BPE, vocabulary ${s.vocabSize}, trained on every document (title + text) of the
   SciFact and NFCorpus corpora.
2. **Pre-training**: next-token loss on the same corpus text only (no queries), packed rows of
   ${s.pretrain.sequenceLength} tokens, batch ${s.pretrain.batchSize}, ${s.pretrain.maxSteps} steps (${(pretrainTokens / 1e6).toFixed(2)} M tokens, ${(pretrainTokens / 3.17e6).toFixed(2)} epochs of the
   3.17 M-token corpus text), AdamW lr ${s.pretrain.learningRate}, cosine decay; last loss ${pretrain.lastLoss === undefined ? '?' : Number(pretrain.lastLoss).toFixed(3)}. Rows of 512 tokens so
   that documents (embedded at up to 512 tokens) stay inside trained positions.
3. **Training records**: ${recordQueries}. Per record: the train query; as \`pos\` its
   train-qrels documents with relevance > 0 (highest relevance first, at most ${s.records.maxPositives}); as \`neg\`
   the first ${s.records.negatives} documents of BM25's top ${s.records.depth} (this repo's Anserini-style BM25) that are not
   judged for the query at all. Queries are a seeded sample; only the train split's queries and
   qrels are used. Passages are \`title text\`.
4. **Exploration**: the pre-trained model is the expert (engine backend, in-process,
   \`o1e synth explore\`'s \`explore()\`), ${s.explore.candidates} candidates per record with the official few-shot prompt
   (examples re-drawn per candidate), temperature ${s.explore.temperature}, top-p ${s.explore.topP}, at most ${s.explore.maxTokens} tokens.
   The model has no chat template and was trained on ${s.pretrain.sequenceLength}-token rows, so it sees the
   official prompt (messages joined by blank lines) cut to its last ${s.explore.contextTokens} tokens: the end of the
   last example, then \`Query: \\n{query}\\nResponse: \`. Candidates are generated ${s.explore.concurrency} at a time with one
   sampling seed; the engine seeds each prompt's sample independently of its batch, so the
   result does not depend on batching. ${explored.written ?? '?'} records written, ${explored.dropped ?? '?'} dropped.
5. **Refinement**: committee of BM25Okapi (k1 1.5, b 0.75, epsilon 0.25), USE-Lite (this repo's
   engine; cosine x 100) and the pre-trained model without thoughts (mean-pooled hidden states,
   ${s.vote.maxLength} tokens, cosine x 100; mean pooling because the model had no contrastive training yet),
   soft voting against the first positive. Winners by candidate position: ${JSON.stringify(voted.winners ?? [])}.
6. **Contrastive stage, distilled from USE-Lite**: the four O1 tokens added (prepareO1Model), then
   \`o1e train\`'s \`contrastive\` mode on ${pairs.pairs ?? '?'} (title, text) records made from the two corpora
   alone: a document's title as the query (query-only layout), its text as the positive, and as
   hard negatives the ${s.teacher?.neighbours ?? '?'} texts USE-Lite finds nearest to that text; every passage carries
   USE-Lite's cosine with the title / ${s.teacher?.temperature ?? '?'} as a teacher score, so the loss is InfoNCE
   (temperature 0.02, in-batch + hard negatives) plus FlagEmbedding's KL term towards the
   teacher's distribution over the group. ${s.contrastive?.batchSize ?? '?'} titles x ${s.contrastive?.groupSize ?? '?'} passages per step (passages cut to
   ${s.contrastive?.passageMaxLength ?? '?'} tokens), ${contrastive.steps ?? '?'} steps, AdamW lr ${s.contrastive?.learningRate ?? '?'}; last loss ${contrastive.lastLoss === undefined ? '?' : Number(contrastive.lastLoss).toFixed(3)}${contrastive.distillationLoss === undefined ? '' : ` (KL ${Number(contrastive.distillationLoss).toFixed(3)})`}.
   USE-Lite embedded the corpora in ${pairs.teacherSeconds ?? '?'} s.
7. **Joint training**: from the contrastive stage's model, 0.8 InfoNCE (temperature
   0.02, in-batch + hard negatives) + 0.2 thought next-token loss, thought dropout 0.1, full
   fine-tuning, ${s.joint.batchSize} queries x (1 + ${s.joint.groupSize - 1}) passages per step, ${s.joint.epochs} epoch${s.joint.epochs === 1 ? '' : 's'} (${joint.steps ?? '?'} steps), AdamW lr
   ${s.joint.learningRate}, 10 % warm-up then linear decay; saved in f16.${s.joint.droppedThoughtEos === false ? ` A dropped thought trains the
   query-only embedding but not its EOS (\`droppedThoughtEos: false\`, a departure from the method):
   with the EOS supervised, 10 % of the mass after \`<thought>\` sits on one token, which at
   temperature 0.1 outranks every real first token, and version 1 of this model thought nothing.` : ''}
8. **Evaluation**: \`o1e eval\` on SciFact test (300 queries) and NFCorpus test (323 queries),
   anserini-beir preset, 1,000 hits; the fused system with the validation-chosen weight
   (\`--fusion-weights 1,w\`). The o1-small runs share a document-vector cache
   (\`--document-cache\`), so each corpus is embedded once; the reproduction command above
   embeds it afresh and gives the same numbers.

All seeds are 0; a re-run on the same code gives the same model and the same numbers. Every step
writes its output atomically under \`.cache/recipe-small/\` and is skipped when that output exists,
so a killed run resumes (training steps resume from their checkpoints bit-for-bit).

## Step times (2 vCPU; total ${minutes(results.totalStepSeconds)})

| step | measured | planned |
|---|---|---|
${stepRows.join('\n')}

## Reproduction check

\`test/recipe-small.test.ts\` re-runs \`o1e eval --retriever o1 --model models/o1-small\` on a fixed slice of
${results.reproductionSlice.dataset} ${results.reproductionSlice.split} (the first ${results.reproductionSlice.queriesEvaluated} judged queries; their judged documents plus the first
${REPRODUCTION_SLICE.documents} corpus documents: ${results.reproductionSlice.documentsEvaluated ?? results.reproductionSlice.documents} documents) and compares with \`results.json\` to 4 decimals
(nDCG@10 ${f4(results.reproductionSlice.metrics.ndcg_cut_10 ?? 0)}, R@100 ${f4(results.reproductionSlice.metrics.recall_100 ?? 0)}). The full SciFact o1 evaluation takes several minutes
on two cores (embedding 5,183 documents at up to 512 tokens dominates), over the test suite's budget;
\`O1E_RECIPE_FULL=1 npm test\` also runs the full command and compares it with the table above.

## Data and licences

Trained only on the SciFact and NFCorpus corpora and their **train** queries and qrels (BEIR
v1.0.0 copies in ../shared); test queries and qrels were used for the evaluation above only.
- SciFact (AllenAI): claims CC BY 4.0, abstracts ODC-By 1.0.
- NFCorpus (Boteva et al., 2016): CC BY-SA 4.0 as labelled by BEIR.

The weights are derived from these data; if you redistribute them, keep these attributions (and
note NFCorpus's share-alike terms).
`;
}
