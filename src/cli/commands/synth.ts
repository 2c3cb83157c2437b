import { O1Error } from '../../errors.js';
import { createThinker } from '../../backends/registry.js';
import { loadJsonConfig } from '../../backends/settings.js';
import type { ThinkerConfig } from '../../backends/thinker.js';
import { createCommittee, type CommitteeConfig } from '../../synth/committee.js';
import { explore } from '../../synth/explore.js';
import { voteRecords } from '../../synth/vote.js';
import { VOTING_METHODS, type VotingMethod } from '../../synth/voting.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger, parseNumber, rejectPositionals } from '../arguments.js';

const USAGE = `usage: o1e synth explore --records IN.jsonl --out OUT.jsonl --thinker CONFIG [--candidates 3]
                         [--concurrency 4] [--seed S] [--max-tokens 512] [--temperature T] [--top-p P]
                         [--attempts 3] [--journal FILE] [--json] [--quiet]
       o1e synth vote --records IN.jsonl --out OUT.jsonl --committee CONFIG [--voting soft|hard|median]
                      [--batch-size 64] [--journal FILE] [--json] [--quiet]

Thought synthesis (O1 Embedder, o1-method.md §5).

explore: an LLM expert (any thinker backend, e.g. an OpenAI-compatible server) writes candidate
thoughts for each record ({"query","pos":[...],"neg":[...],...}) with the official prompt, few-shot
examples re-drawn per candidate; writes each record plus "all_thought". Resumable: finished
candidates go to a journal (default OUT.journal) first; re-run the same command after a crash or
kill. Records whose candidates keep coming back empty are dropped with a warning.
  --thinker CONFIG   thinker config, a JSON file or inline JSON
                     e.g. '{"backend":"openai","baseUrl":"http://127.0.0.1:8000/v1","model":"m"}'
  --candidates N     thoughts per record (default 3)
  --concurrency N    generations at once (default 4)
  --seed S           seed of the example draws, also sent as the generation seed (default: random
                     draws, no seed sent)
  --max-tokens N     max_tokens per thought (default 512)
  --temperature T, --top-p P   sampling (default: the server's, as the official run)
  --attempts N       tries per candidate on empty generations before dropping the record (default 3)

vote: a committee scores each record's "all_thought" against its first positive passage and
picks "thought"; writes "thought" and "model2scores". Resumable: each scored batch goes to a
journal (default OUT.journal) first; re-run the same command after a crash or kill.
  --committee CONFIG JSON file or inline JSON, e.g.
                     '{"members":[{"type":"bm25"},{"name":"bge","embedder":{"backend":"openai",...}}]}'
  --voting METHOD    soft (softmax per member, summed; the official choice), hard (majority) or
                     median (the candidate with the median soft tally; an ablation);
                     default: the config's "voting", else soft
  --batch-size N     records per embedding batch (default 64)

  --json             print a JSON summary on stdout (implies --quiet)
  --quiet            no progress bar or warnings
`;

export const synthCommand: Command = {
  name: 'synth',
  summary: 'synthesise thoughts: explore candidates with an LLM expert, vote with a retrieval committee',
  usage: USAGE,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === 'explore') return runExplore(rest);
    if (action === 'vote') return runVote(rest);
    throw new O1Error('BAD_ARGUMENT', `expected 'explore' or 'vote' after 'synth', got ${action === undefined ? 'nothing' : `'${action}'`}`);
  },
};

function required(value: string | undefined, option: string): string {
  if (value === undefined) throw new O1Error('BAD_ARGUMENT', `--${option} is required`, { field: option });
  return value;
}

const EXPLORE_OPTIONS = {
  records: { type: 'string' },
  out: { type: 'string' },
  thinker: { type: 'string' },
  candidates: { type: 'string', default: '3' },
  concurrency: { type: 'string', default: '4' },
  seed: { type: 'string' },
  'max-tokens': { type: 'string', default: '512' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  attempts: { type: 'string', default: '3' },
  journal: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

async function runExplore(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, EXPLORE_OPTIONS, USAGE);
  rejectPositionals(positionals);
  const records = required(values.records, 'records');
  const out = required(values.out, 'out');
  const thinker = await createThinker(await loadJsonConfig(required(values.thinker, 'thinker'), 'thinker') as ThinkerConfig);
  try {
    const summary = await explore({
      records,
      out,
      thinker,
      candidates: parseInteger(values.candidates, 'candidates', 1),
      concurrency: parseInteger(values.concurrency, 'concurrency', 1),
      seed: values.seed === undefined ? undefined : parseInteger(values.seed, 'seed', 0),
      maxTokens: parseInteger(values['max-tokens'], 'max-tokens', 1),
      temperature: parseNumber(values.temperature, 'temperature', 0),
      topP: parseNumber(values['top-p'], 'top-p', 0),
      attempts: parseInteger(values.attempts, 'attempts', 1),
      journal: values.journal,
      quiet: values.quiet || values.json,
    });
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (!values.quiet) {
      process.stderr.write(`explore: ${summary.written}/${summary.records} records written to ${out} (${summary.generated} thoughts generated, ${summary.reused} reused, ${summary.dropped} records dropped) in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`);
    }
  } finally {
    await thinker.close();
  }
  return 0;
}

const VOTE_OPTIONS = {
  records: { type: 'string' },
  out: { type: 'string' },
  committee: { type: 'string' },
  voting: { type: 'string' },
  'batch-size': { type: 'string', default: '64' },
  journal: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

async function runVote(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, VOTE_OPTIONS, USAGE);
  rejectPositionals(positionals);
  const records = required(values.records, 'records');
  const out = required(values.out, 'out');
  const config = await loadJsonConfig(required(values.committee, 'committee'), 'committee') as unknown as CommitteeConfig;
  const voting = (values.voting ?? config.voting ?? 'soft') as VotingMethod;
  if (!VOTING_METHODS.includes(voting)) throw new O1Error('BAD_ARGUMENT', `--voting must be ${VOTING_METHODS.join(', ')}, got '${voting}'`, { field: 'voting' });
  const members = await createCommittee(config);
  try {
    const summary = await voteRecords({ records, out, members, voting, batchSize: parseInteger(values['batch-size'], 'batch-size', 1), journal: values.journal, quiet: values.quiet || values.json });
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (!values.quiet) process.stderr.write(`vote (${voting}, ${summary.members.join(', ')}): ${summary.records} records written to ${out} (${summary.reused} scored earlier, from the journal); winners by position ${summary.winners.join('/')}\n`);
  } finally {
    await Promise.all(members.map((member) => member.close()));
  }
  return 0;
}
