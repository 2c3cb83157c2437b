/**
 * Float conversions between float32 and the 16-bit formats stored in model files (IEEE half and
 * bfloat16). Node 20 has no Float16Array, so these work on raw bits; both directions round to
 * nearest, ties to even, as PyTorch and ggml do.
 */

const floatScratch = new Float32Array(1);
const bitsScratch = new Uint32Array(floatScratch.buffer);

/**
 * IEEE half bits of a float32 value (round to nearest even; overflow gives infinity).
 *
 * @example
 * float32ToFloat16Bits(1) // 0x3c00
 */
export function float32ToFloat16Bits(value: number): number {
  floatScratch[0] = value;
  const bits = bitsScratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half: shift the mantissa (with its implicit bit) into the 10-bit field.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

let halfTable: Float32Array | undefined;

/**
 * Float32 value of IEEE half bits (exact: every half is a float32).
 *
 * @example
 * float16BitsToFloat32(0x3c00) // 1
 */
export function float16BitsToFloat32(bits: number): number {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let value = 0; value < 65536; value++) halfTable[value] = decodeHalf(value);
  }
  return halfTable[bits & 0xffff];
}

function decodeHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * bfloat16 bits of a float32 value (round to nearest even; NaN stays NaN).
 *
 * @example
 * float32ToBfloat16Bits(1) // 0x3f80
 */
export function float32ToBfloat16Bits(value: number): number {
  floatScratch[0] = value;
  const bits = bitsScratch[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Float32 value of bfloat16 bits (exact).
 *
 * @example
 * bfloat16BitsToFloat32(0x3f80) // 1
 */
export function bfloat16BitsToFloat32(bits: number): number {
  bitsScratch[0] = (bits & 0xffff) << 16;
  return floatScratch[0];
}

/** Little-endian float32 bytes -> Float32Array (copies, so the result is aligned). */
export function decodeFloat32(bytes: Uint8Array): Float32Array {
  const result = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(result.buffer).set(bytes);
  return result;
}

/** Little-endian IEEE half bytes -> Float32Array. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength / 2;
  const result = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    result[index] = float16BitsToFloat32(bytes[2 * index] | (bytes[2 * index + 1] << 8));
  }
  return result;
}

/** Little-endian bfloat16 bytes -> Float32Array. */
export function decodeBfloat16(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength / 2;
  const result = new Float32Array(count);
  const bits = new Uint32Array(result.buffer);
  for (let index = 0; index < count; index++) {
    bits[index] = ((bytes[2 * index] | (bytes[2 * index + 1] << 8)) << 16) >>> 0;
  }
  return result;
}

/** Float32Array -> little-endian float32 bytes (a copy). */
export function encodeFloat32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.slice().buffer);
}

/** Float32Array -> little-endian IEEE half bytes. */
export function encodeFloat16(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 2);
  for (let index = 0; index < values.length; index++) {
    const half = float32ToFloat16Bits(values[index]);
    bytes[2 * index] = half & 0xff;
    bytes[2 * index + 1] = half >>> 8;
  }
  return bytes;
}

/** Float32Array -> little-endian bfloat16 bytes. */
export function encodeBfloat16(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 2);
  for (let index = 0; index < values.length; index++) {
    const half = float32ToBfloat16Bits(values[index]);
    bytes[2 * index] = half & 0xff;
    bytes[2 * index + 1] = half >>> 8;
  }
  return bytes;
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}
