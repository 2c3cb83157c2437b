import { loadJsonConfig } from '../../backends/settings.js';
import type { ThinkerConfig } from '../../backends/thinker.js';
import { O1Error } from '../../errors.js';
import { formatSnippet, markedSnippet, openIndex } from '../../indexes/index.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger } from '../arguments.js';

const USAGE = `usage: o1e search INDEX "QUERY" [--hits 10] [--thinker CONFIG] [--snippet-chars 220] [--json]

Searches an index folder built by o1e index and prints the ranked hits: rank, id, score,
title, and a snippet of the text with the query's words marked (matched as BM25 matches them,
so "running" marks "runs"; ANSI bold on a terminal, «word» otherwise), then the thoughts the
query was searched with. It thinks as the index's retriever config says, unless --thinker
gives another thinker (CONFIG is inline JSON or a JSON file).

  --hits N            hits to print (default 10)
  --thinker CONFIG    think with this thinker, e.g. '{"backend":"file","path":"thoughts.jsonl"}'
  --snippet-chars N   longest snippet (default 220)
  --json              print one JSON object: {index, version, query, hits: [{rank, id, score,
                      title, snippet, highlights}], thoughts, timings}; highlights are
                      [start, end) offsets of the marked words in snippet
`;

const OPTIONS = {
  hits: { type: 'string', default: '10' },
  thinker: { type: 'string' },
  'snippet-chars': { type: 'string', default: '220' },
  json: { type: 'boolean', default: false },
} as const;

/** `o1e search`: ranked hits from a persistent index. */
export const searchCommand: Command = {
  name: 'search',
  summary: 'search a persistent index: ranked hits with titles, marked snippets and thoughts',
  usage: USAGE,
  async run(argv) {
    const started = performance.now();
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    const [path, query, ...rest] = positionals;
    if (path === undefined || query === undefined) throw new O1Error('BAD_ARGUMENT', 'o1e search needs an INDEX folder and a "QUERY"');
    if (rest.length > 0) throw new O1Error('BAD_ARGUMENT', `unexpected argument '${rest[0]}' (quote the query)`);
    if (query.trim() === '') throw new O1Error('BAD_ARGUMENT', 'the query is empty', { field: 'query' });
    const hits = parseInteger(values.hits, 'hits', 1);
    const maxChars = parseInteger(values['snippet-chars'], 'snippet-chars', 20);
    const thinker = values.thinker === undefined ? undefined : (await loadJsonConfig(values.thinker, 'thinker')) as ThinkerConfig;
    const index = await openIndex(path, { thinker });
    try {
      const opened = performance.now();
      const result = await index.search(query, { hits });
      const searched = performance.now();
      const rows = result.hits.map((hit, position) => ({ rank: position + 1, id: hit.id, score: hit.score, title: hit.document.title, ...markedSnippet(hit.document.text, query, { maxChars }) }));
      const timings = { openMs: Math.round(opened - started), searchMs: Math.round(searched - opened) };
      if (values.json) {
        const output = {
          index: path,
          version: index.manifest.version,
          query,
          hits: rows.map(({ text, ...row }) => ({ ...row, snippet: text })),
          thoughts: result.thoughts ?? null,
          timings,
        };
        process.stdout.write(`${JSON.stringify(output)}\n`);
        return 0;
      }
      const terminal = process.stdout.isTTY === true;
      const mark = terminal ? (word: string) => `\x1b[1m${word}\x1b[22m` : (word: string) => `«${word}»`;
      const lines: string[] = [];
      if (rows.length === 0) lines.push('no hits');
      for (const row of rows) {
        lines.push(`${String(row.rank).padStart(3)}. ${row.id}  ${row.score.toFixed(4)}  ${row.title}`);
        lines.push(`     ${formatSnippet(row, mark)}`);
      }
      if (result.thoughts !== undefined && result.thoughts.length > 0) {
        lines.push('thoughts:');
        for (const thought of result.thoughts) lines.push(`  - ${thought.replace(/\s+/g, ' ').trim() || '(empty)'}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      await index.close();
    }
  },
};
