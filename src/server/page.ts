/**
 * The search page `o1e serve --ui` serves at `/`: one self-contained HTML document (no network
 * beyond this server's own `/health` and `/v1/search`; inline style and script, allowed by a
 * Content-Security-Policy that names the script's hash). It shows a search box, a switch between
 * the retrievers the server can search (e.g. fused, bm25, o1 for a fused index), a "think"
 * toggle, the hits (title, id, score, the snippet with the matched words marked), the thoughts
 * as "what the model thought", and the latency (the server's and the round trip's).
 * Everything from the server is inserted as text, never as HTML.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --line: #d1d5db; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
#about { color: var(--muted); margin: 0 0 1rem; font-size: .9rem; }
form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-bottom: 1rem; }
#query { flex: 1 1 20rem; font: inherit; padding: .5rem .75rem; border: 1px solid var(--line); border-radius: .4rem; }
button { font: inherit; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: white; cursor: pointer; }
fieldset { border: 0; padding: 0; margin: 0; display: flex; gap: .25rem; }
fieldset label { border: 1px solid var(--line); border-radius: .4rem; padding: .3rem .7rem; cursor: pointer; }
fieldset input { margin: 0 .3rem 0 0; }
#status { color: var(--muted); font-size: .9rem; min-height: 1.5em; }
#error { color: #b91c1c; }
#thoughts { border-left: 3px solid var(--accent); padding: .25rem .75rem; margin: .75rem 0; }
#thoughts h2, #results h2 { font-size: 1rem; margin: 0 0 .25rem; }
#thoughts ol { margin: 0; padding-left: 1.25rem; }
#hits { padding-left: 1.5rem; }
#hits li { margin: 0 0 1rem; }
.title { font-weight: 600; }
.meta { color: var(--muted); font-size: .85rem; }
mark { background: #fde68a; color: inherit; padding: 0 .1em; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const state = { retrievers: [], key: sessionStorage.getItem('o1e-api-key') || '' };

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

function markedSnippet(snippet, highlights) {
  const node = document.createElement('div');
  let at = 0;
  for (const [start, end] of highlights || []) {
    if (start > at) node.append(snippet.slice(at, start));
    node.append(text('mark', snippet.slice(start, end)));
    at = end;
  }
  node.append(snippet.slice(at));
  return node;
}

async function loadHealth() {
  const answer = await fetch('/health');
  const health = await answer.json();
  const search = health.search;
  if (!search) {
    $('about').textContent = 'This server has no search index.';
    return;
  }
  state.retrievers = search.retrievers || [search.retriever];
  $('about').textContent = search.documents + ' documents' + (health.models.length ? ' · models: ' + health.models.join(', ') : '');
  const switcher = $('retrievers');
  switcher.replaceChildren();
  const wanted = new URLSearchParams(location.search).get('retriever');
  state.retrievers.forEach((name, index) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'retriever';
    input.value = name;
    input.checked = wanted ? wanted === name : index === 0;
    label.append(input, name);
    switcher.append(label);
  });
}

function selectedRetriever() {
  const chosen = document.querySelector('input[name=retriever]:checked');
  return chosen ? chosen.value : undefined;
}

async function search(event) {
  if (event) event.preventDefault();
  const query = $('query').value.trim();
  if (!query) return;
  const retriever = selectedRetriever();
  const body = { query, hits: Number($('hits-count').value) };
  if (retriever) body.retriever = retriever;
  if (!$('think').checked) body.thinker = false;
  const params = new URLSearchParams({ q: query });
  if (retriever) params.set('retriever', retriever);
  history.replaceState(null, '', '?' + params);
  $('error').textContent = '';
  $('status').textContent = 'searching' + (body.thinker === false ? '' : ' (thinking first)') + '…';
  $('results').hidden = true;
  const headers = { 'content-type': 'application/json' };
  if (state.key) headers.authorization = 'Bearer ' + state.key;
  const started = performance.now();
  let answer;
  try {
    answer = await fetch('/v1/search', { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (error) {
    $('status').textContent = '';
    $('error').textContent = 'The server did not answer: ' + error.message;
    return;
  }
  const roundTrip = performance.now() - started;
  const result = await answer.json().catch(() => ({}));
  if (answer.status === 401) {
    const key = prompt('This server needs an API key:');
    if (key) {
      state.key = key;
      sessionStorage.setItem('o1e-api-key', key);
      return search();
    }
  }
  if (!answer.ok) {
    $('status').textContent = '';
    $('error').textContent = (result.error && result.error.message) || ('HTTP ' + answer.status);
    return;
  }
  render(result, roundTrip);
}

function render(result, roundTrip) {
  $('status').textContent = result.hits.length + ' hits from ' + result.retriever + ' · ' + result.latency_ms + ' ms on the server, ' + Math.round(roundTrip) + ' ms round trip';
  $('latency').textContent = String(result.latency_ms);
  const thoughts = $('thought-list');
  thoughts.replaceChildren();
  for (const thought of result.thoughts || []) thoughts.append(text('li', thought.trim() || '(an empty thought)'));
  $('thoughts').hidden = (result.thoughts || []).length === 0;
  const hits = $('hits');
  hits.replaceChildren();
  for (const hit of result.hits) {
    const item = document.createElement('li');
    item.className = 'hit';
    item.append(text('div', hit.title || hit.id, 'title'));
    item.append(text('div', 'score ' + hit.score.toFixed(4) + ' · id ' + hit.id, 'meta'));
    const snippet = markedSnippet(hit.snippet, hit.highlights);
    snippet.className = 'snippet';
    item.append(snippet);
    hits.append(item);
  }
  $('results').hidden = false;
}

$('form').addEventListener('submit', search);
$('retrievers').addEventListener('change', () => { if ($('query').value.trim()) search(); });
loadHealth().then(() => {
  const query = new URLSearchParams(location.search).get('q');
  if (query) { $('query').value = query; search(); }
}).catch((error) => { $('error').textContent = 'Could not read /health: ' + error.message; });
`;

const BODY = `
<h1>o1-embedder search</h1>
<p id="about">loading…</p>
<form id="form" role="search">
  <input id="query" type="search" name="q" placeholder="Ask a question" autocomplete="off" autofocus aria-label="query">
  <button type="submit">Search</button>
  <fieldset id="retrievers" aria-label="retriever"></fieldset>
  <label><input id="think" type="checkbox" checked> think</label>
  <label>hits <select id="hits-count"><option>10</option><option>20</option><option>50</option></select></label>
</form>
<div id="status" role="status"></div>
<div id="error" role="alert"></div>
<section id="thoughts" hidden><h2>What the model thought</h2><ol id="thought-list"></ol></section>
<section id="results" hidden><h2>Results <span class="meta">(<span id="latency"></span> ms)</span></h2><ol id="hits"></ol></section>
`;

/** The page and the Content-Security-Policy that lets exactly its inline script and style run. */
export interface SearchPage {
  html: string;
  contentSecurityPolicy: string;
}

let page: SearchPage | undefined;

/**
 * The search page (built once).
 *
 * @example
 * const { html, contentSecurityPolicy } = searchPage();
 * reply.header('content-security-policy', contentSecurityPolicy).type('text/html').send(html);
 */
export function searchPage(): SearchPage {
  if (page !== undefined) return page;
  const hash = (source: string) => `'sha256-${createHash('sha256').update(source).digest('base64')}'`;
  page = {
    html: `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>o1-embedder search</title>\n<link rel="icon" href="data:,">\n<style>${STYLE}</style>\n</head>\n<body>${BODY}<script>${SCRIPT}</script>\n</body>\n</html>\n`,
    contentSecurityPolicy: `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  };
  return page;
}
