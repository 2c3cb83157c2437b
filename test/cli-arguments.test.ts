import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { parseCommandLine, parseInteger, parseNumber, rejectPositionals, usageSynopsis } from '../src/cli/arguments.js';
import { main } from '../src/cli/main.js';
import { COMMANDS } from '../src/cli/registry.js';
import { O1Error } from '../src/errors.js';

/**
 * Runs `o1e ARGS...` in this process, capturing what it writes to stderr. stdout is left alone:
 * the test runner reports through this process's stdout, and a report written while it was
 * captured would be lost (usage errors write nothing there).
 */
async function runMain(argv: string[]): Promise<{ code: number; stderr: string }> {
  const stderr: string[] = [];
  const originalError = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stderr: stderr.join('') };
  } finally {
    process.stderr.write = originalError;
  }
}

/** A usage error as main prints it: one error line naming the verb, the synopsis, no stack. */
function assertUsageError(result: { code: number; stderr: string }, verb: string, mention: RegExp): void {
  assert.equal(result.code, 2, `exit code for ${verb}: ${result.stderr}`);
  const [first, ...rest] = result.stderr.trimEnd().split('\n');
  assert.match(first, new RegExp(`^o1e ${verb}: BAD_ARGUMENT: `));
  assert.match(first, mention);
  assert.match(rest[0] ?? '', new RegExp(`^usage: o1e ${verb}\\b`), 'the synopsis follows the error line');
  assert.equal(rest.at(-1), `Run 'o1e ${verb} --help' for all options.`);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(result.stderr, /TypeError/);
  assert.equal(result.stderr.split('usage: o1e').length - 1, 1, 'the usage is printed once');
}

test('every command (and each synth action) answers --bogus with a one-line BAD_ARGUMENT, its synopsis and exit code 2', async () => {
  const invocations = COMMANDS.flatMap((command) => (command.name === 'synth' ? [['synth', 'explore'], ['synth', 'vote']] : [[command.name]]));
  assert.ok(invocations.length >= 10, 'the registry lists the commands');
  for (const invocation of invocations) {
    assertUsageError(await runMain([...invocation, '--bogus']), invocation[0], /'--bogus'/);
  }
});

test('commands that take no positionals refuse one; option values are checked before any work', async () => {
  assertUsageError(await runMain(['train', 'extra']), 'train', /unexpected argument 'extra'/);
  assertUsageError(await runMain(['synth', 'explore', 'extra']), 'synth', /unexpected argument 'extra'/);
  assertUsageError(await runMain(['synth', 'vote', 'extra']), 'synth', /unexpected argument 'extra'/);
  assertUsageError(await runMain(['generate', 'hello']), 'generate', /unexpected argument 'hello' \(the prompt goes in --prompt\)/);
  assertUsageError(await runMain(['generate', '--model', 'none', '--temperature', 'hot']), 'generate', /--temperature must be a number, got 'hot'/);
  assertUsageError(await runMain(['train']), 'train', /--config FILE is required/);
  assertUsageError(await runMain(['synth']), 'synth', /expected 'explore' or 'vote'/);
  assertUsageError(await runMain(['convert']), 'convert', /expected one SRC, got 0$/);
  assertUsageError(await runMain(['trec-eval', '-m', 'map', 'qrels']), 'trec-eval', /expected QRELS and RUN/);
  assertUsageError(await runMain(['trec-eval', '-l']), 'trec-eval', /argument missing/);
});

test('errors other than usage errors keep their code and exit 1 without a synopsis', async () => {
  const result = await runMain(['trec-eval', '-m', 'map', '/nonexistent/qrels', '/nonexistent/run']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^o1e trec-eval: MISSING_FILE: /);
  assert.doesNotMatch(result.stderr, /usage:/);
});

test('parseCommandLine turns parse failures into BAD_ARGUMENT carrying the usage; the number helpers name the option', () => {
  const options = { out: { type: 'string' }, quiet: { type: 'boolean' } } as const;
  assert.deepEqual(parseCommandLine(['--out', 'x', 'file'], options, 'usage: t').positionals, ['file']);
  assert.throws(
    () => parseCommandLine(['--bogus'], options, 'usage: t'),
    (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT' && /'--bogus'/.test(error.message) && error.message.endsWith('\nusage: t'),
  );
  assert.throws(() => parseCommandLine(['--out'], options, 'usage: t'), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
  // What parseArgs itself throws (the case main also catches for commands not yet converted).
  assert.throws(() => parseArgs({ args: ['--bogus'], options, strict: true }), (error: unknown) => error instanceof TypeError && (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');

  assert.equal(parseNumber('0.5', 'temperature', 0), 0.5);
  assert.equal(parseNumber(undefined, 'temperature'), undefined);
  assert.equal(parseNumber('-3', 'shift'), -3);
  assert.throws(() => parseNumber('-1', 'temperature', 0), /--temperature must be at least 0, got -1/);
  assert.throws(() => parseNumber(' ', 'top-p'), /--top-p must be a number/);
  assert.throws(() => parseNumber('Infinity', 'top-p'), /--top-p must be a number/);
  assert.equal(parseInteger('12', 'hits', 1), 12);
  assert.throws(() => parseInteger('1.5', 'hits'), (error: unknown) => error instanceof O1Error && error.location.field === 'hits');

  rejectPositionals([]);
  assert.throws(() => rejectPositionals(['a', 'b'], ' (hint)'), /unexpected argument 'a' \(hint\)/);
  assert.equal(usageSynopsis('usage: o1e x A\n         [B]\n\nText.\n  --c  d\n'), 'usage: o1e x A\n         [B]');
  assert.equal(usageSynopsis('usage: o1e y'), 'usage: o1e y');
});
