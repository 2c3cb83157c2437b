import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadJsonConfig } from '../../backends/settings.js';
import { O1Error } from '../../errors.js';
import { addToIndex, buildIndex, deleteFromIndex, openIndex, type IndexOperationReport } from '../../indexes/index.js';
import { versionPath } from '../../indexes/layout.js';
import { retrieverNames } from '../../retrieval/registry.js';
import type { RetrieverConfig } from '../../retrieval/retriever.js';
import type { VectorStoreConfig } from '../../stores/vector-store.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger } from '../arguments.js';

const USAGE = `usage: o1e index (--data DIR | --corpus FILE.jsonl) --retriever CONFIG [--store CONFIG]
                 --out INDEX [--batch-size 64] [--json] [--quiet]
       o1e index add INDEX --corpus NEW.jsonl [--store CONFIG] [--batch-size 64] [--json] [--quiet]
       o1e index delete INDEX --ids FILE [--store CONFIG] [--json] [--quiet]
       o1e index info INDEX [--json]

Builds a persistent index folder: a manifest, the documents, a BM25 index per bm25 retriever
and the document vectors of each dense or o1 retriever in a vector store. Searches (o1e search,
o1e eval --index) think as the retriever config says; thinking never touches the documents.
Building is resumable: killed at any moment, the same command again embeds only what is
missing and ends with the same index. Each build, add and delete publishes a complete new
version atomically, so readers never see a half-written index. An --out that exists and is not
an empty folder, this same build or an interrupted run of it is refused, and nothing is written.

  --data DIR          a BEIR folder (its corpus.jsonl)
  --corpus FILE       a BEIR corpus.jsonl
  --retriever CONFIG  inline JSON or a JSON file: bm25, dense (any embedder), o1, or fused of
                      those, e.g. '{"retriever":"o1","model":"models/o1-small"}'; a bare name
                      (bm25) is {"retriever":"bm25"}
  --store CONFIG      where vectors go (default {"store":"flat"}, a file in the index);
                      {"store":"hnsw",...} (usearch, in the index) or
                      {"store":"pgvector","connectionString":"postgres://...","table":"t"};
                      with add/delete, settings for the index's own store (a connection string)
  --out INDEX         the index folder
  --batch-size N      documents per embedding batch and journal entry (default 64)
  add INDEX           embeds and adds the documents of --corpus (an id already in the index is
                      DUPLICATE_ID naming file:line; nothing is written)
  delete INDEX        removes the ids listed in --ids FILE (one per line)
  info INDEX          the manifest's summary and the bytes on disk
  --json              print one JSON object
  --quiet             no progress bars
`;

const OPTIONS = {
  data: { type: 'string' },
  corpus: { type: 'string' },
  retriever: { type: 'string' },
  store: { type: 'string' },
  out: { type: 'string' },
  ids: { type: 'string' },
  'batch-size': { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

type Values = Record<string, string | boolean | undefined>;

/** A --retriever argument: inline JSON, a JSON file, or a bare retriever name. */
async function retrieverArgument(text: string): Promise<RetrieverConfig> {
  if (!text.trimStart().startsWith('{') && !existsSync(text) && retrieverNames().includes(text)) return { retriever: text };
  const config = await loadJsonConfig(text, 'retriever');
  if (typeof config.retriever !== 'string') throw new O1Error('BAD_ARGUMENT', '--retriever needs a "retriever" name, e.g. {"retriever":"bm25"}', { field: 'retriever' });
  return config as RetrieverConfig;
}

async function storeArgument(values: Values): Promise<VectorStoreConfig | undefined> {
  if (values.store === undefined) return undefined;
  const config = await loadJsonConfig(values.store as string, 'store');
  if (typeof config.store !== 'string') throw new O1Error('BAD_ARGUMENT', '--store needs a "store" name, e.g. {"store":"flat"}', { field: 'store' });
  return config as VectorStoreConfig;
}

function refuse(values: Values, options: string[], reason: string): void {
  for (const option of options) {
    if (values[option] !== undefined && values[option] !== false) throw new O1Error('BAD_ARGUMENT', `--${option} ${reason}`, { field: option });
  }
}

function batchSize(values: Values): number | undefined {
  return values['batch-size'] === undefined ? undefined : parseInteger(values['batch-size'] as string, 'batch-size', 1);
}

function describe(report: IndexOperationReport): string {
  const seconds = ((report.timings.totalMs ?? 0) / 1000).toFixed(1);
  if (report.upToDate) {
    const missing = report.missing ? ` (${report.missing} ids not in the index)` : '';
    return `${report.index}: up to date, version ${report.version}, ${report.documents} documents${missing}\n`;
  }
  const change = report.operation === 'delete' ? `deleted ${report.deleted}${report.missing ? ` (${report.missing} ids not in the index)` : ''}` : `added ${report.added}`;
  const embedded = report.parts.filter((part) => part.kind === 'dense').map((part) => `${part.name}: ${part.embedded} embedded${part.resumed ? `, ${part.resumed} from the journal` : ''}`);
  return `${report.index}: ${report.operation} ${report.resumed ? '(resumed) ' : ''}published version ${report.version}, ${change}, ${report.documents} documents${embedded.length > 0 ? ` (${embedded.join('; ')})` : ''} in ${seconds} s\n`;
}

/** Bytes of every file under `path`. */
async function folderBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    total += entry.isDirectory() ? await folderBytes(child) : (await stat(child)).size;
  }
  return total;
}

