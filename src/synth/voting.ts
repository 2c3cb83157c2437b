/**
 * Committee voting over candidate thoughts (o1-method.md §5.2). Input: one score list per member,
 * each with one score per candidate (higher is better).
 */
import { argmax } from '../util/vectors.js';

export { argmax } from '../util/vectors.js';

/** Which rule picks the winner. `soft` is what the official code runs; `median` is its ablation. */
export type VotingMethod = 'soft' | 'hard' | 'median';

/** The voting methods, for argument checking. */
export const VOTING_METHODS: readonly VotingMethod[] = ['soft', 'hard', 'median'];

export interface VoteResult {
  /** Index of the winning candidate. */
  winner: number;
  /** Per candidate: summed probabilities (soft) or member votes (hard). */
  tallies: number[];
}

/**
 * Numerically stable softmax.
 *
 * @example
 * softmax([0, Math.log(3)]) // [0.25, 0.75]
 */
export function softmax(scores: readonly number[]): number[] {
  const maximum = Math.max(...scores);
  const exponentials = scores.map((score) => Math.exp(score - maximum));
  const sum = exponentials.reduce((total, value) => total + value, 0);
  return exponentials.map((value) => value / sum);
}

/**
 * Soft voting: softmax over the candidates per member, weighted sum (weights default 1.0), argmax.
 *
 * @example
 * softVote([[10, 0, 0], [0, 1, 1.1], [0, 1, 1.1]]).winner // 0
 */
export function softVote(memberScores: readonly (readonly number[])[], weights?: readonly number[]): VoteResult {
  const tallies = new Array<number>(memberScores[0]?.length ?? 0).fill(0);
  memberScores.forEach((scores, member) => {
    const weight = weights?.[member] ?? 1;
    softmax(scores).forEach((probability, candidate) => { tallies[candidate] += weight * probability; });
  });
  return { winner: argmax(tallies), tallies };
}

/**
 * Hard voting: each member votes for its best candidate (first on ties); most votes win, ties go
 * to the lowest index.
 *
 * @example
 * hardVote([[10, 0, 0], [0, 1, 1.1], [0, 1, 1.1]]).winner // 2
 */
export function hardVote(memberScores: readonly (readonly number[])[]): VoteResult {
  const tallies = new Array<number>(memberScores[0]?.length ?? 0).fill(0);
  for (const scores of memberScores) tallies[argmax(scores)] += 1;
  return { winner: argmax(tallies), tallies };
}

/**
 * Median voting (the official script's "middle" ablation): the soft-voting tallies, then the
 * candidate whose tally is the median, i.e. position floor(n / 2) of the candidates sorted by
 * tally ascending (equal tallies keep index order). Picks a typical thought rather than the best.
 *
 * @example
 * medianVote([[3, 2, 1], [3, 2, 1]]).winner // 1
 */
export function medianVote(memberScores: readonly (readonly number[])[], weights?: readonly number[]): VoteResult {
  const { tallies } = softVote(memberScores, weights);
  const order = tallies.map((tally, index) => ({ tally, index })).sort((a, b) => a.tally - b.tally || a.index - b.index);
  return { winner: order[Math.floor(order.length / 2)]?.index ?? 0, tallies };
}

/** Runs the named method. */
export function vote(method: VotingMethod, memberScores: readonly (readonly number[])[], weights?: readonly number[]): VoteResult {
  if (method === 'soft') return softVote(memberScores, weights);
  if (method === 'median') return medianVote(memberScores, weights);
  return hardVote(memberScores);
}
