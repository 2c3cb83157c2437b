import { O1Error } from '../../errors.js';
import { loadModelFiles } from '../../inference/load.js';
import { writeGguf, type GgufTensorType } from '../../model/formats/gguf.js';
import { hasO1Tokens } from '../../o1/layout.js';
import { saveHuggingFaceModel, type SafetensorsDataType } from '../../model/formats/safetensors.js';
import { HuggingFaceTokenizer, SentencePieceBpeTokenizer, ggufToTokenizerJson } from '../../tokenizer/index.js';
import type { Command } from '../command.js';
import { parseCommandLine } from '../arguments.js';

const USAGE = `usage: o1e convert SRC --to gguf|safetensors --out PATH [--dtype f32|f16|q8_0|bf16]
                [--pooling last|mean] [--tokenizer PATH]

Converts a decoder (Llama or Qwen2 layout) between formats. SRC is a llama2.c checkpoint (a
folder with stories260K.bin + tok512.bin, or the .bin file), a Hugging Face folder (config.json,
safetensors, tokenizer.json) or a GGUF file.

  --to gguf          write one GGUF file (weights + tokenizer.ggml.* vocabulary) to --out
  --to safetensors   write a Hugging Face folder to --out: config.json, model.safetensors, and
                     tokenizer.json (+ tokenizer_config.json) for byte-level BPE vocabularies, or
                     tokenizer.bin (llama2.c format, which o1e loads) for SentencePiece ones
  --dtype TYPE       gguf: f32 (default), f16 or q8_0; safetensors: f32 (default), f16 or bf16
  --pooling KIND     gguf only: write {arch}.pooling_type for llama.cpp embedding contexts;
                     default last for O1 models (vocabularies with <query> </query> <thought>
                     <emb>, which are written as control tokens), else not written
  --tokenizer PATH   use this tokenizer instead of the one beside SRC
`;

/** `o1e convert`: llama2.c / Hugging Face / GGUF to GGUF or a Hugging Face folder. */
export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a model (llama2.c, Hugging Face folder, GGUF) to GGUF or safetensors',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    if (positionals.length !== 1) throw new O1Error('BAD_ARGUMENT', `expected one SRC, got ${positionals.length}\n${USAGE}`);
    const target = values.to;
    if (target !== 'gguf' && target !== 'safetensors') throw new O1Error('BAD_ARGUMENT', `--to must be gguf or safetensors, got '${target ?? ''}'`, { field: 'to' });
    if (values.out === undefined) throw new O1Error('BAD_ARGUMENT', '--out PATH is required', { field: 'out' });
    const dtype = values.dtype ?? 'f32';
    const allowed = target === 'gguf' ? ['f32', 'f16', 'q8_0'] : ['f32', 'f16', 'bf16'];
    if (!allowed.includes(dtype)) throw new O1Error('BAD_ARGUMENT', `--dtype for ${target} must be one of ${allowed.join(', ')}, got '${dtype}'`, { field: 'dtype' });
    const pooling = values.pooling;
    if (pooling !== undefined && pooling !== 'last' && pooling !== 'mean') throw new O1Error('BAD_ARGUMENT', `--pooling must be last or mean, got '${pooling}'`, { field: 'pooling' });
    const { model, tokenizer, source } = await loadModelFiles(positionals[0], { tokenizerPath: values.tokenizer });
    if (target === 'gguf') {
      // An O1 model embeds at its final <emb> token: llama.cpp must pool the last position.
      const poolingType = pooling ?? (hasO1Tokens(tokenizer) ? 'last' : undefined);
      await writeGguf(values.out, model, tokenizer.ggufMetadata(), { dtype: dtype as GgufTensorType, poolingType });
    } else {
      await saveHuggingFaceModel(values.out, model, { dtype: dtype as SafetensorsDataType });
      if (tokenizer instanceof HuggingFaceTokenizer) await tokenizer.save(values.out);
      else if (tokenizer.ggufMetadata().model === 'gpt2') await HuggingFaceTokenizer.fromJsonFiles(ggufToTokenizerJson(tokenizer.ggufMetadata())).save(values.out);
      else await (tokenizer as SentencePieceBpeTokenizer).saveLlama2c(`${values.out}/tokenizer.bin`);
    }
    process.stderr.write(`converted ${source} model (${model.config.architecture}, ${model.config.numHiddenLayers} layers, vocab ${model.config.vocabSize}) to ${target} ${dtype}: ${values.out}\n`);
    return 0;
  },
};

const OPTIONS = {
    to: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
    pooling: { type: 'string' },
    tokenizer: { type: 'string' },
  } as const;
