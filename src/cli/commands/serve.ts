import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Embedder, EmbedderConfig } from '../../backends/embedder.js';
import { createEmbedder } from '../../backends/registry.js';
import { loadJsonConfig } from '../../backends/settings.js';
import type { ThinkerConfig } from '../../backends/thinker.js';
import { readCorpus } from '../../data/beir.js';
import { O1Error } from '../../errors.js';
import type { RetrieverConfig } from '../../retrieval/retriever.js';
import { buildSearchSource, type SearchSource } from '../../server/search.js';
import { apiKeysFromEnvironment } from '../../server/security.js';
import { startServer } from '../../server/server.js';
import { QueryThinker } from '../../thinking/query-thinker.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger, rejectPositionals } from '../arguments.js';

const USAGE = `usage: o1e serve --model PATH | [--thinker CONFIG] [--embedder CONFIG]
                 [--index INDEX | --retriever CONFIG --data DIR | --corpus FILE.jsonl]
                 [--host 127.0.0.1] [--port 8080] [--api-key-env NAME] [--cors ORIGIN]
                 [--max-batch 64] [--max-wait-ms 5] [--max-queue 10000] [--timeout-ms 60000]
                 [--body-limit 16MiB] [--max-inputs 2048] [--max-tokens-per-input 8192]
                 [--threads N] [--thought-cache FILE] [--ui] [--quiet]

Serves thinking embeddings and search over HTTP (Fastify), OpenAI-compatible:
  POST /v1/embeddings     input (string or array), encoding_format float|base64, usage; extension
                          input_type "query"|"document" (default document); queries think first
                          when the server has a thinker (body: thoughts, temperature, top_p,
                          seed, max_thought_tokens, or "think": false) and return data[i].thoughts
  POST /v1/search         {"query", "hits": 10, "thinker": false | {settings}, "retriever"?} ->
                          hits with id, title, snippet, score, thoughts, and latency_ms;
                          "retriever" picks one member of a fused index ("bm25", "o1", ...)
  GET  /                  with --ui: a search page (query box, hits, thoughts, latency, a
                          switch between the index's retrievers)
  POST /v1/chat/completions, /v1/completions   the thinker, proxied (non-streaming)
  GET  /v1/models, /health (no key needed), /metrics (Prometheus text)
Texts of concurrent requests are batched; a client that disconnects cancels its queued work.
Runs until SIGINT or SIGTERM, then stops accepting and drains requests in flight (a second
signal exits at once).

  --model PATH       an O1 model as both thinker and embedder (one loaded copy), e.g.
                     models/o1-small
  --thinker CONFIG   thinker config, a JSON file or inline JSON, with thinking settings beside
                     the backend's: '{"backend":"engine","model":"M","thoughts":3}'
  --embedder CONFIG  embedder config, same forms: '{"backend":"llama-cpp","model":"e.gguf"}'
  --index INDEX      /v1/search over a prebuilt index (o1e index): its retriever, thinking as
                     configured (or with --thinker), and its stored documents; --model is then
                     optional (embeddings)
  --retriever CONFIG what /v1/search searches (default {"retriever":"bm25"} when a corpus is
                     given); {"retriever":"dense"} searches with the served embedder
  --data DIR         BEIR folder whose corpus.jsonl is indexed for /v1/search
  --corpus FILE      a BEIR corpus.jsonl to index instead
  --host HOST        interface (default 127.0.0.1)
  --port N           port; 0 picks a free one (default 8080)
  --api-key-env NAME require 'Authorization: Bearer KEY' with a key from the environment
                     variable NAME (several comma-separated allowed; default O1E_API_KEY when
                     set, else no key)
  --cors ORIGIN      answer CORS for ORIGIN (or *); default off
  --max-batch N      most texts per model call (default 64)
  --max-wait-ms N    longest a text waits for its batch to fill (default 5)
  --max-queue N      most texts waiting per queue, then 429 (default 10000)
  --timeout-ms N     deadline per request, then 504 and its work cancelled (default 60000)
  --body-limit SIZE  largest request body, bytes or with KiB/MiB (default 16MiB), then 413
  --max-inputs N     most inputs per embeddings request (default 2048)
  --max-tokens-per-input N  most tokens per input, estimated as UTF-8 bytes / 4 (default 8192)
  --threads N        with --model: ONNX Runtime threads
  --thought-cache FILE  JSONL thought cache (read, then appended to), reused across restarts
  --ui               serve the search page at / (needs --index, --data or --corpus)
  --quiet            print nothing but the listening line and errors
`;

