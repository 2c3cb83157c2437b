/**
 * Seeded random numbers for reproducible sampling, initialisation and tests (not for
 * cryptography): the same seed gives the same numbers on every platform.
 */

/** One mulberry32 step: the next state and its output in [0, 1). */
function mulberry32(state: number): { state: number; value: number } {
  const next = (state + 0x6d2b79f5) >>> 0;
  let value = next;
  value = Math.imul(value ^ (value >>> 15), value | 1);
  value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
  return { state: next, value: ((value ^ (value >>> 14)) >>> 0) / 4294967296 };
}

/**
 * mulberry32: a seeded generator of floats in [0, 1), the same sequence for the same seed.
 *
 * @example
 * const random = seededRandom(42); random() // 0.6011037519201636
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    const step = mulberry32(state);
    state = step.state;
    return step.value;
  };
}

/**
 * A seeded generator with normals (mulberry32 for uniforms, Box-Muller for normals), for weight
 * initialisation, sampling and gradient checks. Its uniform stream is `seededRandom`'s for the
 * seed XOR 0x9e3779b9 (so that seed 0 does not start from state 0).
 *
 * @example
 * const random = new SeededRandom(42);
 * const weights = random.normalArray(16, 0.02);
 */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** A uniform number in [0, 1). */
  uniform(): number {
    const step = mulberry32(this.state);
    this.state = step.state;
    return step.value;
  }

  /** A standard normal number. */
  normal(): number {
    if (this.spare !== undefined) {
      const spare = this.spare;
      this.spare = undefined;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** An integer in [0, bound). */
  integer(bound: number): number {
    return Math.floor(this.uniform() * bound);
  }

  /** `count` normal numbers with the given standard deviation (default 1) as float32. */
  normalArray(count: number, standardDeviation = 1): Float32Array {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) values[index] = this.normal() * standardDeviation;
    return values;
  }
}

/**
 * Mixes integers into one 32-bit seed (FNV-1a over their 32-bit words), so that every
 * (seed, record, candidate, attempt) tuple gets its own independent stream.
 *
 * @example
 * deriveSeed(42, 7, 1) // a fixed unsigned 32-bit integer
 */
export function deriveSeed(...parts: number[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    let word = part >>> 0;
    for (let byte = 0; byte < 4; byte++) {
      hash ^= word & 0xff;
      hash = Math.imul(hash, 0x01000193) >>> 0;
      word >>>= 8;
    }
  }
  return hash >>> 0;
}

/**
 * A seeded permutation of 0..count-1 (Fisher-Yates): the same seed gives the same order.
 *
 * @example
 * permutation(4, 7) // e.g. [2, 0, 3, 1]
 */
export function permutation(count: number, seed: number): number[] {
  const random = seededRandom(seed);
  const order = Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other], order[index]];
  }
  return order;
}
