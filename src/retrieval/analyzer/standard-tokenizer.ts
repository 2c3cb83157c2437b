/**
 * A re-implementation of Lucene's `StandardTokenizer`: Unicode UAX#29 word boundaries as
 * Lucene's JFlex grammar applies them, emitting only the segments Lucene emits.
 *
 * - Words are runs of letters and digits joined by the UAX#29 rules: `MidLetter` (`:` `·`),
 *   `MidNumLet` (`.` `’`), `'` between letters or between digits, `MidNum` (`,` `;`) between
 *   digits, and `ExtendNumLet` (`_`) anywhere in or around a word: "don't", "3.14", "1,000",
 *   "U.S.A" (the final "." is not inside) and "snake_case" are single tokens.
 * - Each Han ideograph and each Hiragana character is a token of its own; Katakana runs and
 *   South-East Asian runs (Thai, Lao, Myanmar, Khmer...) are one token each, since Lucene's
 *   grammar has no dictionary.
 * - Emoji (Unicode `Emoji` characters other than digits, `#`, `*`, regional indicators and
 *   modifiers; with their ZWJ sequences), flag pairs and keycaps are tokens, as in Lucene 7+:
 *   "©" and "®" are tokens.
 * - Combining marks, format characters and ZWJ stick to the preceding character (UAX#29 WB4).
 * - Tokens longer than 255 UTF-16 units are chopped into 255-unit pieces, as Lucene's scanner
 *   buffer does.
 *
 * A hand-written scanner rather than `Intl.Segmenter`: the latter is ICU, whose root rules drop
 * `:` from MidLetter, segment CJK and Thai with dictionaries, and is about 10x slower.
 */

/** Lucene's default `StandardTokenizer.setMaxTokenLength`. */
export const MAX_TOKEN_LENGTH = 255;

// Word_Break classes, reduced to what the grammar distinguishes. 0 means "not yet classified".
const OTHER = 1;
const ALETTER = 2;
const HEBREW = 3;
const NUMERIC = 4;
const KATAKANA = 5;
const EXTEND_NUM_LET = 6;
const MID_LETTER = 7;
const MID_NUM_LET = 8;
const MID_NUM = 9;
const SINGLE_QUOTE = 10;
const DOUBLE_QUOTE = 11;
const EXTEND = 12; // Extend and Format: attach to the previous character
const ZWJ = 13;
const HAN = 14;
const HIRAGANA = 15;
const COMPLEX = 16; // Line_Break=Complex_Context (South-East Asian scripts)
const EMOJI = 17;
const REGIONAL = 18;

const ASCII_CLASSES = new Uint8Array(128).fill(OTHER);
for (let code = 48; code <= 57; code++) ASCII_CLASSES[code] = NUMERIC;
for (let code = 65; code <= 90; code++) ASCII_CLASSES[code] = ALETTER;
for (let code = 97; code <= 122; code++) ASCII_CLASSES[code] = ALETTER;
ASCII_CLASSES[0x5f] = EXTEND_NUM_LET; // _
ASCII_CLASSES[0x3a] = MID_LETTER; // :
ASCII_CLASSES[0x2e] = MID_NUM_LET; // .
ASCII_CLASSES[0x2c] = MID_NUM; // ,
ASCII_CLASSES[0x3b] = MID_NUM; // ;
ASCII_CLASSES[0x27] = SINGLE_QUOTE; // '
ASCII_CLASSES[0x22] = DOUBLE_QUOTE; // "

const MID_LETTER_SET = new Set([0x00b7, 0x0387, 0x055f, 0x05f4, 0x2027, 0xfe13, 0xfe55, 0xff1a]);
const MID_NUM_LET_SET = new Set([0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e]);
const MID_NUM_SET = new Set([0x037e, 0x0589, 0x060c, 0x060d, 0x066c, 0x07f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54, 0xff0c, 0xff1b]);
// Format characters that are Grapheme_Cluster_Break=Prepend, hence not WB Format.
const PREPEND_FORMAT = new Set([0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06dd, 0x070f, 0x0890, 0x0891, 0x08e2, 0x110bd, 0x110cd]);
// Non-alphabetic characters that UAX#29 still lists as ALetter (modifier letters and the like).
const EXTRA_ALETTER = [
  [0x02c2, 0x02c5], [0x02d2, 0x02d7], [0x02de, 0x02df], [0x02e5, 0x02eb], [0x02ed, 0x02ed], [0x02ef, 0x02ff],
  [0x055a, 0x055c], [0x055e, 0x055e], [0x058a, 0x058a], [0x05f3, 0x05f3], [0xa708, 0xa716], [0xa720, 0xa721],
  [0xa789, 0xa78a], [0xab5b, 0xab5b],
] as const;

