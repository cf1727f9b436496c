/**
 * src has no import cycle, type-only imports included: a cycle through a type still ties the files
 * together (neither can be read, moved or tested without the other), and once there, value cycles
 * follow. Imports are read from the source text, which in this code base is one `import ... from`
 * (or `export ... from`, or `import('...')` in a type) per relative module.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.c?ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT = /(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|import\s+['"](\.{1,2}\/[^'"]+)['"]/g;

/** Relative imports of each file, resolved to source paths (`./x.js` is `./x.ts`). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts');
      if (known.has(target)) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the import graph of src', () => {
  it('has no cycle', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const found = cycles(importGraph(files)).map((c) => c.map((f) => relative(SRC, f)).sort());
    expect(found, 'files that import one another (directly or around a loop)').toEqual([]);
  });

  it('the check sees a cycle through a type-only import, and one through import()', () => {
    const dir = join(SRC, 'x');
    const graph = new Map([
      [join(dir, 'a.ts'), [join(dir, 'b.ts')]],
      [join(dir, 'b.ts'), [join(dir, 'a.ts')]],
      [join(dir, 'c.ts'), []],
    ]);
    expect(cycles(graph).map((c) => c.length)).toEqual([2]);
    // The parser reads every form used in src.
    const text = [
      "import type { A } from './a.js';",
      "export { B } from '../b.js';",
      "type C = import('./c.js').C;",
      "import {\n  D,\n  type E,\n} from './d.js';",
    ].join('\n');
    const specs = [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(specs).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });
});
