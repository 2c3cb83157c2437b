/**
 * Refinement (o1-method.md §5.2): the committee scores each record's candidate thoughts against
 * its first positive passage and a vote picks `thought`; the scores are kept in `model2scores`.
 * The output is written atomically, in input order.
 */
import { writeLinesAtomic } from '../util/atomic-write.js';
import { Progress } from '../util/progress.js';
import type { CommitteeMember } from './committee.js';
import { readTrainingRecords, type TrainingRecord } from './records.js';
import { vote as runVote, type VotingMethod } from './voting.js';

export interface VoteOptions {
  /** Input JSONL with `all_thought` (the output of exploration). */
  records: string;
  /** Output JSONL: the records plus `thought` and `model2scores`. */
  out: string;
  members: readonly CommitteeMember[];
  /** Default `soft` (what the official code runs). */
  voting?: VotingMethod;
  /** Records scored per member call (dense members embed a batch at once). Default 64. */
  batchSize?: number;
  /** No progress bar. Default false. */
  quiet?: boolean;
}

export interface VoteSummary {
  records: number;
  voting: VotingMethod;
  members: string[];
  /** How often each candidate position won. */
  winners: number[];
  out: string;
  elapsedMs: number;
}

/**
 * @example
 * const members = await createCommittee({ members: [{ type: 'bm25' }] });
 * await voteRecords({ records: 'explored.jsonl', out: 'voted.jsonl', members });
 */
export async function voteRecords(options: VoteOptions): Promise<VoteSummary> {
  const started = performance.now();
  const voting = options.voting ?? 'soft';
  const batchSize = options.batchSize ?? 64;
  const records = (await readTrainingRecords(options.records, { requireCandidates: true })).map(({ record }) => record);
  const progress = new Progress({ label: 'vote', total: records.length, unit: 'records', quiet: options.quiet });
  const output: TrainingRecord[] = [];
  const winners: number[] = [];
  for (let start = 0; start < records.length; start += batchSize) {
    const batch = records.slice(start, start + batchSize);
    const items = batch.map((record) => ({ positive: record.pos[0], candidates: record.all_thought as string[] }));
    const scores = await Promise.all(options.members.map((member) => member.score(items)));
    batch.forEach((record, index) => {
      const memberScores = options.members.map((_, member) => scores[member][index]);
      const { winner } = runVote(voting, memberScores, options.members.map((member) => member.weight));
      winners[winner] = (winners[winner] ?? 0) + 1;
      const model2scores = Object.fromEntries(options.members.map((member, position) => [member.name, memberScores[position]]));
      output.push({ ...record, thought: (record.all_thought as string[])[winner], model2scores });
    });
    progress.tick(batch.length);
  }
  progress.finish();
  await writeLinesAtomic(options.out, output.map((record) => JSON.stringify(record)));
  return {
    records: records.length,
    voting,
    members: options.members.map((member) => member.name),
    winners: Array.from(winners, (count) => count ?? 0),
    out: options.out,
    elapsedMs: Math.round(performance.now() - started),
  };
}
