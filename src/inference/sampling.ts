/**
 * Next-token selection on host logits: greedy, temperature and nucleus (top-p) sampling with a
 * seeded generator, applied in Hugging Face's order (temperature first, then top-p).
 */
import { SeededRandom } from '../util/random.js';
import { argmax } from '../util/vectors.js';
import { O1Error } from '../errors.js';

export { argmax } from '../util/vectors.js';

/** How to pick the next token. */
export interface SamplingOptions {
  /** Always take the most likely token (ties: the lowest id). Default false. */
  greedy?: boolean;
  /**
   * Softmax temperature. Default 0.1 (O1 Embedder's thought sampling). 0 means greedy.
   */
  temperature?: number;
  /** Nucleus mass: sample among the most likely tokens whose probabilities sum to at least this. Default 0.9. 1 disables it. */
  topP?: number;
}

/** The sampling defaults of O1 Embedder's thought generation (o1-method.md §3). */
export const DEFAULT_SAMPLING = { temperature: 0.1, topP: 0.9 } as const;

/** Checks sampling options, throwing BAD_ARGUMENT for out-of-range values. */
export function checkSamplingOptions(options: SamplingOptions): void {
  const temperature = options.temperature ?? DEFAULT_SAMPLING.temperature;
  const topP = options.topP ?? DEFAULT_SAMPLING.topP;
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new O1Error('BAD_ARGUMENT', `temperature must be >= 0, got ${temperature}`, { field: 'temperature' });
  if (!(topP > 0 && topP <= 1)) throw new O1Error('BAD_ARGUMENT', `top-p must be in (0, 1], got ${topP}`, { field: 'topP' });
}

/**
 * The probabilities the sampler draws from: softmax(logits / temperature), then restricted to the
 * nucleus (the smallest set of most likely tokens whose mass reaches `topP`, ties broken by
 * lower id) and renormalised. Tokens outside the nucleus get 0. Exposed for tests.
 *
 * @example
 * samplingDistribution(new Float32Array([2, 1, 0]), { temperature: 1, topP: 0.5 }) // [1, 0, 0]
 */
export function samplingDistribution(logits: ArrayLike<number>, options: SamplingOptions = {}, offset = 0, length = logits.length - offset): Float64Array {
  const temperature = options.temperature ?? DEFAULT_SAMPLING.temperature;
  const topP = options.topP ?? DEFAULT_SAMPLING.topP;
  const probabilities = new Float64Array(length);
  if (options.greedy === true || temperature === 0) {
    probabilities[argmax(logits, offset, length)] = 1;
    return probabilities;
  }
  let maximum = -Infinity;
  for (let index = 0; index < length; index++) maximum = Math.max(maximum, logits[offset + index]);
  let sum = 0;
  for (let index = 0; index < length; index++) {
    const value = Math.exp((logits[offset + index] - maximum) / temperature);
    probabilities[index] = value;
    sum += value;
  }
  let top = 0;
  for (let index = 0; index < length; index++) {
    probabilities[index] /= sum;
    top = Math.max(top, probabilities[index]);
  }
  if (topP >= 1) return probabilities;
  // Exact nucleus in O(vocab): histogram the candidates by probability into 256 buckets, keep
  // every bucket above the one where the mass crosses topP, and recurse into that bucket until
  // few candidates remain; only those are sorted (probability descending, then id).
  const kept = new Uint8Array(length);
  let candidates = new Int32Array(length);
  for (let index = 0; index < length; index++) candidates[index] = index;
  let above = 0;
  let low = 0;
  let high = top;
  const bucketMass = new Float64Array(256);
  const bucketOf = new Uint8Array(length);
  while (candidates.length > 64 && high > low) {
    const width = (high - low) / 256;
    bucketMass.fill(0);
    for (const index of candidates) {
      const bucket = Math.max(0, Math.min(255, Math.floor((probabilities[index] - low) / width)));
      bucketOf[index] = bucket;
      bucketMass[bucket] += probabilities[index];
    }
    let boundary = 0;
    for (let bucket = 255; bucket >= 0; bucket--) {
      if (above + bucketMass[bucket] >= topP) {
        boundary = bucket;
        break;
      }
      if (bucket === 0) break;
      above += bucketMass[bucket];
    }
    let remaining = 0;
    for (const index of candidates) {
      if (bucketOf[index] > boundary) kept[index] = 1;
      else if (bucketOf[index] === boundary) candidates[remaining++] = index;
    }
    if (remaining === candidates.length) break;
    candidates = candidates.subarray(0, remaining);
    low += boundary * width;
    high = low + width;
  }
  const ordered = Array.from(candidates).sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  let mass = above;
  let keptCount = 0;
  for (let index = 0; index < length; index++) keptCount += kept[index];
  for (const index of ordered) {
    if (keptCount > 0 && mass >= topP) break;
    kept[index] = 1;
    keptCount++;
    mass += probabilities[index];
  }
  let keptMass = 0;
  for (let index = 0; index < length; index++) if (kept[index] === 1) keptMass += probabilities[index];
  for (let index = 0; index < length; index++) probabilities[index] = kept[index] === 1 ? probabilities[index] / keptMass : 0;
  return probabilities;
}

/**
 * Picks the next token from one row of logits (`logits[offset, offset + length)`): greedy when
 * `greedy` or temperature 0, else one draw from {@link samplingDistribution} with `random`.
 *
 * @example
 * const random = new SeededRandom(7);
 * sampleToken(new Float32Array([0, 5, 1]), { temperature: 1, topP: 0.9 }, random) // 1 (most of the time)
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, random: SeededRandom, offset = 0, length = logits.length - offset): number {
  if (options.greedy === true || (options.temperature ?? DEFAULT_SAMPLING.temperature) === 0) return argmax(logits, offset, length);
  const probabilities = samplingDistribution(logits, options, offset, length);
  const draw = random.uniform();
  let cumulative = 0;
  let last = 0;
  for (let index = 0; index < length; index++) {
    if (probabilities[index] === 0) continue;
    last = index;
    cumulative += probabilities[index];
    if (draw < cumulative) return index;
  }
  return last;
}

export { SeededRandom };
