/**
 * Refinement (o1-method.md §5.2): the committee scores each record's candidate thoughts against
 * its first positive passage and a vote picks `thought`; the scores are kept in `model2scores`.
 * Each scored batch goes to an append-only journal first (committees of large remote embedders
 * can take hours), so a killed run resumes without re-scoring; the output is written
 * atomically, in input order, at the end, and the journal is then removed.
 */
import { rm } from 'node:fs/promises';
import { writeLinesAtomic } from '../util/atomic-write.js';
import { JournalWriter, readJournal } from './journal.js';
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
  /** Journal path. Default `OUT.journal`. */
  journal?: string;
}

export interface VoteSummary {
  records: number;
  /** Records whose scores came from the journal of an interrupted run. */
  reused: number;
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
  const journalPath = options.journal ?? `${options.out}.journal`;
  const records = (await readTrainingRecords(options.records, { requireCandidates: true })).map(({ record }) => record);
  const memberNames = options.members.map((member) => member.name);

  // Resume: scores journalled for the same record, candidates and committee are reused.
  const journal = await readJournal<VoteJournalEntry>(journalPath);
  const scored: (number[][] | undefined)[] = records.map(() => undefined);
  for (const entry of journal.entries) {
    const record = records[entry.record];
    if (record === undefined || !sameWork(entry, record, memberNames)) continue;
    scored[entry.record] = entry.scores;
  }
  const reused = scored.filter((scores) => scores !== undefined).length;
  const writer = await JournalWriter.open<VoteJournalEntry>(journalPath, journal.validBytes);
  const progress = new Progress({ label: 'vote', total: records.length - reused, unit: 'records', quiet: options.quiet });
  try {
    const todo = records.map((_, index) => index).filter((index) => scored[index] === undefined);
    for (let start = 0; start < todo.length; start += batchSize) {
      const indices = todo.slice(start, start + batchSize);
      const items = indices.map((index) => ({ positive: records[index].pos[0], candidates: records[index].all_thought as string[] }));
      const scores = await Promise.all(options.members.map((member) => member.score(items)));
      await Promise.all(indices.map((index, position) => {
        scored[index] = options.members.map((_, member) => scores[member][position]);
        return writer.append({ record: index, query: records[index].query, candidates: records[index].all_thought as string[], members: memberNames, scores: scored[index] });
      }));
      progress.tick(indices.length);
    }
  } finally {
    await writer.close();
  }
  progress.finish();

  const winners: number[] = [];
  const output = records.map((record, index) => {
    const memberScores = scored[index] as number[][];
    const { winner } = runVote(voting, memberScores, options.members.map((member) => member.weight));
    winners[winner] = (winners[winner] ?? 0) + 1;
    const model2scores = Object.fromEntries(memberNames.map((name, position) => [name, memberScores[position]]));
    return { ...record, thought: (record.all_thought as string[])[winner], model2scores } as TrainingRecord;
  });
  await writeLinesAtomic(options.out, output.map((record) => JSON.stringify(record)));
  // The output now holds everything the journal did.
  await rm(journalPath, { force: true });
  return {
    records: records.length,
    reused,
    voting,
    members: memberNames,
    winners: Array.from(winners, (count) => count ?? 0),
    out: options.out,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** One journal line: the committee's scores of one record's candidates. */
export interface VoteJournalEntry {
  record: number;
  query: string;
  candidates: string[];
  members: string[];
  /** Per member, one score per candidate. */
  scores: number[][];
}

/** Whether a journal line was made for this record, candidates and committee. */
function sameWork(entry: VoteJournalEntry, record: TrainingRecord, members: readonly string[]): boolean {
  const candidates = record.all_thought as string[];
  return entry.query === record.query && Array.isArray(entry.candidates) && entry.candidates.length === candidates.length &&
    entry.candidates.every((candidate, index) => candidate === candidates[index]) &&
    Array.isArray(entry.members) && entry.members.length === members.length && entry.members.every((name, index) => name === members[index]) &&
    Array.isArray(entry.scores) && entry.scores.length === members.length && entry.scores.every((row) => Array.isArray(row) && row.length === candidates.length);
}
