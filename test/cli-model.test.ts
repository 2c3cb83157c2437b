import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readGgufHeader } from '../src/model/formats/gguf.js';
import { saveHuggingFaceModel } from '../src/model/formats/safetensors.js';
import { O1E } from './helpers/cli.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { randomDecoder, tinyBpeTokenizer, tinyQwen2Config } from './helpers/tiny-models.js';

const run = promisify(execFile);
const STORY_START = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

async function o1e(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [...O1E, ...args], { env: { ...process.env, CI: 'true' }, maxBuffer: 64 * 1024 * 1024 });
}

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-cli-model-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('o1e convert, generate and embed as processes', () => {
  test('stories260K: convert to GGUF, greedy generate from it gives the Lily story, embed prints vectors', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const gguf = join(directory, 'stories.gguf');
    await o1e('convert', sharedPath('models', 'tinystories-260k'), '--to', 'gguf', '--out', gguf);
    assert.equal((await readGgufHeader(gguf)).metadata.get('general.architecture'), 'llama');
    const { stdout } = await o1e('generate', '--model', gguf, '--greedy', '--max-tokens', '40');
    assert.ok(stdout.startsWith(STORY_START), stdout);
    const embedded = JSON.parse((await o1e('embed', '--model', gguf, 'Once upon a time', 'The dog ran.')).stdout);
    assert.equal(embedded.dimensions, 64);
    assert.equal(embedded.vectors.length, 2);
    for (const vector of embedded.vectors) assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5);
  });

  test('a tiny Hugging Face folder: generate --json with samples, mean embedding, convert to q8_0 GGUF and back to safetensors', async () => {
    const tokenizer = tinyBpeTokenizer();
    const folder = join(directory, 'tiny-hf');
    await saveHuggingFaceModel(folder, randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: tokenizer.eosTokenId }), 61, 0.3));
    await tokenizer.save(folder);
    const generated = JSON.parse((await o1e('generate', '--model', folder, '--prompt', 'Once upon a time', '-n', '3', '--temperature', '1', '--top-p', '0.95', '--seed', '4', '--max-tokens', '8', '--json')).stdout);
    assert.equal(generated.samples.length, 3);
    for (const sample of generated.samples) assert.ok(sample.tokens.length <= 8 && typeof sample.text === 'string');
    const again = JSON.parse((await o1e('generate', '--model', folder, '--prompt', 'Once upon a time', '-n', '3', '--temperature', '1', '--top-p', '0.95', '--seed', '4', '--max-tokens', '8', '--json')).stdout);
    assert.deepEqual(again, generated);
    const mean = JSON.parse((await o1e('embed', '--model', folder, '--pooling', 'mean', 'Tom and his dog')).stdout);
    assert.equal(mean.vectors[0].length, 64);
    const gguf = join(directory, 'tiny.gguf');
    await o1e('convert', folder, '--to', 'gguf', '--dtype', 'q8_0', '--out', gguf);
    assert.equal((await readGgufHeader(gguf)).metadata.get('general.architecture'), 'qwen2');
    const back = join(directory, 'tiny-back');
    await o1e('convert', gguf, '--to', 'safetensors', '--out', back);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(back, file)), file);
    const greedy = JSON.parse((await o1e('generate', '--model', back, '--prompt', 'Once upon a time', '--greedy', '--max-tokens', '5', '--json')).stdout);
    assert.equal(greedy.samples.length, 1);
    await assert.rejects(() => o1e('convert', folder, '--to', 'safetensors', '--dtype', 'q8_0', '--out', join(directory, 'bad')), /BAD_ARGUMENT/);
  });
});
