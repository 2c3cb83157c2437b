/**
 * GPT-2's byte-level alphabet: every byte maps to a printable Unicode character (space becomes
 * `Ġ`, newline `Ċ`), so byte-level BPE vocabularies are plain strings.
 */

let byteToChar: string[] | undefined;
let charToByte: Map<string, number> | undefined;

function build(): void {
  const printable: number[] = [];
  for (let byte = 0x21; byte <= 0x7e; byte++) printable.push(byte);
  for (let byte = 0xa1; byte <= 0xac; byte++) printable.push(byte);
  for (let byte = 0xae; byte <= 0xff; byte++) printable.push(byte);
  byteToChar = new Array<string>(256);
  charToByte = new Map();
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const codePoint = printable.includes(byte) ? byte : 256 + extra++;
    byteToChar[byte] = String.fromCodePoint(codePoint);
    charToByte.set(byteToChar[byte], byte);
  }
}

/**
 * The byte-level character of each byte (GPT-2's `bytes_to_unicode`).
 *
 * @example
 * bytesToUnicode()[0x20] // 'Ġ'
 */
export function bytesToUnicode(): readonly string[] {
  if (byteToChar === undefined) build();
  return byteToChar as string[];
}

/** UTF-8 text -> its byte-level string. */
export function toByteLevel(text: string): string {
  const table = bytesToUnicode();
  let result = '';
  for (const byte of new TextEncoder().encode(text)) result += table[byte];
  return result;
}

/** Byte-level string -> UTF-8 text (characters outside the alphabet are dropped). */
export function fromByteLevel(text: string): string {
  if (charToByte === undefined) build();
  const bytes: number[] = [];
  for (const character of text) {
    const byte = (charToByte as Map<string, number>).get(character);
    if (byte !== undefined) bytes.push(byte);
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** GPT-2's pre-tokenisation pattern (what llama.cpp calls pre-tokenizer `gpt-2`). */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