async function info(path: string, json: boolean): Promise<void> {
  const started = performance.now();
  const index = await openIndex(path);
  const openMs = Math.round(performance.now() - started);
  try {
    const manifest = index.manifest;
    const directory = versionPath(path, manifest.version);
    const files: Record<string, number> = {};
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      files[entry.name] = entry.isDirectory() ? await folderBytes(join(directory, entry.name)) : (await stat(join(directory, entry.name))).size;
    }
    const bytes = Object.values(files).reduce((sum, size) => sum + size, 0);
    const summary = { index: path, version: manifest.version, documents: manifest.corpus.documents, retriever: manifest.retriever, store: manifest.store, created: manifest.created, updated: manifest.updated, parts: manifest.parts, files, bytes, openMs };
    if (json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    process.stdout.write(`${path}: version ${manifest.version}, ${manifest.corpus.documents} documents, retriever ${JSON.stringify(manifest.retriever)}\n`);
    for (const part of manifest.parts) {
      process.stdout.write(part.kind === 'bm25' ? `  ${part.name}: BM25 (${part.analyzer}), ${part.terms} terms\n` : `  ${part.name}: ${part.retriever}, ${part.count} vectors of ${part.embedder.dimension} in ${part.store.store}, embedder ${part.embedder.identity}\n`);
    }
    for (const [name, size] of Object.entries(files)) process.stdout.write(`  ${name.padEnd(16)} ${size.toLocaleString('en-US')} bytes\n`);
    process.stdout.write(`  total            ${bytes.toLocaleString('en-US')} bytes; opened in ${openMs} ms\n`);
  } finally {
    await index.close();
  }
}

/** `o1e index`: build, add to, delete from and describe persistent indexes. */
export const indexCommand: Command = {
  name: 'index',
  summary: 'build a persistent index folder (BM25, vectors in a store), add to it, delete from it',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    const quiet = values.quiet || values.json;
    const [verb, path, ...rest] = positionals;
    if (rest.length > 0) throw new O1Error('BAD_ARGUMENT', `unexpected argument '${rest[0]}'`);
    let report: IndexOperationReport;
    if (verb === undefined) {
      refuse(values, ['ids'], 'goes with o1e index delete');
      if (values.out === undefined) throw new O1Error('BAD_ARGUMENT', '--out INDEX is required', { field: 'out' });
      if (values.retriever === undefined) throw new O1Error('BAD_ARGUMENT', '--retriever CONFIG is required', { field: 'retriever' });
      if ((values.data === undefined) === (values.corpus === undefined)) throw new O1Error('BAD_ARGUMENT', 'give --data DIR or --corpus FILE (one of them)', { field: 'data' });
      report = await buildIndex({
        data: values.data, corpus: values.corpus, out: values.out, retriever: await retrieverArgument(values.retriever),
        store: await storeArgument(values), batchSize: batchSize(values), quiet,
      });
    } else if (verb === 'add' || verb === 'delete' || verb === 'info') {
      if (path === undefined) throw new O1Error('BAD_ARGUMENT', `o1e index ${verb} needs the INDEX folder`);
      refuse(values, ['data', 'retriever', 'out'], `does not apply to o1e index ${verb}`);
      if (verb === 'info') {
        refuse(values, ['corpus', 'ids', 'store', 'batch-size'], 'does not apply to o1e index info');
        await info(path, values.json);
        return 0;
      }
      // On an existing index the store is the manifest's; --store only adds settings (a password).
      const { store: _name, ...store } = (await storeArgument(values)) ?? { store: '' };
      if (verb === 'add') {
        refuse(values, ['ids'], 'goes with o1e index delete');
        if (values.corpus === undefined) throw new O1Error('BAD_ARGUMENT', 'o1e index add needs --corpus NEW.jsonl', { field: 'corpus' });
        report = await addToIndex(path, { corpus: values.corpus, store, batchSize: batchSize(values), quiet });
      } else {
        refuse(values, ['corpus', 'batch-size'], 'does not apply to o1e index delete');
        if (values.ids === undefined) throw new O1Error('BAD_ARGUMENT', 'o1e index delete needs --ids FILE (one id per line)', { field: 'ids' });
        report = await deleteFromIndex(path, { idsFile: values.ids, store, quiet });
      }
    } else {
      throw new O1Error('BAD_ARGUMENT', `unknown index action '${verb}' (add, delete, info; building takes options only)`);
    }
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : describe(report));
    return 0;
  },
};