const EXTEND_PATTERN = /^[\p{Grapheme_Extend}\p{Mc}\p{Emoji_Modifier}]$/u;
const FORMAT_PATTERN = /^\p{Cf}$/u;
const KATAKANA_PATTERN = /^\p{Script=Katakana}$/u;
const HIRAGANA_PATTERN = /^\p{Script=Hiragana}$/u;
const HAN_PATTERN = /^\p{Script=Han}$/u;
const COMPLEX_PATTERN =
  /^[\p{Script=Thai}\p{Script=Lao}\p{Script=Myanmar}\p{Script=Khmer}\p{Script=Tai_Le}\p{Script=New_Tai_Lue}\p{Script=Tai_Tham}\p{Script=Tai_Viet}\p{Script=Ahom}]$/u;
const LETTER_OR_MARK_PATTERN = /^[\p{L}\p{M}]$/u;
const HEBREW_LETTER_PATTERN = /^(?=\p{Script=Hebrew})\p{Lo}$/u;
const IDEOGRAPHIC_PATTERN = /^\p{Ideographic}$/u;
const ALPHABETIC_PATTERN = /^\p{Alphabetic}$/u;
const NUMERIC_PATTERN = /^\p{Nd}$/u;
const EMOJI_PATTERN = /^\p{Emoji}$/u;

// One byte per code point, filled lazily: text is mostly ASCII, so few entries are ever computed.
let unicodeClasses: Uint8Array | undefined;

function classifyCodePoint(codePoint: number): number {
  if (codePoint === 0x200d) return ZWJ;
  if (MID_LETTER_SET.has(codePoint)) return MID_LETTER;
  if (MID_NUM_LET_SET.has(codePoint)) return MID_NUM_LET;
  if (MID_NUM_SET.has(codePoint)) return MID_NUM;
  if (codePoint === 0x202f) return EXTEND_NUM_LET;
  if (codePoint >= 0x1f1e6 && codePoint <= 0x1f1ff) return REGIONAL;
  if (codePoint === 0x066b) return NUMERIC;
  if ((codePoint >= 0x3031 && codePoint <= 0x3035) || codePoint === 0x309b || codePoint === 0x309c || codePoint === 0x30a0 ||
    codePoint === 0x30fc || codePoint === 0xff70) return KATAKANA;
  const character = String.fromCodePoint(codePoint);
  if (COMPLEX_PATTERN.test(character) && LETTER_OR_MARK_PATTERN.test(character)) return COMPLEX;
  if (codePoint === 0x200c || EXTEND_PATTERN.test(character)) return EXTEND;
  if (FORMAT_PATTERN.test(character)) return codePoint === 0x200b || PREPEND_FORMAT.has(codePoint) ? OTHER : EXTEND;
  if (KATAKANA_PATTERN.test(character)) return KATAKANA;
  if (HIRAGANA_PATTERN.test(character)) return HIRAGANA;
  if (HAN_PATTERN.test(character)) return HAN;
  if (/^\p{Pc}$/u.test(character)) return EXTEND_NUM_LET;
  if (HEBREW_LETTER_PATTERN.test(character)) return HEBREW;
  if (IDEOGRAPHIC_PATTERN.test(character)) return OTHER;
  if (ALPHABETIC_PATTERN.test(character)) return ALETTER;
  for (const [low, high] of EXTRA_ALETTER) if (codePoint >= low && codePoint <= high) return ALETTER;
  if (NUMERIC_PATTERN.test(character)) return NUMERIC;
  if (EMOJI_PATTERN.test(character)) return EMOJI;
  return OTHER;
}

function unicodeClass(codePoint: number): number {
  unicodeClasses ??= new Uint8Array(0x110000);
  let wordClass = unicodeClasses[codePoint];
  if (wordClass === 0) {
    wordClass = classifyCodePoint(codePoint);
    unicodeClasses[codePoint] = wordClass;
  }
  return wordClass;
}

/**
 * Calls `visit(start, end)` for each token of `text`, in order (`end` exclusive, UTF-16
 * offsets). The allocation-free core of {@link tokenize}.
 */
