/**
 * SLOW INTEGRATION TEST: the package as a user gets it. Builds dist/ (`npm run build`), packs
 * the tarball (`npm pack`), installs it OFFLINE from the npm cache into a fresh ESM project
 * outside the repository, and uses it from there: the root import (without loading
 * onnxruntime-node or node-llama-cpp) with a BM25 search, a strict TypeScript consumer checked
 * against the shipped .d.ts, the installed `o1e` bin, `o1-embedder/engine`, and the main job
 * with the shipped models/o1-small. Run it alone with
 *
 *   node --import tsx --test test/package.test.ts
 *
 * About 30 s warm and 60-90 s cold on two busy cores, most of it `tsc` and npm copying
 * dependencies. The consumer's node_modules is kept in the OS temp folder (keyed by the
 * dependency set) so reruns only reinstall o1-embedder itself. The consumer lives outside the
 * repository so that Node cannot find a missing dependency in the repository's node_modules.
 *
 * Offline: `npm ci` caches tarballs but not registry metadata, so the consumer gets a lockfile
 * made from the repository's (its production entries, with registry URLs): npm then needs no
 * metadata and finds every tarball in the cache by integrity. `--omit=optional` skips
 * node-llama-cpp's prebuilt binaries (about 700 MB of the 1.1 GB, and nothing here loads them:
 * the root import is checked not to), and `--ignore-scripts` skips the install scripts: without
 * those binaries node-llama-cpp's would compile llama.cpp, and onnxruntime-node's only downloads
 * CUDA providers from NuGet (its CPU binaries are in its tarball).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Hit } from '../src/data/types.js';
import { ROOT } from './helpers/cli.js';
import { writeTinyBeir } from './helpers/o1-fixtures.js';

const run = promisify(execFile);
const NATIVE = /^(onnxruntime-node|node-llama-cpp)(\/|$)/;
const INSTALL_FLAGS = ['--offline', '--no-audit', '--no-fund', '--omit=optional', '--ignore-scripts'];

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  bin: Record<string, string>;
  engines?: Record<string, string>;
  dependencies: Record<string, string>;
  exports: Record<string, string | { types: string; import: string }>;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  name?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [field: string]: unknown;
}

/** Runs a command; resolves with its output, or rejects with an error whose message holds it. */
async function command(file: string, args: readonly string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`);
  }
}

/**
 * The consumer's package-lock.json: o1-embedder from the tarball plus the production entries of
 * the repository's lock, each with its registry URL (the repository's lock omits them, and
 * without one npm fetches metadata, which is not cached).
 */
function consumerLock(lock: { packages: Record<string, LockEntry> }, manifest: PackageJson, tarball: string, integrity: string): object {
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [manifest.name]: `file:${tarball}` } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version, resolved: `file:${tarball}`, integrity, license: manifest.license,
      dependencies: manifest.dependencies, bin: manifest.bin, engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev === true || !path.startsWith('node_modules/')) continue;
    const { devOptional, ...rest } = entry;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[path] = {
      ...rest,
      ...(devOptional === true ? { optional: true } : {}),
      resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`,
    };
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

// Loader hooks for the consumer's scripts: resolving onnxruntime-node or node-llama-cpp (from a
// static import or a dynamic one, at any depth) throws, so an import that loads either fails.
const BLOCK_HOOKS = `export async function resolve(specifier, context, next) {
  if (${NATIVE}.test(specifier)) throw new Error(\`blocked: \${specifier} imported from \${context.parentURL}\`);
  return next(specifier, context);
}
`;
const REGISTER_BLOCK = `import { register } from 'node:module';
register('./block-native-hooks.mjs', import.meta.url);
`;

// (a) The root import with a BM25 search. require.cache also catches a CommonJS require of
// onnxruntime-node (a CommonJS package), which ESM resolve hooks do not see on Node 20.
const ROOT_SCRIPT = `import { createRequire } from 'node:module';
import * as o1 from 'o1-embedder';

const retriever = o1.createRetriever({ retriever: 'bm25' });
await retriever.index([
  { id: 'd1', title: 'Vitamin D', text: 'The skin makes vitamin D from sunlight.' },
  { id: 'd2', title: 'Tides', text: 'The moon, not sunlight, pulls the oceans and makes the tides.' },
  { id: 'd3', title: 'Dogs', text: 'Dogs bark at strangers and at the postman.' },
], { quiet: true });
const hits = await retriever.search('does sunlight give you vitamin D', { hits: 2 });
const native = Object.keys(createRequire(import.meta.url).cache).filter((path) => /onnxruntime|node-llama-cpp/.test(path));
console.log(JSON.stringify({ hits, native, retrievers: o1.retrieverNames(), isError: new o1.O1Error('BAD_ARGUMENT', 'x') instanceof Error }));
`;

