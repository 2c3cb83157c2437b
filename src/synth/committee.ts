/**
 * The retrieval committee (o1-method.md §5.2): members score every candidate thought against the
 * record's first positive passage. Configured by JSON:
 * `{ "voting": "soft", "members": [ { "name": "bm25", "type": "bm25" },
 *    { "name": "bge", "embedder": { "backend": "openai", "baseUrl": "...", "model": "bge-large-en-v1.5" } } ] }`.
 */
import { O1Error } from '../errors.js';
import { cosineSimilarity } from '../util/vectors.js';
import type { Embedder, EmbedderConfig } from '../backends/embedder.js';
import { createEmbedder } from '../backends/registry.js';
import { Settings } from '../backends/settings.js';
import { Bm25Okapi, bm25Tokenize } from './bm25-okapi.js';
import { VOTING_METHODS, type VotingMethod } from './voting.js';

/** One record's question to the committee. */
export interface ScoringItem {
  /** The first positive passage. */
  positive: string;
  candidates: readonly string[];
}

export interface CommitteeMember {
  /** Key in `model2scores`. */
  readonly name: string;
  /** Soft-voting weight. Default 1.0. */
  readonly weight: number;
  /** Per item, one score per candidate. */
  score(items: readonly ScoringItem[]): Promise<number[][]>;
  close(): Promise<void>;
}

export type MemberConfig =
  | { name?: string; type: 'bm25'; k1?: number; b?: number; epsilon?: number; weight?: number }
  | { name?: string; type?: 'embedder'; embedder: EmbedderConfig; weight?: number };

export interface CommitteeConfig {
  members: MemberConfig[];
  /** Default `soft`. */
  voting?: VotingMethod;
}

/**
 * BM25Okapi member: the candidates are the corpus, the positive passage is the query.
 *
 * @example
 * await new Bm25Member().score([{ positive: 'a cat', candidates: ['a cat sat', 'a dog'] }])
 */
export class Bm25Member implements CommitteeMember {
  constructor(readonly name = 'bm25', private readonly options: { k1?: number; b?: number; epsilon?: number } = {}, readonly weight = 1) {}

  async score(items: readonly ScoringItem[]): Promise<number[][]> {
    return items.map(({ positive, candidates }) => new Bm25Okapi(candidates.map(bm25Tokenize), this.options).getScores(bm25Tokenize(positive)));
  }

  async close(): Promise<void> {}
}

/**
 * Dense member: cosine similarity x 100 between the positive passage and each candidate.
 *
 * @example
 * const member = new EmbedderMember('bge', await createEmbedder({ backend: 'openai', ... }));
 */
export class EmbedderMember implements CommitteeMember {
  constructor(readonly name: string, private readonly embedder: Embedder, readonly weight = 1) {}

  async score(items: readonly ScoringItem[]): Promise<number[][]> {
    // One embed call for the whole batch, each distinct text once.
    const texts = [...new Set(items.flatMap(({ positive, candidates }) => [positive, ...candidates]))];
    // Candidates are pseudo-passages compared with a passage: both sides embed as documents.
    const { vectors } = await this.embedder.embedDocuments(texts);
    const byText = new Map(texts.map((text, index) => [text, vectors[index]]));
    return items.map(({ positive, candidates }) => {
      const anchor = byText.get(positive) as Float32Array;
      return candidates.map((candidate) => 100 * cosine(anchor, byText.get(candidate) as Float32Array));
    });
  }

  async close(): Promise<void> {
    await this.embedder.close();
  }
}

/** Cosine similarity; 0 when either vector is zero (util/vectors), refusing vectors of different lengths. */
export function cosine(left: Float32Array, right: Float32Array): number {
  if (left.length !== right.length) throw new O1Error('SHAPE_MISMATCH', `vectors of lengths ${left.length} and ${right.length}`);
  return cosineSimilarity(left, right);
}

/** One member's validated config: every optional field resolved but `name` and the BM25 constants. */
type MemberSpec =
  | { type: 'bm25'; name?: string; weight: number; k1?: number; b?: number; epsilon?: number }
  | { type: 'embedder'; name?: string; weight: number; embedder: EmbedderConfig };

/**
 * Validates a committee config through {@link Settings}: a non-empty `members` list, `voting`
 * one of the methods, each member's fields typed, unknown keys refused; errors name the field
 * (`members[1].weight`).
 */
function parseCommitteeConfig(config: CommitteeConfig): MemberSpec[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new O1Error('BAD_ARGUMENT', 'a committee config must be a JSON object');
  const settings = new Settings(config, 'committee', { known: [] });
  // Read here only to be checked; voteRecords' caller applies it.
  settings.oneOf('voting', VOTING_METHODS, 'soft');
  const memberSettings = settings.sections('members');
  if (memberSettings.length === 0) settings.reject('members', 'a non-empty list of members ({"type":"bm25"} or {"embedder": {...}})');
  settings.rejectUnknown();
  return memberSettings.map((member): MemberSpec => {
    const type = member.oneOf('type', ['bm25', 'embedder'] as const, 'embedder');
    const name = member.optionalString('name');
    const weight = member.number('weight', 1);
    let spec: MemberSpec;
    if (type === 'bm25') {
      spec = { type, name, weight, k1: member.optionalNumber('k1', { minimum: 0 }), b: member.optionalNumber('b', { minimum: 0, maximum: 1 }), epsilon: member.optionalNumber('epsilon', { minimum: 0 }) };
    } else {
      const embedder = member.optionalObject('embedder');
      if (embedder === undefined) member.reject('embedder', 'an embedder config object (or set "type": "bm25")');
      spec = { type, name, weight, embedder: embedder as unknown as EmbedderConfig };
    }
    member.rejectUnknown();
    return spec;
  });
}

/**
 * Builds the members of a committee config (embedders through the backend registry).
 *
 * @example
 * const members = await createCommittee({ members: [{ type: 'bm25' }] });
 */
export async function createCommittee(config: CommitteeConfig): Promise<CommitteeMember[]> {
  // The whole config is checked (every member, unknown keys) before any embedder is started.
  const specs = parseCommitteeConfig(config);
  const members: CommitteeMember[] = [];
  try {
    for (const spec of specs) {
      if (spec.type === 'bm25') {
        members.push(new Bm25Member(spec.name ?? 'bm25', { k1: spec.k1, b: spec.b, epsilon: spec.epsilon }, spec.weight));
      } else {
        const embedder = await createEmbedder(spec.embedder);
        members.push(new EmbedderMember(spec.name ?? embedder.model, embedder, spec.weight));
      }
    }
  } catch (error) {
    await Promise.all(members.map((member) => member.close()));
    throw error;
  }
  const names = members.map((member) => member.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    await Promise.all(members.map((member) => member.close()));
    throw new O1Error('BAD_ARGUMENT', `two committee members are named "${duplicate}"`, { field: 'members' });
  }
  return members;
}
