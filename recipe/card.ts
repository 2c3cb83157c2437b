/** The model card (models/o1-small/README.md), written from results.json by recipe/small.ts. */
import { REPRODUCTION_SLICE } from './lib.js';

interface Metric {
  ndcg_cut_10: number;
  recall_100: number;
  seconds: number;
}

interface Results {
  smoke: boolean;
  evaluation: string;
  metrics: Record<string, Record<string, Metric>>;
  o1: Record<string, unknown>;
  fusion: { method: string; weights: Record<string, number> };
  validation: Record<string, { queries: number; bm25: number; o1: number; fusedByWeight: { weight: number; ndcg_cut_10: number }[]; chosenWeight: number }>;
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
    contrastive?: { batchSize: number; epochs: number; learningRate: number };
    joint: { groupSize: number; batchSize: number; epochs: number; learningRate: number };
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
  pretrain: '~12 min',
  records: '< 1 min',
  'validate-scifact': '~3 min',
  'validate-nfcorpus': '~2 min',
  explore: '~8 min',
  vote: '~2 min',
  pairs: '< 1 min',
  contrastive: '~9 min',
  joint: '~13 min',
  export: '-',
};

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
  const validationDense = (fit?.validationQueries as { ndcg_cut_10: number } | undefined)?.ndcg_cut_10;
  const thinkingOnValidation = validationDense === undefined || validation.scifact === undefined ? undefined : validation.scifact.o1 - validationDense;
  const fusionLines = Object.entries(validation).map(([dataset, row]) => {
    const best = row.fusedByWeight.find((entry) => entry.weight === row.chosenWeight)?.ndcg_cut_10 ?? 0;
    const test = results.goals.find((goal) => goal.dataset === dataset)?.fusedMinusBm25 ?? 0;
    return `${dataset}: w ${row.chosenWeight}, ${signed(best - row.bm25)} over BM25 on validation, ${signed(test)} on test`;
  });
  const fitSection = `### Reading

The dense side is still far too weak to help BM25 or to profit from thinking (BM25 scores
${f4(results.metrics.scifact?.bm25?.ndcg_cut_10 ?? 0)} nDCG@10 on SciFact test). Without thinking, on SciFact:

| o1-small without thinking, SciFact | queries | nDCG@10 | R@100 |
|---|---|---|---|
${fitRows.join('\n')}

- The contrastive stage (step 6) is what made the dense side usable at all. The first version of
  this recipe went from pre-training straight to joint training; it scored 0.0280 (no thinking),
  0.0254 (thinking) and 0.6425 (fused) nDCG@10 on SciFact test, with 0.0607 on its own training
  queries, and it was worse than this version on every validation number as well.
- ${trainQueries} training queries seen twice (${joint.steps ?? '?'} steps of ${s.joint.batchSize} queries x ${s.joint.groupSize} passages) are little
  supervised signal for a 5 M-parameter model pre-trained for minutes; the gap between the
  trained queries and the held-out ones shows how little of it generalises.
- The thoughts of such a small expert are fluent-looking but mostly wrong text; averaging their
  embeddings with the query's moves the query vector away from the documents (thinking minus no
  thinking on SciFact: ${thinkingOnValidation === undefined ? '?' : signed(thinkingOnValidation)} on validation, ${signed(results.goals[0]?.thinkingMinusNoThinking ?? 0)} on test), as one expects of a weak thinker.
- Fusion, weight chosen on validation: ${fusionLines.join('; ')}.

What would close the gaps, in the order we would try them (none was tried on test): many more
supervised pairs per step (gradient accumulation, group size 16 as the paper) and a longer
contrastive stage; a stronger thinker for exploration (any OpenAI-compatible LLM through
\`o1e synth explore --thinker\`; the recipe uses the model itself because no larger model is
available offline); and a larger backbone than two CPU cores can train in an hour.`;

  const recordQueries = Object.entries(s.records.queries).map(([dataset, count]) => `${dataset}: ${count === undefined ? 'all' : count} of ${records[`${dataset}JudgedTrainQueries`] ?? '?'} judged train queries (${records[dataset] ?? '?'} records)`).join('; ') +
    ` (SciFact's ${records.scifactValidationQueries ?? '?'} validation queries excluded before sampling)`;

  return `# o1-small: a toy O1 Embedder, trained from scratch on two CPU cores

**This is a toy.** A 5.3 M-parameter decoder (d_model 256, 4 layers, 4 heads, vocabulary 8,000 +
4 O1 tokens, tied embeddings) pre-trained for ${minutes(results.steps.pretrain?.seconds ?? 0)} on two small BEIR corpora, taught to
embed on (title, text) pairs from the same corpora, then jointly trained as an O1 Embedder (think, then embed) on ${trainQueries} train queries with synthesised thoughts. It exists to show
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
5. **Refinement**: committee of BM25Okapi (k1 1.5, b 0.75, epsilon 0.25) and the pre-trained
   model without thoughts (mean-pooled hidden states, ${s.vote.maxLength} tokens, cosine x 100; mean pooling because
   the model had no contrastive training yet), soft voting against the first positive.
   Winners by candidate position: ${JSON.stringify(voted.winners ?? [])}.
6. **Contrastive stage**: the four O1 tokens added (prepareO1Model), then \`o1e train\`'s
   \`contrastive\` mode on ${pairs.pairs ?? '?'} (title, text) pairs made from the two corpora alone (a
   document's title as the query in the query-only layout, its text as the positive, the other
   pairs of the batch as negatives; temperature 0.02), ${s.contrastive?.batchSize ?? '?'} pairs per step, ${contrastive.steps ?? '?'} steps
   (${s.contrastive?.epochs ?? '?'} epoch), AdamW lr ${s.contrastive?.learningRate ?? '?'}; last InfoNCE ${contrastive.lastLoss === undefined ? '?' : Number(contrastive.lastLoss).toFixed(3)}. The same idea as
   Contriever-style pre-training: the model learns to embed before it learns to think.
7. **Joint training**: from the contrastive stage's model, 0.8 InfoNCE (temperature
   0.02, in-batch + hard negatives) + 0.2 thought next-token loss, thought dropout 0.1, full
   fine-tuning, ${s.joint.batchSize} queries x (1 + ${s.joint.groupSize - 1}) passages per step, ${s.joint.epochs} epochs (${joint.steps ?? '?'} steps), AdamW lr
   ${s.joint.learningRate}, 10 % warm-up then linear decay; saved in f16.
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