// (b) A strict TypeScript consumer of the public types. The @ts-expect-error lines fail the
// check if the types were missing or \`any\` (an unused directive is an error).
const CONSUMER_TS = `import {
  createRetriever, evaluate, searchAll, fuseRankings, retrieverNames, ERROR_CODES, O1Error, DEFAULT_HITS,
  type Document, type Query, type Qrels, type Run, type Hit, type Retriever, type RetrieverConfig,
  type SearchOptions, type Thinker, type Embedder, type EvaluationResult, type ErrorCode,
} from 'o1-embedder';
import type { O1Model, DecoderModel } from 'o1-embedder/engine';
import type { LlamaCppEmbedderConfig } from 'o1-embedder/llama-cpp';
import type { ServerOptions } from 'o1-embedder/server';
import type { main } from 'o1-embedder/cli';

const documents: Document[] = [{ id: 'd1', title: 'Vitamin D', text: 'The skin makes vitamin D from sunlight.' }];
const queries: Query[] = [{ id: 'q1', text: 'vitamin D' }];
const qrels: Qrels = new Map([['q1', new Map([['d1', 1]])]]);
const config: RetrieverConfig = { retriever: 'bm25', k1: 0.9, b: 0.4 };
const retriever: Retriever = createRetriever(config);
await retriever.index(documents);
const options: SearchOptions = { hits: DEFAULT_HITS, removeQuery: true };
const run: Run = await searchAll(retriever, queries, options);
const result: EvaluationResult = evaluate(qrels, run, { measures: ['ndcg_cut.10'] });
const fused: Hit[] = fuseRankings([await retriever.search('sunlight')], { method: 'rrf' });
const code: ErrorCode = 'BAD_ARGUMENT';
const message: string = ERROR_CODES[code];
const names: string[] = retrieverNames();
type Seams = [Thinker['generate'], Embedder, O1Model['embedDocuments'], DecoderModel, LlamaCppEmbedderConfig, ServerOptions['port'], typeof main];
const exitCode: ReturnType<typeof main> extends Promise<number> ? true : false = true;
console.log(result.measures, fused.length, message, names, new O1Error(code, 'x').code, exitCode, null as unknown as Seams);

// @ts-expect-error a retriever config needs its "retriever" name
const nameless: RetrieverConfig = { k1: 0.9 };
// @ts-expect-error hits are numbers
const wrong: SearchOptions = { hits: 'ten' };
// @ts-expect-error not an error code
const unknownCode: ErrorCode = 'NO_SUCH_CODE';
console.log(nameless, wrong, unknownCode);
`;

function consumerTsconfig(): object {
  return {
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      // Checks the shipped .d.ts too (and its dependencies' types), not only their use here;
      // TypeScript's own lib files are trusted (checking lib.dom.d.ts alone costs seconds).
      skipLibCheck: false, skipDefaultLibCheck: true,
      // @types/node is the consumer's own business; take the repository's.
      typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'],
    },
    files: ['consumer.ts'],
  };
}

