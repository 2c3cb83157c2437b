/**
 * Lucene's `SmallFloat.intToByte4` / `byte4ToInt`: document lengths squeezed into one byte, as
 * Lucene 8+ stores BM25 norms. Lengths 0..23 are exact; above, a 4-significant-bit float keeps
 * the order but rounds down (e.g. 100 -> 96, 1000 -> 984).
 */

/** Lucene's `longToInt4`: keeps the 4 most significant bits and the shift. */
function longToInt4(value: number): number {
  const bitCount = 32 - Math.clz32(value);
  if (bitCount < 4) return value; // subnormal
  const shift = bitCount - 4;
  // Drop the implicit leading bit, then store shift + 1 (0 is kept for subnormals).
  return ((value >>> shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(encoded: number): number {
  const bits = encoded & 0x07;
  const shift = (encoded >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

/** 24: the byte values that encode themselves (255 minus the largest int4 code, 231). */
const FREE_VALUES = 255 - longToInt4(0x7fffffff);

/**
 * Encodes a non-negative length into a byte (0..255).
 *
 * @example
 * intToByte4(100) // 57, which decodes to 96
 */
export function intToByte4(length: number): number {
  return length < FREE_VALUES ? length : FREE_VALUES + longToInt4(length - FREE_VALUES);
}

/**
 * Decodes a byte from {@link intToByte4}.
 *
 * @example
 * byte4ToInt(intToByte4(100)) // 96
 */
export function byte4ToInt(encoded: number): number {
  return encoded < FREE_VALUES ? encoded : FREE_VALUES + int4ToLong(encoded - FREE_VALUES);
}

/** Lucene's `BM25Similarity.LENGTH_TABLE`: the decoded length of each norm byte. */
export const LENGTH_TABLE: Float64Array = Float64Array.from({ length: 256 }, (_, encoded) => byte4ToInt(encoded));
