import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Settings } from '../src/backends/settings.js';
import { O1Error } from '../src/errors.js';
import { createCommittee, type CommitteeConfig } from '../src/synth/committee.js';
import { resolveTrainingConfig } from '../src/training/config.js';

/** Asserts a BAD_ARGUMENT whose location and message name `field` (and `file` when given). */
function badArgument(run: () => unknown, field: string, message: RegExp, file?: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof O1Error, String(error));
    assert.equal(error.code, 'BAD_ARGUMENT');
    assert.equal(error.location.field, field);
    assert.equal(error.location.file, file);
    assert.match(error.message, message);
    return true;
  });
}

test('Settings: ranged numbers, optional numbers, number and string lists', () => {
  const settings = new Settings({ rate: 0.5, steps: 3, buckets: [16, 32], files: 'a.jsonl', names: ['x', 'y'], none: null }, 'test config', { known: [] });
  assert.equal(settings.numberInRange('rate', 1, { minimum: 0, exclusiveMinimum: true, maximum: 1 }), 0.5);
  assert.equal(settings.numberInRange('absent', 7, { integer: true }), 7);
  assert.equal(settings.numberInRange('none', 2), 2, 'null counts as absent');
  assert.equal(settings.optionalNumber('steps', { integer: true, minimum: 1 }), 3);
  assert.equal(settings.optionalNumber('missing'), undefined);
  assert.deepEqual(settings.numbers('buckets', [], { integer: true, minimum: 1 }), [16, 32]);
  assert.deepEqual(settings.strings('files', [], { single: true }), ['a.jsonl']);
  assert.deepEqual(settings.strings('names'), ['x', 'y']);
  assert.deepEqual(settings.strings('nothing', ['default']), ['default']);
  settings.rejectUnknown();

  const bad = (values: object) => new Settings(values, 'test config', { known: [] });
  badArgument(() => bad({ rate: 0 }).numberInRange('rate', 1, { minimum: 0, exclusiveMinimum: true }), 'rate', /'rate' must be a number > 0, got 0/);
  badArgument(() => bad({ rate: 2 }).numberInRange('rate', 1, { minimum: 0, maximum: 1 }), 'rate', /must be a number in \[0, 1\], got 2/);
  badArgument(() => bad({ steps: 1.5 }).optionalNumber('steps', { integer: true, minimum: 1 }), 'steps', /an integer >= 1/);
  badArgument(() => bad({ steps: '3' }).optionalNumber('steps'), 'steps', /must be a number, got "3"/);
  badArgument(() => bad({ buckets: [16, 0] }).numbers('buckets', [], { integer: true, minimum: 1 }), 'buckets', /each an integer >= 1/);
  badArgument(() => bad({ files: 'a' }).strings('files'), 'files', /a list of non-empty strings/);
  badArgument(() => bad({ names: ['x', ''] }).strings('names', [], { single: true }), 'names', /a non-empty string or a list of them/);
});

test('Settings: sections and lists of sections name nested fields; reject and allowOnly; the default known key stays backend', () => {
  const settings = new Settings({ optimizer: { learningRate: -1, typo: 1 }, members: [{ weight: 1 }, { weight: 'x' }] }, 'test config', { file: 'c.json', known: [] });
  const optimizer = settings.section('optimizer');
  badArgument(() => optimizer.numberInRange('learningRate', 1, { minimum: 0, exclusiveMinimum: true }), 'optimizer.learningRate', /'optimizer\.learningRate' must be/, 'c.json');
  badArgument(() => optimizer.rejectUnknown(), 'optimizer.typo', /unknown setting\(s\): optimizer\.typo \(known: learningRate\)/, 'c.json');
  const members = settings.sections('members');
  assert.equal(members.length, 2);
  assert.equal(members[0]!.number('weight', 1), 1);
  badArgument(() => members[1]!.number('weight', 1), 'members[1].weight', /'members\[1\]\.weight' must be a number/, 'c.json');
  badArgument(() => members[1]!.reject('weight', 'something else'), 'members[1].weight', /must be something else, got "x"/, 'c.json');
  assert.deepEqual(new Settings({}, 'test config').section('absent').sections('also'), [], 'absent sections are empty');
  badArgument(() => new Settings({ optimizer: [1] }, 'test config').section('optimizer'), 'optimizer', /a JSON object/);
  badArgument(() => new Settings({ members: [1] }, 'test config').sections('members'), 'members', /a list of JSON objects/);

  const declared = new Settings({ a: 1, b: 2, c: 3 }, 'test config', { known: [] });
  badArgument(() => declared.allowOnly(['a', 'b']), 'c', /unknown setting\(s\): c \(known: a, b\)/);

  // Existing callers: `backend` is read by the registries, so it is not "unknown".
  new Settings({ backend: 'openai' }, 'openai thinker').rejectUnknown();
  badArgument(() => new Settings({ backend: 'openai' }, 'strict', { known: [] }).rejectUnknown(), 'backend', /unknown setting/);
});