describe('the packed o1-embedder, installed offline into a fresh project (slow)', () => {
  let manifest: PackageJson;
  let consumer: string;
  let pack: PackResult;
  let beir: string;

  before(async () => {
    manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    beir = await writeTinyBeir();
  });
  after(async () => {
    if (beir !== undefined) await rm(beir, { recursive: true, force: true });
  });

  test('npm run build compiles src/ to dist/ without type errors', async () => {
    // No assert.rejects: tsc emits despite type errors, so the later steps still run and report.
    const built = await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).then(
      () => undefined,
      (error: Error & { stdout?: string }) => `${error.message}\n${error.stdout ?? ''}`,
    );
    assert.ok(existsSync(join(ROOT, 'dist', 'index.js')) && existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/index.js and dist/cli/main.js were emitted');
    assert.equal(built, undefined, built);
  });

  test('npm pack ships bin, dist, the o1-small model and the README, not tests or sources', async () => {
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const productionLock = consumerLock(lock, manifest, 'TARBALL', 'INTEGRITY');
    const key = createHash('sha256').update(JSON.stringify([process.version, INSTALL_FLAGS, productionLock])).digest('hex').slice(0, 16);
    consumer = join(tmpdir(), `o1-embedder-package-test-${key}`);
    await mkdir(consumer, { recursive: true });
    for (let folder = dirname(consumer); folder !== parse(folder).root; folder = dirname(folder)) {
      assert.ok(!existsSync(join(folder, 'node_modules')), `${folder}/node_modules would hide missing dependencies`);
    }
    // --ignore-scripts: the build above already ran; `prepare` would build again.
    const { stdout } = await command('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', consumer], ROOT);
    [pack] = JSON.parse(stdout) as PackResult[];
    const paths = new Set(pack.files.map((file) => file.path));
    for (const path of ['package.json', 'README.md', 'bin/o1e.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
      'models/o1-small/config.json', 'models/o1-small/model.safetensors', 'models/o1-small/tokenizer.json']) {
      assert.ok(paths.has(path), `${path} is in the tarball`);
    }
    const stray = [...paths].filter((path) => /^(src|test|bench|recipe|docs|\.cache|node_modules)\/|^dist\/(src|test|bench|recipe)\/|\.tsbuildinfo$/.test(path));
    assert.deepEqual(stray, []);
    // Every export target ships, and every src/entries/NAME.ts is exported as ./NAME (and back).
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.import]) assert.ok(paths.has(file.replace(/^\.\//, '')), `${subpath}: ${file} ships`);
    }
    const entries = readdirSync(join(ROOT, 'src', 'entries')).filter((name) => name.endsWith('.ts')).map((name) => `./${name.slice(0, -3)}`);
    const exported = Object.keys(manifest.exports).filter((subpath) => subpath !== '.' && subpath !== './package.json');
    assert.deepEqual(exported.sort(), entries.sort(), 'package.json "exports" lists exactly the files of src/entries/');
    assert.ok(pack.size < 20e6, `tarball is ${pack.size} bytes`);

    // The consumer project; reused node_modules keeps its dependencies, never o1-embedder.
    const tarball = `./${pack.filename}`;
    const integrity = `sha512-${createHash('sha512').update(await readFile(join(consumer, pack.filename))).digest('base64')}`;
    await rm(join(consumer, 'node_modules', manifest.name), { recursive: true, force: true });
    await rm(join(consumer, 'node_modules', '.bin', 'o1e'), { force: true });
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [manifest.name]: `file:${tarball}` } }, null, 2));
    await writeFile(join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(lock, manifest, tarball, integrity), null, 2));
    await command('npm', ['install', ...INSTALL_FLAGS], consumer);
    assert.ok(existsSync(join(consumer, 'node_modules', manifest.name, 'dist', 'index.js')));
    assert.ok(existsSync(join(consumer, 'node_modules', 'onnxruntime-node', 'package.json')), 'dependencies were installed');
  });

  test('(a) importing o1-embedder loads neither onnxruntime-node nor node-llama-cpp, and BM25 searches', async () => {
    await writeFile(join(consumer, 'block-native-hooks.mjs'), BLOCK_HOOKS);
    await writeFile(join(consumer, 'block-native.mjs'), REGISTER_BLOCK);
    await writeFile(join(consumer, 'root.mjs'), ROOT_SCRIPT);
    const { stdout } = await command(process.execPath, ['--import', './block-native.mjs', 'root.mjs'], consumer);
    const report = JSON.parse(stdout) as { hits: Hit[]; native: string[]; retrievers: string[]; isError: boolean };
    assert.equal(report.hits[0].id, 'd1');
    assert.equal(report.hits.length, 2);
    assert.ok(report.hits[0].score > report.hits[1].score);
    assert.deepEqual(report.native, []);
    assert.ok(report.retrievers.includes('bm25') && report.retrievers.includes('o1'));
    assert.equal(report.isError, true);
    // The hooks do catch both runtimes: the subpaths that load them fail under them.
    for (const [subpath, runtime] of [['engine', 'onnxruntime-node'], ['llama-cpp', 'node-llama-cpp']]) {
      await assert.rejects(
        command(process.execPath, ['--import', './block-native.mjs', '--input-type=module', '-e', `await import('o1-embedder/${subpath}')`], consumer),
        new RegExp(`blocked: ${runtime}`),
      );
    }
  });

  test('(b) a strict NodeNext TypeScript consumer type-checks against the shipped .d.ts', async () => {
    await writeFile(join(consumer, 'consumer.ts'), CONSUMER_TS);
    await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify(consumerTsconfig(), null, 2));
    await command(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], consumer);
  });

  test('(c) the installed o1e runs the compiled CLI: --help lists every command', async () => {
    const { COMMANDS } = await import('../src/cli/registry.js');
    const { stdout } = await command(join(consumer, 'node_modules', '.bin', 'o1e'), ['--help'], consumer);
    assert.match(stdout, /^usage: o1e COMMAND/);
    assert.equal(stdout.split('usage: o1e').length, 2, 'main ran once (bin/o1e.js calls it; dist/cli/main.js must not run itself when imported)');
    for (const { name } of COMMANDS) assert.match(stdout, new RegExp(`^  ${name} `, 'm'), name);
  });

  test('(d) o1-embedder/engine imports, and the main job runs with the shipped o1-small', async () => {
    const probe = `const engine = await import('o1-embedder/engine');
console.log(JSON.stringify(['O1Model', 'prepareO1Model', 'DecoderModel', 'Graph', 'loadTokenizer', 'readGguf'].filter((name) => typeof engine[name] !== 'function')));`;
    const { stdout } = await command(process.execPath, ['--input-type=module', '-e', probe], consumer);
    assert.deepEqual(JSON.parse(stdout), [], 'functions missing from o1-embedder/engine');
    const model = join(consumer, 'node_modules', manifest.name, 'models', 'o1-small');
    const evaluation = await command(join(consumer, 'node_modules', '.bin', 'o1e'),
      ['eval', '--data', beir, '--retriever', 'o1', '--model', model, '--thoughts', '1', '--max-new-tokens', '4', '--threads', '1', '--quiet', '--json'], consumer);
    const report = JSON.parse(evaluation.stdout) as { queries: number; metrics: Record<string, number> };
    assert.equal(report.queries, 3);
    assert.ok(report.metrics.ndcg_cut_10 >= 0 && report.metrics.ndcg_cut_10 <= 1, JSON.stringify(report.metrics));
  });
});
