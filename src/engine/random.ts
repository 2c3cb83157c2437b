/** Deterministic pseudo-random numbers for weight initialisation and tests. */

/**
 * A seeded generator (mulberry32 for uniforms, Box-Muller for normals): the same seed gives the
 * same numbers on every platform.
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
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
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
