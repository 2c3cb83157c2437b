/** Building a {@link Tokenizer} from the vocabulary a GGUF file carries. */
import { O1Error } from '../errors.js';
import type { GgufMetadataValue } from '../util/gguf-container.js';
import { BYTE_LEVEL_PRE_TOKENIZER, byteLevelBpeJson, HuggingFaceTokenizer, type AddedTokenJson, type TokenizerJson } from './huggingface.js';
import { SentencePieceBpeTokenizer } from './sentencepiece-bpe.js';
import { GGUF_TOKEN_TYPE, type GgufTokenizerMetadata, type Tokenizer } from './types.js';

const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * A tokenizer for a GGUF vocabulary: `llama` -> {@link SentencePieceBpeTokenizer}; `gpt2` -> a
 * byte-level {@link HuggingFaceTokenizer} whose pre-tokenizer follows `tokenizer.ggml.pre`
 * (`qwen2`, `llama-bpe`/`llama3`; anything else uses GPT-2's regex).
 *
 * @example
 * const { tokenizer: metadata } = await readGguf('model.gguf')
 * const tokenizer = tokenizerFromGgufMetadata(metadata!)
 */
export function tokenizerFromGgufMetadata(metadata: GgufTokenizerMetadata): Tokenizer {
  if (metadata.model === 'llama') return SentencePieceBpeTokenizer.fromGgufMetadata(metadata);
  return HuggingFaceTokenizer.fromJsonFiles(ggufToTokenizerJson(metadata));
}

/**
 * The `tokenizer.json` / `tokenizer_config.json` pair equivalent to a GGUF `gpt2` vocabulary
 * (for `o1e convert x.gguf --to safetensors`).
 */
export function ggufToTokenizerJson(metadata: GgufTokenizerMetadata): { tokenizer: TokenizerJson; config: Record<string, unknown> } {
  if (metadata.model !== 'gpt2') throw new O1Error('CORRUPT_TOKENIZER', `GGUF tokenizer model ${metadata.model} is not byte-level BPE`);
  const vocab: Record<string, number> = {};
  const added: AddedTokenJson[] = [];
  metadata.tokens.forEach((token, id) => {
    const type = metadata.tokenTypes[id];
    if (type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.userDefined) {
      added.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === GGUF_TOKEN_TYPE.control });
    } else if (vocab[token] === undefined) {
      vocab[token] = id;
    }
  });
  const pattern = metadata.pre === 'qwen2' ? QWEN2_PATTERN : metadata.pre === 'llama-bpe' || metadata.pre === 'llama3' ? LLAMA3_PATTERN : undefined;
  const preTokenizer =
    pattern === undefined
      ? BYTE_LEVEL_PRE_TOKENIZER
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
          ],
        };
  const bos = metadata.bosTokenId === undefined ? undefined : metadata.tokens[metadata.bosTokenId];
  const tokenizer = byteLevelBpeJson({
    vocab,
    merges: (metadata.merges ?? []).map((merge): [string, string] => {
      const space = merge.indexOf(' ');
      return [merge.slice(0, space), merge.slice(space + 1)];
    }),
    addedTokens: added,
    preTokenizer,
    bos: metadata.addBosToken === true && bos !== undefined && metadata.bosTokenId !== undefined ? { token: bos, id: metadata.bosTokenId } : undefined,
  });
  const text = (id: number | undefined) => (id === undefined ? null : (metadata.tokens[id] ?? null));
  const config: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: text(metadata.bosTokenId),
    eos_token: text(metadata.eosTokenId),
    pad_token: text(metadata.paddingTokenId),
    unk_token: text(metadata.unknownTokenId),
    add_bos_token: metadata.addBosToken === true,
    add_eos_token: metadata.addEosToken === true,
    clean_up_tokenization_spaces: false,
  };
  if (metadata.chatTemplate !== undefined) config.chat_template = metadata.chatTemplate;
  return { tokenizer, config };
}

/**
 * The `tokenizer.ggml.*` metadata as a {@link GgufTokenizerMetadata} (undefined when absent).
 *
 * @example
 * const vocabulary = tokenizerMetadataFromGguf((await readGgufHeader('model.gguf')).metadata)
 */
export function tokenizerMetadataFromGguf(metadata: Map<string, GgufMetadataValue>, file = 'model.gguf'): GgufTokenizerMetadata | undefined {
  const model = metadata.get('tokenizer.ggml.model');
  if (model === undefined) return undefined;
  if (model !== 'llama' && model !== 'gpt2') {
    throw new O1Error('CORRUPT_TOKENIZER', `tokenizer model ${String(model)} is not supported (llama, gpt2)`, { file, field: 'tokenizer.ggml.model' });
  }
  const tokens = metadata.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens) || !tokens.every((token) => typeof token === 'string')) {
    throw new O1Error('CORRUPT_TOKENIZER', 'tokenizer.ggml.tokens is missing', { file, field: 'tokenizer.ggml.tokens' });
  }
  const numbers = (key: string) => {
    const value = metadata.get(key);
    return Array.isArray(value) ? value.map(Number) : undefined;
  };
  const id = (key: string) => {
    const value = metadata.get(`tokenizer.ggml.${key}`);
    return typeof value === 'number' ? value : undefined;
  };
  const flag = (key: string) => {
    const value = metadata.get(`tokenizer.ggml.${key}`);
    return typeof value === 'boolean' ? value : undefined;
  };
  const merges = metadata.get('tokenizer.ggml.merges');
  const pre = metadata.get('tokenizer.ggml.pre');
  const template = metadata.get('tokenizer.chat_template');
  return {
    model,
    pre: typeof pre === 'string' ? pre : undefined,
    tokens: tokens as string[],
    scores: numbers('tokenizer.ggml.scores'),
    tokenTypes: numbers('tokenizer.ggml.token_type') ?? tokens.map(() => GGUF_TOKEN_TYPE.normal),
    merges: Array.isArray(merges) ? (merges as string[]) : undefined,
    bosTokenId: id('bos_token_id'),
    eosTokenId: id('eos_token_id'),
    unknownTokenId: id('unknown_token_id'),
    paddingTokenId: id('padding_token_id'),
    addBosToken: flag('add_bos_token'),
    addEosToken: flag('add_eos_token'),
    addSpacePrefix: flag('add_space_prefix'),
    chatTemplate: typeof template === 'string' ? template : undefined,
  };
}
