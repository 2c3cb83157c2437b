import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Folder-level architecture: the top-level folders of src/ must import one another without
 * cycles, so each concept can be understood (and built) on top of the ones below it.
 * src/errors.ts and src/index.ts sit at the root and may be imported from anywhere.
 */

const SOURCE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const ROOT = '(root)';

/** Every .ts file under `directory`, recursively. */
function typescriptFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...typescriptFiles(path));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

/** Relative module specifiers of static imports, re-exports and dynamic imports in `source`. */
function relativeSpecifiers(source: string): string[] {
  // Comments may quote example imports (JSDoc @example blocks); drop them first. The string
  // literals of real imports never contain comment markers in this code base.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      if (match[1]!.startsWith('.')) specifiers.push(match[1]!);
    }
  }
  return specifiers;
}

/** The top-level folder of src/ that `path` lies in, or ROOT for files directly in src/. */
function folderOf(path: string): string {
  const parts = relative(SOURCE_ROOT, path).split(sep);
  return parts.length === 1 ? ROOT : parts[0]!;
}

interface Edge {
  from: string;
  to: string;
  /** One example import that creates the edge: `file -> specifier`. */
  example: string;
}

/** The folder graph: folder -> imported folder -> an example import. */
function folderGraph(): Map<string, Map<string, Edge>> {
  const graph = new Map<string, Map<string, Edge>>();
  for (const file of typescriptFiles(SOURCE_ROOT)) {
    const from = folderOf(file);
    for (const specifier of relativeSpecifiers(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), specifier);
      if (relative(SOURCE_ROOT, target).startsWith('..')) continue;
      const to = folderOf(target);
      if (to === from || to === ROOT) continue;
      const edges = graph.get(from) ?? new Map<string, Edge>();
      graph.set(from, edges);
      if (!edges.has(to)) edges.set(to, { from, to, example: `src/${relative(SOURCE_ROOT, file)} imports '${specifier}'` });
    }
  }
  return graph;
}

/**
 * Cycles found by depth-first search: one per back edge, each with the imports along it. The
 * graph is acyclic exactly when there is none (every cycle has a back edge), so an empty result
 * is the proof; a non-empty one lists enough cycles to act on, not necessarily all of them.
 */
function findCycles(graph: Map<string, Map<string, Edge>>): Edge[][] {
  const cycles: Edge[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: Edge[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    for (const edge of graph.get(node)?.values() ?? []) {
      const next = state.get(edge.to);
      if (next === 'open') {
        const start = stack.findIndex((item) => item.from === edge.to);
        cycles.push([...stack.slice(start === -1 ? stack.length : start), edge]);
      } else if (next === undefined) {
        stack.push(edge);
        visit(edge.to);
        stack.pop();
      }
    }
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

test('architecture: the import scanner sees static, type-only, re-export and dynamic imports', () => {
  const specifiers = relativeSpecifiers(
    [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "import {\n  g,\n  h,\n} from './g.js';",
      "import { z } from 'node:fs';",
      "/** @example import { x } from '../x/x.js' */",
      "// import { y } from '../y/y.js'",
    ].join('\n'),
  );
  assert.deepEqual(specifiers.sort(), ['../b/b.js', './a.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
});

test('architecture: the cycle finder reports a cycle with the imports that make it', () => {
  const edge = (from: string, to: string): [string, Edge] => [to, { from, to, example: `${from}->${to}` }];
  const graph = new Map([
    ['a', new Map([edge('a', 'b')])],
    ['b', new Map([edge('b', 'c')])],
    ['c', new Map([edge('c', 'a')])],
    ['d', new Map([edge('d', 'a')])],
  ]);
  const cycles = findCycles(graph);
  assert.equal(cycles.length, 1);
  assert.deepEqual(cycles[0]!.map((item) => item.example), ['a->b', 'b->c', 'c->a']);
  assert.deepEqual(findCycles(new Map([['a', new Map([edge('a', 'b')])]])), []);
});

test('architecture: the top-level folders of src/ import one another without cycles', () => {
  const graph = folderGraph();
  assert.ok(graph.size > 5, 'the scanner found the folder graph');
  const cycles = findCycles(graph);
  const described = cycles.map(
    (cycle) => `${[...cycle.map((edge) => edge.from), cycle[0]!.from].join(' -> ')}\n${cycle.map((edge) => `    ${edge.example}`).join('\n')}`,
  );
  assert.deepEqual(described, [], `folder import cycles:\n  ${described.join('\n  ')}`);
});
