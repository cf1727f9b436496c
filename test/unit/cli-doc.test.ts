import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { renderCliDoc } from '../../src/cli/cli-doc.js';
import { walkCommands } from '../../src/cli/command-tree.js';
import { bashCompletion, fishCompletion } from '../../src/cli/completion-scripts.js';
import { buildProgram } from '../../src/cli/program.js';

const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' };

describe('docs/cli.md', () => {
  it('equals the page rendered from the command tree (run `npm run docs` when this fails)', () => {
    const committed = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderCliDoc(buildProgram(io, [])));
  });

  it('every command has a description and its --help has an example', () => {
    const program = buildProgram(io, []);
    for (const c of walkCommands(program)) {
      expect(c.description, `gwctl ${c.path.join(' ')}`).not.toBe('');
    }
    const page = renderCliDoc(program);
    // Leaf commands (those that run something) show an example in their help.
    for (const c of walkCommands(program).filter((x) => x.subcommands.length === 0)) {
      const section = page.split(`## gwctl ${c.path.join(' ')}\n`)[1]!.split('\n## ')[0]!;
      expect(section, `gwctl ${c.path.join(' ')} --help has no example`).toMatch(/Examples?:/);
    }
  });
});

describe('shell completion', () => {
  const tree = walkCommands(buildProgram(io, []));

  function complete(words: string[]): string[] {
    const script = `${bashCompletion(tree)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length - 1}
_gwctl
printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
  }

  it('bash completes command groups, sub-commands, flags and flag choices', () => {
    expect(complete(['gwctl', 'no'])).toEqual(['node']);
    expect(complete(['gwctl', 'node', ''])).toEqual(['show', 'configure', 'cert']);
    expect(complete(['gwctl', 'wait', '--act'])).toEqual(['--activity']);
    expect(complete(['gwctl', 'wait', '--activity', 'st'])).toEqual(['standby']);
  });

  it('fish completion names every command', () => {
    const fish = fishCompletion(tree);
    for (const c of tree.filter((x) => x.path.length > 0)) expect(fish).toContain(`-a '${c.path.at(-1)}'`);
  });
});
