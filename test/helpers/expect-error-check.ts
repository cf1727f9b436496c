import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

/**
 * A file of uses tsc must refuse, each under `// @ts-expect-error`, compiled with
 * test/types/tsconfig.json twice: as it is (it must pass: an unused directive is an error), and
 * with the directives blanked (each marked line must then fail, and nothing else), so the check also
 * fails if the file stopped being type-checked.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIRECTIVE = '// @ts-expect-error';

export interface ExpectErrorCheck {
  /** 0-based lines that must fail without their directive. */
  marked: number[];
  /** Diagnostics of the file as it is (expected: none). */
  asIs(): string[];
  /** 0-based lines that fail once the directives are blanked, or a diagnostic outside the file. */
  failingWithoutDirectives(): number[];
}

export function expectErrorCheck(relativePath: string): ExpectErrorCheck {
  const file = path.join(ROOT, relativePath);
  const lines = readFileSync(file, 'utf8').split('\n');
  let previous: ts.Program | undefined;

  const compile = (replacement?: string): readonly ts.Diagnostic[] => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'test/types/tsconfig.json'), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    });
    if (!config) throw new Error('test/types/tsconfig.json did not parse');
    if (!config.fileNames.map((f) => path.resolve(f)).includes(file)) throw new Error(`${relativePath} is not compiled by test/types/tsconfig.json`);
    const host = ts.createCompilerHost(config.options);
    if (replacement !== undefined) {
      const getSourceFile = host.getSourceFile.bind(host);
      host.getSourceFile = (name, language, onError, create) =>
        path.resolve(name) === file ? ts.createSourceFile(name, replacement, language) : getSourceFile(name, language, onError, create);
    }
    // Only this file: another check file's state is its own test's business.
    const program = ts.createProgram({ rootNames: [file], options: config.options, host, oldProgram: previous });
    previous = program;
    return ts.getPreEmitDiagnostics(program);
  };

  const describeAll = (diagnostics: readonly ts.Diagnostic[]): string[] =>
    diagnostics.map((d) => {
      const where = d.file && d.start !== undefined ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '?';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });

  return {
    marked: lines.flatMap((line, i) => (line.trim().startsWith(DIRECTIVE) ? [i + 1] : [])),
    asIs: () => describeAll(compile()),
    failingWithoutDirectives: () => {
      // Blanked, not removed: line numbers stay those of the file.
      const stripped = lines.map((line) => (line.trim().startsWith(DIRECTIVE) ? '' : line)).join('\n');
      const failing = new Set<number>();
      for (const d of compile(stripped)) {
        if (!d.file || path.resolve(d.file.fileName) !== file || d.start === undefined) throw new Error(`outside ${relativePath}: ${describeAll([d])[0]}`);
        failing.add(d.file.getLineAndCharacterOfPosition(d.start).line);
      }
      return [...failing].sort((a, b) => a - b);
    },
  };
}
