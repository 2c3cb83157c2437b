/**
 * A minimal protocol-buffers writer: just the wire types ONNX needs (varint, 64-bit, length-delimited,
 * 32-bit). Written here because the only consumer is our ONNX serialiser and a dependency for
 * a few dozen lines is not worth it.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();

/**
 * Appends protobuf fields to a growing byte buffer.
 *
 * @example
 * const writer = new ProtoWriter();
 * writer.int64Field(1, 8);
 * writer.stringField(2, 'o1-embedder');
 * const bytes = writer.finish();
 */
export class ProtoWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** Writes an unsigned varint; negative numbers are written as 64-bit two's complement (10 bytes), as protobuf does for int64. */
  varint(value: number | bigint): void {
    let remaining = typeof value === 'bigint' ? BigInt.asUintN(64, value) : value >= 0 && Number.isSafeInteger(value) ? value : BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    if (typeof remaining === 'number') {
      while (remaining >= 0x80) {
        this.buffer[this.length++] = (remaining % 0x80) | 0x80;
        remaining = Math.floor(remaining / 0x80);
      }
      this.buffer[this.length++] = remaining;
      return;
    }
    while (remaining >= 0x80n) {
      this.buffer[this.length++] = Number(remaining & 0x7fn) | 0x80;
      remaining >>= 7n;
    }
    this.buffer[this.length++] = Number(remaining);
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** An int32/int64/enum/bool field (varint). */
  int64Field(field: number, value: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  /** A float field (fixed32). */
  floatField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buffer.buffer, this.buffer.byteOffset).setFloat32(this.length, value, true);
    this.length += 4;
  }

  /** A double field (fixed64). */
  doubleField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.reserve(8);
    new DataView(this.buffer.buffer, this.buffer.byteOffset).setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** A bytes field. */
  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(bytes.length);
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** A string field (UTF-8). */
  stringField(field: number, text: string): void {
    this.bytesField(field, textEncoder.encode(text));
  }

  /** A packed repeated varint field (int64s). */
  packedInt64Field(field: number, values: readonly (number | bigint)[]): void {
    const inner = new ProtoWriter();
    for (const value of values) inner.varint(value);
    this.bytesField(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloatField(field: number, values: readonly number[]): void {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((value, index) => view.setFloat32(index * 4, value, true));
    this.bytesField(field, bytes);
  }

  /** An embedded message, written by `write` into its own buffer first (so its length is known). */
  messageField(field: number, write: (writer: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.bytesField(field, inner.finish());
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