test('training config errors name the config file and the dotted field; a typo is reported before what it hides', () => {
  const base = { mode: 'pretrain', output: 'out', model: { init: {}, tokenizer: 'tok.json' }, data: { texts: ['t.txt'] } };
  const file = '/configs/train.json';
  badArgument(() => resolveTrainingConfig({ ...base, optimizer: { learningRate: 0 } }, { file }), 'optimizer.learningRate', /must be a number > 0/, file);
  badArgument(() => resolveTrainingConfig({ ...base, model: { init: { hiddenSize: 10, numAttentionHeads: 3 }, tokenizer: 't' } }, { file }), 'model.init.numAttentionHeads', /a divisor of hiddenSize \(10\)/, file);
  badArgument(() => resolveTrainingConfig({ ...base, lengthBuckets: [] }, { file }), 'lengthBuckets', /non-empty/, file);
  badArgument(() => resolveTrainingConfig({ ...base, lora: { targets: ['q', 'x'] } }, { file }), 'lora.targets', /a non-empty list of q, k, v/, file);
  badArgument(() => resolveTrainingConfig({ ...base, schedule: { warmupSteps: -1 } }, { file }), 'schedule.warmupSteps', /an integer >= 0/, file);
  badArgument(() => resolveTrainingConfig({ ...base, data: { text: ['t.txt'] } }, { file }), 'data.text', /unknown setting\(s\): data\.text \(known: corpus, records, texts\)/, file);
  badArgument(() => resolveTrainingConfig({ output: 'out', modle: {}, data: { texts: ['t'] } }, { file }), 'modle', /unknown setting/, file);
  badArgument(() => resolveTrainingConfig({ ...base, optimizer: { learningRate: 0 } }), 'optimizer.learningRate', /must be/, undefined);

  const config = resolveTrainingConfig({ ...base, lora: true, maxSteps: 5, data: { texts: 't.txt' } }, { file });
  assert.equal(config.maxSteps, 5);
  assert.equal(config.threads, null);
  assert.equal(config.schedule.warmupSteps, null);
  assert.deepEqual(config.data.texts, ['/configs/t.txt'], 'one path stands for a list; relative to the config file');
  assert.equal(config.lora?.rank, 32);
  assert.equal(config.freezeEmbeddings, true);
});

test('committee config is validated through Settings before any member starts', async () => {
  const rejects = async (config: unknown, field: string, message: RegExp) =>
    assert.rejects(createCommittee(config as CommitteeConfig), (error: unknown) => {
      assert.ok(error instanceof O1Error, String(error));
      assert.equal(error.code, 'BAD_ARGUMENT');
      assert.equal(error.location.field, field);
      assert.match(error.message, message);
      return true;
    });
  await rejects({}, 'members', /'members' must be a non-empty list of members/);
  await rejects({ members: [] }, 'members', /non-empty list/);
  await rejects({ members: [{ type: 'bm25' }], voting: 'loud' }, 'voting', /one of soft, hard, median/);
  await rejects({ members: [{ type: 'bm25' }], extra: 1 }, 'extra', /unknown setting/);
  await rejects({ members: [{ type: 'bm25', weight: 'heavy' }] }, 'members[0].weight', /'members\[0\]\.weight' must be a number/);
  await rejects({ members: [{ type: 'bm25', k1: -1 }] }, 'members[0].k1', /a number >= 0/);
  await rejects({ members: [{ type: 'bm25', k1: 1.2, embedder: { backend: 'openai' } }] }, 'members[0].embedder', /unknown setting/);
  // The embedder member is invalid: nothing is created, so no backend is contacted.
  await rejects({ members: [{ type: 'bm25' }, { name: 'dense' }] }, 'members[1].embedder', /an embedder config object/);
  await rejects({ members: [{ type: 'cross-encoder' }] }, 'members[0].type', /one of bm25, embedder/);

  const members = await createCommittee({ voting: 'hard', members: [{ type: 'bm25', k1: 1.2, b: 0.75, weight: 2 }, { type: 'bm25', name: 'second' }] });
  assert.deepEqual(members.map((member) => [member.name, member.weight]), [['bm25', 2], ['second', 1]]);
  await Promise.all(members.map((member) => member.close()));
});
