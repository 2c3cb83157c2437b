import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { parseHuggingFaceConfig, readHuggingFaceConfig, toHuggingFaceConfig, writeHuggingFaceConfig } from '../src/model/config.js';
import { loadLlama2cCheckpoint, parseLlama2cCheckpoint } from '../src/model/formats/llama2c.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from '../src/model/formats/numeric.js';
import { permuteRopeRows, withRopeStyle } from '../src/model/formats/rope-permutation.js';
import {
  loadHuggingFaceModel,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  saveHuggingFaceModel,
  serializeSafetensors,
  writeSafetensors,
} from '../src/model/formats/safetensors.js';
import { addSpecialTokens, O1_SPECIAL_TOKENS, resizeTokenEmbeddings } from '../src/model/special-tokens.js';
import type { DecoderWeights, HostTensor, WeightMap } from '../src/model/types.js';
import { SentencePieceBpeTokenizer } from '../src/tokenizer/sentencepiece-bpe.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { randomDecoder, seededRandom, tinyLlamaConfig, tinyQwen2Config } from './helpers/tiny-models.js';

const STORIES = sharedPath('models', 'tinystories-260k', 'stories260K.bin');
const TOKENIZER = sharedPath('models', 'tinystories-260k', 'tok512.bin');

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-formats-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Asserts an O1Error with `code` whose location names `file` (and `field` when given). */
async function rejectsWith(action: () => Promise<unknown> | unknown, code: string, file?: string, field?: string): Promise<O1Error> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof O1Error, `expected O1Error ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (file !== undefined) assert.equal(caught.location.file, file, caught.message);
  if (field !== undefined) assert.equal(caught.location.field, field, caught.message);
  return caught;
}

function maxRelativeError(expected: Float32Array, actual: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const error = Math.abs(expected[index] - actual[index]) / Math.max(Math.abs(expected[index]), 1e-6);
    worst = Math.max(worst, error);
  }
  return worst;
}

function sampleTensors(): WeightMap {
  const random = seededRandom(7);
  const matrix = Float32Array.from({ length: 6 * 5 }, () => (random() - 0.5) * 10);
  const vector = Float32Array.from([0, 1, -2.5, 65504, 1e-3, -3.14159]);
  return new Map<string, HostTensor>([
    ['layer.weight', { shape: [6, 5], data: matrix }],
    ['layer.bias', { shape: [6], data: vector }],
    ['scalar', { shape: [], data: Float32Array.of(42) }],
  ]);
}

describe('half-precision conversions', () => {
  test('f16 and bf16 round to nearest even and keep specials', () => {
    assert.equal(float32ToFloat16Bits(1), 0x3c00);
    assert.equal(float32ToFloat16Bits(-2), 0xc000);
    assert.equal(float32ToFloat16Bits(65504), 0x7bff);
    assert.equal(float32ToFloat16Bits(1e6), 0x7c00);
    assert.equal(float16BitsToFloat32(float32ToFloat16Bits(2 ** -24)), 2 ** -24);
    assert.equal(float16BitsToFloat32(float32ToFloat16Bits(1 + 2 ** -11)), 1); // tie to even
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
    assert.equal(float32ToBfloat16Bits(1), 0x3f80);
    assert.equal(bfloat16BitsToFloat32(float32ToBfloat16Bits(3.140625)), 3.140625);
    assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN))));
  });
});

describe('safetensors', () => {
  for (const [dtype, tolerance] of [['f32', 0], ['f16', 1e-3], ['bf16', 8e-3]] as const) {
    test(`round trip in ${dtype}`, async () => {
      const tensors = sampleTensors();
      const path = join(directory, `round-${dtype}.safetensors`);
      await writeSafetensors(path, tensors, { dtype, metadata: { format: 'pt', note: 'test' } });
      const header = await readSafetensorsHeader(path);
      assert.equal(header.tensors.get('layer.weight')?.dtype, dtype.toUpperCase());
      assert.deepEqual(header.metadata, { format: 'pt', note: 'test' });
      const { tensors: back } = await readSafetensors(path);
      for (const [name, tensor] of tensors) {
        const read = back.get(name) as HostTensor;
        assert.deepEqual(read.shape, tensor.shape, name);
        if (tolerance === 0) assert.deepEqual(read.data, tensor.data, name);
        else assert.ok(maxRelativeError(tensor.data, read.data) <= tolerance, `${name}: ${maxRelativeError(tensor.data, read.data)}`);
      }
      // The in-memory serializer and parser agree with the file writer and reader.
      const bytes = serializeSafetensors(tensors, { dtype, metadata: { format: 'pt', note: 'test' } });
      assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array(bytes));
      assert.deepEqual(parseSafetensors(bytes).tensors.get('layer.weight'), back.get('layer.weight'));
    });
  }

  test('the header is 8-byte aligned JSON and data offsets are contiguous', async () => {
    const bytes = serializeSafetensors(sampleTensors());
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(length % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
    assert.deepEqual(header['layer.weight'], { dtype: 'F32', shape: [6, 5], data_offsets: [0, 120] });
    assert.deepEqual(header['layer.bias'].data_offsets, [120, 144]);
  });

  test('a truncated file is CORRUPT_MODEL_FILE naming the file and the cut tensor', async () => {
    const path = join(directory, 'truncated.safetensors');
    await writeSafetensors(path, sampleTensors());
    const bytes = await readFile(path);
    await truncate(path, bytes.length - 10);
    await rejectsWith(() => readSafetensors(path), 'CORRUPT_MODEL_FILE', path, 'layer.bias');
    await truncate(path, 5);
    await rejectsWith(() => readSafetensors(path), 'CORRUPT_MODEL_FILE', path);
    await truncate(path, 30);
    await rejectsWith(() => readSafetensors(path), 'CORRUPT_MODEL_FILE', path);
  });

  test('corrupt headers are CORRUPT_MODEL_FILE', async () => {
    const make = (header: string) => {
      const json = Buffer.from(header);
      const bytes = Buffer.alloc(8 + json.length + 16);
      bytes.writeBigUInt64LE(BigInt(json.length));
      json.copy(bytes, 8);
      return bytes;
    };
    const file = 'bad.safetensors';
    await rejectsWith(() => parseSafetensors(make('{not json'), file), 'CORRUPT_MODEL_FILE', file);
    await rejectsWith(() => parseSafetensors(make('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'), file), 'CORRUPT_MODEL_FILE', file, 'a');
    await rejectsWith(() => parseSafetensors(make('{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}'), file), 'CORRUPT_MODEL_FILE', file, 'a');
    await rejectsWith(
      () => parseSafetensors(make('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'), file),
      'CORRUPT_MODEL_FILE',
      file,
    );
    await rejectsWith(() => parseSafetensors(make('{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}'), file), 'CORRUPT_MODEL_FILE', file, 'a');
  });
});

describe('config.json', () => {
  const qwen = {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    rope_theta: 1000000.0,
    rms_norm_eps: 1e-6,
    vocab_size: 151936,
    tie_word_embeddings: true,
    max_position_embeddings: 32768,
    bos_token_id: 151643,
    eos_token_id: 151643,
    use_sliding_window: false,
    rope_scaling: null,
  };

  test('parses Qwen2 (biases, tied) and Llama configs', () => {
    const config = parseHuggingFaceConfig(qwen);
    assert.equal(config.architecture, 'qwen2');
    assert.equal(config.attentionBias, true);
    assert.equal(config.headDim, 64);
    assert.equal(config.numKeyValueHeads, 2);
    assert.equal(config.tieWordEmbeddings, true);
    assert.equal(config.ropeStyle, 'half');
    assert.equal(config.eosTokenId, 151643);
    const llama = parseHuggingFaceConfig({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 64,
      vocab_size: 128256,
      eos_token_id: [128001, 128009],
    });
    assert.equal(llama.architecture, 'llama');
    assert.equal(llama.attentionBias, false);
    assert.equal(llama.tieWordEmbeddings, false);
    assert.equal(llama.ropeTheta, 10000);
    assert.equal(llama.eosTokenId, 128001);
  });

  test('unknown architecture is UNKNOWN_ARCHITECTURE naming the file', async () => {
    const path = join(directory, 'gpt2-config.json');
    await writeFile(path, JSON.stringify({ architectures: ['GPT2LMHeadModel'], n_embd: 768 }));
    const error = await rejectsWith(() => readHuggingFaceConfig(path), 'UNKNOWN_ARCHITECTURE', path);
    assert.match(error.message, /GPT2LMHeadModel/);
    await rejectsWith(() => parseHuggingFaceConfig({ ...qwen, rope_scaling: { type: 'yarn' } }, 'c.json'), 'UNSUPPORTED_OP', 'c.json', 'rope_scaling');
    await rejectsWith(() => parseHuggingFaceConfig({ ...qwen, hidden_size: undefined }, 'c.json'), 'MISSING_FIELD', 'c.json', 'hidden_size');
  });

  test('writes config.json that parses back to the same configuration', async () => {
    const config = parseHuggingFaceConfig(qwen);
    const path = join(directory, 'config-round.json');
    await writeHuggingFaceConfig(path, config, 'bfloat16');
    assert.deepEqual(await readHuggingFaceConfig(path), config);
    assert.equal(toHuggingFaceConfig(config).architectures instanceof Array, true);
  });
});

describe('Hugging Face model folders', () => {
  function assertSameModel(actual: DecoderWeights, expected: DecoderWeights, tolerance: number): void {
    assert.deepEqual(actual.config, expected.config);
    assert.deepEqual([...actual.weights.keys()].sort(), [...expected.weights.keys()].sort());
    for (const [name, tensor] of expected.weights) {
      const read = actual.weights.get(name) as HostTensor;
      assert.deepEqual(read.shape, tensor.shape, name);
      if (tolerance === 0) assert.deepEqual(read.data, tensor.data, name);
      else assert.ok(maxRelativeError(tensor.data, read.data) <= tolerance, name);
    }
  }

  test('save and load a Qwen2-shaped model (biases, tied) in f32 and a Llama-shaped one in bf16', async () => {
    const qwen = randomDecoder(tinyQwen2Config(300), 3);
    await saveHuggingFaceModel(join(directory, 'qwen'), qwen);
    assertSameModel(await loadHuggingFaceModel(join(directory, 'qwen')), qwen, 0);
    const llama = randomDecoder(tinyLlamaConfig(300), 4);
    await saveHuggingFaceModel(join(directory, 'llama'), llama, { dtype: 'bf16' });
    const config = JSON.parse(await readFile(join(directory, 'llama', 'config.json'), 'utf8'));
    assert.equal(config.torch_dtype, 'bfloat16');
    assertSameModel(await loadHuggingFaceModel(join(directory, 'llama')), llama, 8e-3);
  });

  test('loads sharded checkpoints through model.safetensors.index.json', async () => {
    const model = randomDecoder(tinyLlamaConfig(100), 5);
    const folder = join(directory, 'sharded');
    await saveHuggingFaceModel(folder, model);
    await rm(join(folder, 'model.safetensors'));
    const names = [...model.weights.keys()];
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    for (const [index, shard] of shards.entries()) {
      const file = `model-0000${index + 1}-of-00002.safetensors`;
      await writeSafetensors(join(folder, file), new Map(shard.map((name) => [name, model.weights.get(name) as HostTensor])));
      for (const name of shard) weightMap[name] = file;
    }
    await writeFile(join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    assertSameModel(await loadHuggingFaceModel(folder), model, 0);
  });

  test('a missing tensor is MISSING_TENSOR and a wrong shape SHAPE_MISMATCH, naming file and tensor', async () => {
    const model = randomDecoder(tinyQwen2Config(50), 6);
    const folder = join(directory, 'broken');
    await saveHuggingFaceModel(folder, model);
    const file = join(folder, 'model.safetensors');
    const missing = new Map(model.weights);
    missing.delete('model.layers.1.self_attn.k_proj.bias');
    await writeSafetensors(file, missing);
    await rejectsWith(() => loadHuggingFaceModel(folder), 'MISSING_TENSOR', file, 'model.layers.1.self_attn.k_proj.bias');
    const wrong = new Map(model.weights);
    wrong.set('model.layers.0.mlp.down_proj.weight', { shape: [96, 64], data: new Float32Array(96 * 64) });
    await writeSafetensors(file, wrong);
    await rejectsWith(() => loadHuggingFaceModel(folder), 'SHAPE_MISMATCH', file, 'model.layers.0.mlp.down_proj.weight');
  });
});

describe('RoPE row permutation', () => {
  /** Applies RoPE at `position` to one head vector in the given pairing. */
  function rotate(vector: Float32Array, position: number, style: 'half' | 'adjacent'): Float64Array {
    const size = vector.length;
    const result = new Float64Array(size);
    for (let pair = 0; pair < size / 2; pair++) {
      const angle = position / 10000 ** ((2 * pair) / size);
      const [first, second] = style === 'half' ? [pair, pair + size / 2] : [2 * pair, 2 * pair + 1];
      result[first] = vector[first] * Math.cos(angle) - vector[second] * Math.sin(angle);
      result[second] = vector[first] * Math.sin(angle) + vector[second] * Math.cos(angle);
    }
    return result;
  }

  test('half -> adjacent -> half is the identity and preserves attention scores', () => {
    const random = seededRandom(11);
    const headDim = 8;
    const heads = 2;
    const width = 3;
    const weight: HostTensor = { shape: [heads * headDim, width], data: Float32Array.from({ length: heads * headDim * width }, () => random() - 0.5) };
    const adjacent = permuteRopeRows(weight, heads, 'half', 'adjacent');
    assert.deepEqual(permuteRopeRows(adjacent, heads, 'adjacent', 'half').data, weight.data);
    const input = Float32Array.from({ length: width }, () => random() - 0.5);
    const project = (tensor: HostTensor, head: number) =>
      Float32Array.from({ length: headDim }, (_, row) => {
        let sum = 0;
        for (let column = 0; column < width; column++) sum += tensor.data[(head * headDim + row) * width + column] * input[column];
        return sum;
      });
    for (let head = 0; head < heads; head++) {
      const dot = (left: Float64Array, right: Float64Array) => left.reduce((sum, value, index) => sum + value * right[index], 0);
      const scoreHalf = dot(rotate(project(weight, head), 5, 'half'), rotate(project(weight, head), 2, 'half'));
      const scoreAdjacent = dot(rotate(project(adjacent, head), 5, 'adjacent'), rotate(project(adjacent, head), 2, 'adjacent'));
      assert.ok(Math.abs(scoreHalf - scoreAdjacent) < 1e-9);
    }
  });
});

describe('llama2.c checkpoints', () => {
  test('stories260K loads with Hugging Face names and shapes', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const model = await loadLlama2cCheckpoint(STORIES);
    const { config, weights } = model;
    assert.deepEqual(
      [config.hiddenSize, config.intermediateSize, config.numHiddenLayers, config.numAttentionHeads, config.numKeyValueHeads, config.vocabSize, config.maxPositionEmbeddings],
      [64, 172, 5, 8, 4, 512, 512],
    );
    assert.equal(config.headDim, 8);
    assert.equal(config.tieWordEmbeddings, true);
    assert.equal(config.ropeStyle, 'adjacent');
    assert.equal(config.rmsNormEps, 1e-5);
    assert.equal(config.ropeTheta, 10000);
    assert.equal(weights.size, 1 + 5 * 9 + 1);
    assert.deepEqual(weights.get('model.embed_tokens.weight')?.shape, [512, 64]);
    assert.deepEqual(weights.get('model.layers.4.self_attn.k_proj.weight')?.shape, [32, 64]);
    assert.deepEqual(weights.get('model.layers.0.mlp.down_proj.weight')?.shape, [64, 172]);
    assert.deepEqual(weights.get('model.layers.0.mlp.gate_proj.weight')?.shape, [172, 64]);
    assert.equal(weights.has('lm_head.weight'), false);
  });

  test('a truncated checkpoint names the cut tensor; a negative vocab_size adds an unshared classifier', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const bytes = await readFile(STORIES);
    await rejectsWith(() => parseLlama2cCheckpoint(bytes.subarray(0, 200_000), 'cut.bin'), 'CORRUPT_MODEL_FILE', 'cut.bin', 'wq');
    await rejectsWith(() => parseLlama2cCheckpoint(bytes.subarray(0, 20), 'cut.bin'), 'CORRUPT_MODEL_FILE', 'cut.bin');
    const unshared = Buffer.concat([bytes, bytes.subarray(28, 28 + 512 * 64 * 4)]);
    unshared.writeInt32LE(-512, 20);
    const model = parseLlama2cCheckpoint(unshared, 'unshared.bin');
    assert.equal(model.config.tieWordEmbeddings, false);
    assert.deepEqual(model.weights.get('lm_head.weight')?.data, model.weights.get('model.embed_tokens.weight')?.data);
  });

  test('saving stories260K as Hugging Face permutes to half and reloads', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const model = await loadLlama2cCheckpoint(STORIES);
    await saveHuggingFaceModel(join(directory, 'stories-hf'), model);
    const loaded = await loadHuggingFaceModel(join(directory, 'stories-hf'));
    assert.equal(loaded.config.ropeStyle, 'half');
    const back = withRopeStyle(loaded, 'adjacent');
    for (const [name, tensor] of model.weights) assert.deepEqual(back.weights.get(name)?.data, tensor.data, name);
    assert.notDeepEqual(loaded.weights.get('model.layers.0.self_attn.q_proj.weight')?.data, model.weights.get('model.layers.0.self_attn.q_proj.weight')?.data);
  });
});

describe('special tokens', () => {
  test('adds O1 tokens to tok512 and stories260K with mean-initialised rows, idempotently', sharedTestOptions('models', 'tinystories-260k', 'tok512.bin'), async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const model = await loadLlama2cCheckpoint(STORIES);
    const { model: grown, ids } = addSpecialTokens(tokenizer, model);
    assert.deepEqual(ids, [512, 513, 514, 515]);
    assert.equal(grown.config.vocabSize, 516);
    assert.equal(model.config.vocabSize, 512); // the input is not mutated
    const embedding = grown.weights.get('model.embed_tokens.weight') as HostTensor;
    assert.deepEqual(embedding.shape, [516, 64]);
    const mean = new Float64Array(64);
    const original = model.weights.get('model.embed_tokens.weight') as HostTensor;
    for (let row = 0; row < 512; row++) for (let column = 0; column < 64; column++) mean[column] += original.data[row * 64 + column] / 512;
    for (let column = 0; column < 64; column++) assert.ok(Math.abs(embedding.data[515 * 64 + column] - mean[column]) < 1e-6);
    assert.deepEqual(embedding.data.subarray(0, 512 * 64), original.data);
    const again = addSpecialTokens(tokenizer, grown, O1_SPECIAL_TOKENS);
    assert.deepEqual(again.ids, ids);
    assert.equal(again.model, grown);
  });

  test('resizes an untied LM head too, and fills spare rows of new ids', () => {
    const model = randomDecoder(tinyLlamaConfig(10), 8);
    const resized = resizeTokenEmbeddings(model, 12, { initialiseRows: [9], meanOverRows: 9 });
    const head = resized.weights.get('lm_head.weight') as HostTensor;
    assert.deepEqual(head.shape, [12, 64]);
    assert.deepEqual(head.data.subarray(9 * 64, 10 * 64), head.data.subarray(11 * 64, 12 * 64));
    assert.throws(() => resizeTokenEmbeddings(model, 5), O1Error);
  });
});
