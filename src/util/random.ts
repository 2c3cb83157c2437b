/**
 * Small seeded random numbers for reproducible sampling (not for cryptography).
 */

/**
 * mulberry32: a seeded generator of floats in [0, 1), the same sequence for the same seed.
 *
 * @example
 * const random = seededRandom(42); random() // 0.6011037519201636
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
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
