import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The compile-time half of the error catalogue (issue 18): test/types/error-codes.check.ts holds
// uses of GwError that tsc must refuse, each under `@ts-expect-error`. Compiled as it is, it must
// pass (an unused directive is an error); compiled without the directives, every marked line must
// fail and nothing else may, so the check also fails if the file stopped being type-checked.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHECK = path.join(ROOT, 'test/types/error-codes.check.ts');
const DIRECTIVE = '// @ts-expect-error';

// The second compile reuses the first one's unchanged files (the libs, errors.ts).
let previous: ts.Program | undefined;

function compile(replacement?: string): readonly ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'test/types/tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('test/types/tsconfig.json did not parse');
  expect(config.fileNames.map((f) => path.resolve(f))).toContain(CHECK);
  const host = ts.createCompilerHost(config.options);
  if (replacement !== undefined) {
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, onError, create) =>
      path.resolve(file) === CHECK ? ts.createSourceFile(file, replacement, language) : getSourceFile(file, language, onError, create);
  }
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host, oldProgram: previous });
  previous = program;
  return ts.getPreEmitDiagnostics(program);
}

function describeAll(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const where = d.file && d.start !== undefined ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '?';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

describe('error codes and params are checked by tsc', () => {
  const source = readFileSync(CHECK, 'utf8');
  const lines = source.split('\n');
  // The line after each directive (0-based), the one that must fail once the directive is gone.
  const marked = lines.flatMap((line, i) => (line.trim().startsWith(DIRECTIVE) ? [i + 1] : []));

  it('the check file compiles: the right uses pass and every refused use is refused', () => {
    expect(marked.length).toBeGreaterThanOrEqual(10);
    expect(describeAll(compile())).toEqual([]);
  }, 20_000);

  it('without the directives, each marked line fails, and only those', () => {
    // Blanked, not removed: line numbers stay those of the file.
    const stripped = lines.map((line) => (line.trim().startsWith(DIRECTIVE) ? '' : line)).join('\n');
    const failing = new Set<number>();
    for (const d of compile(stripped)) {
      expect(d.file && path.resolve(d.file.fileName), describeAll([d])[0]).toBe(CHECK);
      failing.add(d.file!.getLineAndCharacterOfPosition(d.start!).line);
    }
    expect([...failing].sort((a, b) => a - b)).toEqual(marked);
  }, 20_000);
});
