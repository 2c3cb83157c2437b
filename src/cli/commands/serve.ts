import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { O1Error } from '../../errors.js';
import type { Embedder } from '../../backends/embedder.js';
import type { Thinker } from '../../backends/thinker.js';
import { createEmbedder, createThinker } from '../../backends/registry.js';
import { loadJsonConfig } from '../../backends/settings.js';
import { startOpenAiServer } from '../../server/openai-server.js';
import type { Command } from '../command.js';
import { parseInteger } from '../arguments.js';

const USAGE = `usage: o1e serve [--thinker CONFIG] [--embedder CONFIG] [--port 8080] [--host 127.0.0.1]
                 [--api-key KEY] [--quiet]

Serves a thinker and/or an embedder over an OpenAI-compatible HTTP API: POST /v1/chat/completions,
/v1/completions, /v1/embeddings and GET /v1/models. Runs until SIGINT or SIGTERM.

  --thinker CONFIG   thinker config: a JSON file or inline JSON, e.g.
                     '{"backend":"llama-cpp","model":"model.gguf","threads":1}'
  --embedder CONFIG  embedder config, same forms (backends: openai, llama-cpp, and any registered)
  --port N           port; 0 picks a free one (default 8080)
  --host HOST        interface (default 127.0.0.1)
  --api-key KEY      require 'Authorization: Bearer KEY' (default: none; also O1E_API_KEY)
  --quiet            print nothing but errors
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve a thinker and/or embedder over an OpenAI-compatible HTTP API',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        thinker: { type: 'string' },
        embedder: { type: 'string' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        'api-key': { type: 'string' },
        quiet: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.thinker === undefined && values.embedder === undefined) {
      throw new O1Error('BAD_ARGUMENT', 'give --thinker CONFIG, --embedder CONFIG or both', { field: 'thinker' });
    }
    const port = parseInteger(values.port, 'port', 0);
    let thinker: Thinker | undefined;
    let embedder: Embedder | undefined;
    try {
      if (values.thinker !== undefined) thinker = await createThinker(await loadJsonConfig(values.thinker, 'thinker') as never);
      if (values.embedder !== undefined) embedder = await createEmbedder(await loadJsonConfig(values.embedder, 'embedder') as never);
      const server = await startOpenAiServer({ thinker, embedder, host: values.host, port, apiKey: values['api-key'] ?? process.env.O1E_API_KEY });
      const served = [thinker && `thinker ${thinker.model} (${thinker.backend})`, embedder && `embedder ${embedder.model} (${embedder.backend})`].filter(Boolean).join(', ');
      // Always printed (even with --quiet) on stdout: scripts read the URL from it.
      process.stdout.write(`listening on ${server.url} (${served})\n`);
      const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      if (!values.quiet) process.stderr.write(`o1e serve: ${String(signal[0] ?? 'signal')}, shutting down\n`);
      await server.close();
    } finally {
      await thinker?.close();
      await embedder?.close();
    }
    return 0;
  },
};