export function scanTokens(text: string, visit: (start: number, end: number) => void): void {
  const length = text.length;
  // Class and width of the character at `position`, left in these two variables.
  let characterClass = OTHER;
  let width = 1;
  const read = (position: number): void => {
    const code = text.charCodeAt(position);
    if (code < 128) {
      characterClass = ASCII_CLASSES[code];
      width = 1;
      return;
    }
    const codePoint = text.codePointAt(position)!;
    width = codePoint > 0xffff ? 2 : 1;
    characterClass = unicodeClass(codePoint);
  };
  // Position after any Extend/Format/ZWJ characters starting at `position` (WB4).
  const skipExtend = (position: number): number => {
    while (position < length) {
      const code = text.charCodeAt(position);
      if (code < 128) return position;
      read(position);
      if (characterClass !== EXTEND && characterClass !== ZWJ) return position;
      position += width;
    }
    return position;
  };
  const emit = (start: number, end: number): number => {
    if (end - start <= MAX_TOKEN_LENGTH) {
      visit(start, end);
      return end;
    }
    // Lucene's scanner buffer holds 255 units: it emits them and rescans from there.
    visit(start, start + MAX_TOKEN_LENGTH);
    return start + MAX_TOKEN_LENGTH;
  };

  let position = 0;
  while (position < length) {
    read(position);
    const start = position;
    switch (characterClass) {
      case ALETTER:
      case HEBREW:
      case NUMERIC:
      case KATAKANA:
      case EXTEND_NUM_LET: {
        let last: number = characterClass;
        let hasCore = last !== EXTEND_NUM_LET;
        let end = skipExtend(position + width);
        for (;;) {
          if (end >= length) break;
          read(end);
          const next = characterClass;
          const nextWidth = width;
          let join = false;
          if (next === ALETTER || next === HEBREW || next === NUMERIC) {
            join = last !== KATAKANA && last !== SINGLE_QUOTE; // WB5, WB8-10, WB13b
          } else if (next === KATAKANA) {
            join = last === KATAKANA || last === EXTEND_NUM_LET; // WB13, WB13b
          } else if (next === EXTEND_NUM_LET) {
            join = last !== SINGLE_QUOTE; // WB13a
          } else if (next === MID_LETTER || next === MID_NUM_LET || next === SINGLE_QUOTE || next === MID_NUM || next === DOUBLE_QUOTE) {
            const afterMiddle = skipExtend(end + nextWidth);
            let following = OTHER;
            if (afterMiddle < length) {
              read(afterMiddle);
              following = characterClass;
            }
            const letterBefore = last === ALETTER || last === HEBREW;
            if (letterBefore && (following === ALETTER || following === HEBREW) &&
              (next === MID_LETTER || next === MID_NUM_LET || next === SINGLE_QUOTE)) {
              end = skipExtend(afterMiddle + width); // WB6, WB7
              last = following;
              continue;
            }
            if (last === NUMERIC && following === NUMERIC && (next === MID_NUM || next === MID_NUM_LET || next === SINGLE_QUOTE)) {
              end = skipExtend(afterMiddle + width); // WB11, WB12
              continue;
            }
            if (last === HEBREW && next === DOUBLE_QUOTE && following === HEBREW) {
              end = skipExtend(afterMiddle + width); // WB7b, WB7c
              continue;
            }
            if (last === HEBREW && next === SINGLE_QUOTE) {
              end = afterMiddle; // WB7a: the quote stays in the token
              last = SINGLE_QUOTE;
              continue;
            }
          }
          if (!join) break;
          if (next !== EXTEND_NUM_LET) hasCore = true;
          last = next;
          end = skipExtend(end + nextWidth);
        }
        position = hasCore ? emit(start, end) : end;
        break;
      }
      case HAN:
      case HIRAGANA:
        position = emit(start, skipExtend(position + width));
        break;
      case COMPLEX: {
        let end = position + width;
        while (end < length) {
          read(end);
          if (characterClass !== COMPLEX && characterClass !== EXTEND && characterClass !== ZWJ) break;
          end += width;
        }
        position = emit(start, end);
        break;
      }
      case EMOJI: {
        let end = skipExtend(position + width);
        // ZWJ sequences (WB3c): emoji ZWJ emoji ... is one token.
        while (end < length && text.charCodeAt(end - 1) === 0x200d) {
          read(end);
          if (characterClass !== EMOJI) break;
          end = skipExtend(end + width);
        }
        position = emit(start, end);
        break;
      }
      case REGIONAL: {
        let end = skipExtend(position + width);
        if (end < length) {
          read(end);
          if (characterClass === REGIONAL) end = skipExtend(end + width); // a flag is a pair
        }
        position = emit(start, end);
        break;
      }
      default: {
        // Keycap sequences: # or * (then an optional VS16) then U+20E3.
        const code = text.charCodeAt(position);
        if (code === 0x23 || code === 0x2a) {
          let next = position + 1;
          if (text.charCodeAt(next) === 0xfe0f) next++;
          if (text.charCodeAt(next) === 0x20e3) {
            position = emit(start, skipExtend(next + 1));
            break;
          }
        }
        position += width;
      }
    }
  }
}

/**
 * Splits text into Lucene `StandardTokenizer` tokens (original case, no filtering).
 *
 * @example
 * tokenize("Don't panic: 3.14 U.S.A. e-mail") // ["Don't", 'panic', '3.14', 'U.S.A', 'e', 'mail']
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  scanTokens(text, (start, end) => tokens.push(text.slice(start, end)));
  return tokens;
}