const OPTIONS = {
  model: { type: 'string' },
  thinker: { type: 'string' },
  embedder: { type: 'string' },
  retriever: { type: 'string' },
  index: { type: 'string' },
  data: { type: 'string' },
  corpus: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  'api-key-env': { type: 'string' },
  cors: { type: 'string' },
  'max-batch': { type: 'string', default: '64' },
  'max-wait-ms': { type: 'string', default: '5' },
  'max-queue': { type: 'string', default: '10000' },
  'timeout-ms': { type: 'string', default: '60000' },
  'body-limit': { type: 'string', default: '16MiB' },
  'max-inputs': { type: 'string', default: '2048' },
  'max-tokens-per-input': { type: 'string', default: '8192' },
  threads: { type: 'string' },
  'thought-cache': { type: 'string' },
  ui: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

/**
 * Parses a size in bytes: an integer, optionally with a unit (B, KB/KiB, MB/MiB, GB/GiB; the
 * decimal and binary spellings both mean powers of 1024).
 *
 * @example
 * parseByteSize('16MiB', 'body-limit') // 16777216
 */
export function parseByteSize(text: string, option: string): number {
  const match = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (match === null) throw new O1Error('BAD_ARGUMENT', `--${option} must be a size such as 1048576, 512KiB or 16MiB, got '${text}'`, { field: option });
  const unit = (match[2] ?? 'b').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const value = Number.parseInt(match[1], 10) * scale;
  if (value < 1) throw new O1Error('BAD_ARGUMENT', `--${option} must be at least 1 byte`, { field: option });
  return value;
}

/**
 * /v1/search over a persistent index (o1e index): its retriever and its stored documents,
 * thinking as the index is configured, or with `thinker` (--thinker) when one is given.
 */
async function indexSearchSource(path: string, thinker?: ThinkerConfig): Promise<SearchSource> {
  const { openIndex } = await import('../../indexes/index.js');
  const index = await openIndex(path, thinker === undefined ? {} : { thinker });
  return {
    retriever: index.retriever(),
    documents: (ids) => index.documents.get(ids),
    retrieverNames: () => index.retrieverNames(),
    retrieverNamed: (name) => index.retriever(name),
    close: () => index.close(),
  };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve thinking embeddings, search and a thinker over an OpenAI-compatible HTTP API',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    rejectPositionals(positionals);
    if (values.model !== undefined && (values.thinker !== undefined || values.embedder !== undefined)) {
      throw new O1Error('BAD_ARGUMENT', '--model is the thinker and the embedder: give --model, or --thinker and/or --embedder', { field: 'model' });
    }
    if (values.model === undefined && values.thinker === undefined && values.embedder === undefined && values.index === undefined) {
      throw new O1Error('BAD_ARGUMENT', 'give --index INDEX, --model PATH, or --thinker CONFIG and/or --embedder CONFIG', { field: 'model' });
    }
    if (values.index !== undefined && (values.data !== undefined || values.corpus !== undefined || values.retriever !== undefined)) {
      throw new O1Error('BAD_ARGUMENT', '--index searches a prebuilt index: it does not take --data, --corpus or --retriever', { field: 'index' });
    }
    if (values.ui && values.index === undefined && values.data === undefined && values.corpus === undefined) {
      throw new O1Error('BAD_ARGUMENT', '--ui serves a search page: give --index INDEX (or --data DIR / --corpus FILE)', { field: 'ui' });
    }
    if (values.data !== undefined && values.corpus !== undefined) throw new O1Error('BAD_ARGUMENT', 'give --data DIR or --corpus FILE, not both', { field: 'corpus' });
    const corpusPath = values.data !== undefined ? join(values.data, 'corpus.jsonl') : values.corpus;
    if (values.retriever !== undefined && corpusPath === undefined) throw new O1Error('BAD_ARGUMENT', '--retriever needs documents to index: add --data DIR or --corpus FILE', { field: 'retriever' });
    if (corpusPath !== undefined && !existsSync(corpusPath)) throw new O1Error('MISSING_FILE', 'the corpus does not exist', { file: corpusPath });
    const threads = values.threads === undefined ? undefined : parseInteger(values.threads, 'threads', 1);
    const limits = {
      port: parseInteger(values.port, 'port', 0),
      maxBatch: parseInteger(values['max-batch'], 'max-batch', 1),
      maxWaitMs: parseInteger(values['max-wait-ms'], 'max-wait-ms', 0),
      maxQueue: parseInteger(values['max-queue'], 'max-queue', 1),
      timeoutMs: parseInteger(values['timeout-ms'], 'timeout-ms', 1),
      bodyLimit: parseByteSize(values['body-limit'], 'body-limit'),
      maxInputs: parseInteger(values['max-inputs'], 'max-inputs', 1),
      maxTokensPerInput: parseInteger(values['max-tokens-per-input'], 'max-tokens-per-input', 1),
    };
    const keyVariable = values['api-key-env'] ?? (process.env.O1E_API_KEY === undefined ? undefined : 'O1E_API_KEY');
    const apiKey = keyVariable === undefined ? undefined : apiKeysFromEnvironment(keyVariable);
    const retrieverConfig = values.retriever === undefined ? undefined : await loadJsonConfig(values.retriever, 'retriever') as RetrieverConfig;

    let thinkerConfig: ThinkerConfig | undefined;
    let embedderConfig: EmbedderConfig | undefined;
    if (values.model !== undefined) {
      // Both roles on one engine model: the runtime shares one loaded copy between them.
      thinkerConfig = { backend: 'engine', model: values.model, ...(threads === undefined ? {} : { threads }) };
      embedderConfig = { backend: 'engine', model: values.model, ...(threads === undefined ? {} : { threads }) };
    } else {
      if (values.thinker !== undefined) thinkerConfig = await loadJsonConfig(values.thinker, 'thinker') as ThinkerConfig;
      if (values.embedder !== undefined) embedderConfig = await loadJsonConfig(values.embedder, 'embedder') as EmbedderConfig;
    }
    if (thinkerConfig !== undefined && values['thought-cache'] !== undefined) thinkerConfig = { ...thinkerConfig, thoughtCache: values['thought-cache'] };

    let queryThinker: QueryThinker | undefined;
    let embedder: Embedder | undefined;
    try {
      if (thinkerConfig !== undefined) queryThinker = await QueryThinker.create(thinkerConfig);
      if (embedderConfig !== undefined) embedder = await createEmbedder(embedderConfig);
      const server = await startServer({
        ...limits,
        host: values.host,
        apiKey,
        cors: values.cors,
        ui: values.ui,
        thinker: queryThinker?.thinker,
        queryThinker,
        embedder,
        search: values.index !== undefined ? () => indexSearchSource(values.index as string, values.thinker === undefined ? undefined : thinkerConfig)
          : corpusPath === undefined ? undefined : (parts) => buildSearchSource({ retriever: retrieverConfig, corpus: readCorpus(corpusPath), embedder: parts.embedder, quiet: values.quiet }),
      });
      const served = [
        queryThinker && `thinker ${queryThinker.thinker.model} (${queryThinker.thinker.backend})`,
        embedder && `embedder ${embedder.model} (${embedder.backend})`,
        server.search && `search ${server.search.retriever.name} over ${server.search.retriever.statistics().documents} documents`,
      ].filter(Boolean).join(', ');
      // Always printed (even with --quiet) on stdout: scripts read the URL from it.
      process.stdout.write(`listening on ${server.url} (${served})\n`);
      if (values.ui && !values.quiet) process.stderr.write(`search page: ${server.url.replace(/\/v1$/, '')}/\n`);
      const [signal] = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]) as [string | undefined];
      // A second signal means "now": skip the drain.
      const force = (): never => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      if (!values.quiet) process.stderr.write(`o1e serve: ${signal ?? 'signal'}, draining requests in flight and shutting down\n`);
      await server.close();
    } finally {
      await queryThinker?.close();
      await embedder?.close();
    }
    return 0;
  },
};
