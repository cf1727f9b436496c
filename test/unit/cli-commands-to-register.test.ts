/**
 * gwctl registers only the command that runs (src/cli/commands-to-register.ts), for its start-up:
 * for every command and sub-command, with --help, bare, with an unknown option or arguments, after
 * root options, commander must print and do exactly what it does with every command registered.
 */
import { describe, expect, it } from 'vitest';

import { walkCommands } from '../../src/cli/command-tree.js';
import { commandsToRegister } from '../../src/cli/commands-to-register.js';
import type { Io } from '../../src/cli/io.js';
import { buildProgram, REGISTERED_ALONE, rootVersionFlag, wantsJson } from '../../src/cli/program.js';

interface Outcome {
  stdout: string;
  stderr: string;
  error: string | null;
}

/** What run() does up to its error report, with `only` registered (or every command). */
async function parse(argv: string[], only: readonly string[] | undefined): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { GWD_SOCKET: '/nonexistent/gwd.sock' },
    cwd: '/',
    readStdin: async () => '',
  };
  const program = buildProgram(io, [], undefined, wantsJson(argv), only);
  try {
    await program.parseAsync(rootVersionFlag(argv), { from: 'user' });
    return { stdout, stderr, error: null };
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    return { stdout, stderr, error: `${e.code} ${e.exitCode} ${e.message}` };
  }
}

const full = buildProgram({ stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' }, []);
const paths = walkCommands(full)
  .map((c) => c.path)
  .filter((p) => p.length > 0 && p[0] !== 'help');

describe('gwctl registers only the command that runs', () => {
  it('names a command only after root options it knows', () => {
    const names = ['status', 'config'];
    expect(commandsToRegister(['status'], names)).toEqual(['status']);
    expect(commandsToRegister(['--socket', 'config', '--json', '--no-color', 'status', '--help'], names)).toEqual(['status']);
    expect(commandsToRegister(['--socket=/x', 'config', 'list'], names)).toEqual(['config']);
    expect(commandsToRegister(['--json', '--version', 'status'], names)).toEqual([]);
    expect(commandsToRegister(['-V'], names)).toEqual([]);
    for (const argv of [[], ['--help', 'status'], ['help', 'status'], ['statu'], ['completion', 'bash'], ['--', 'status'], ['--bogus', '--version'], ['--socket']]) {
      expect(commandsToRegister(argv, names), argv.join(' ')).toBeUndefined();
    }
    expect(REGISTERED_ALONE).not.toContain('completion');
    expect([...REGISTERED_ALONE, 'completion'].sort()).toEqual(full.commands.map((c) => c.name()).sort());
  });

  it('every command prints and fails the same as with every command registered', async () => {
    expect(paths.length).toBeGreaterThan(30);
    const lines: string[][] = [];
    for (const p of paths) {
      lines.push([...p, '--help'], [...p, '-h'], [...p, '--bogus'], [...p, 'extra', 'words'], ['--json', ...p, '--bogus'], ['--socket', '/x.sock', '--no-color', ...p, '--help']);
      if (full.commands.find((c) => c.name() === p[0])!.commands.length > 0 && p.length === 1) lines.push(p); // a group alone: its help
    }
    lines.push(['--help', 'status'], ['help', 'config'], ['statuss'], ['config', 'lst'], ['--json', 'redundancy', 'configure', '--mode', 'primary']);
    lines.push(['--version'], ['-V'], ['--version', 'status'], ['--json', '--version'], ['--socket', '/x.sock', '-V', 'config', '--bogus'], ['-V', '--help'], ['--version', 'bogus']);
    let selective = 0;
    for (const argv of lines) {
      const only = commandsToRegister(argv, REGISTERED_ALONE);
      if (only !== undefined) selective++;
      expect({ argv, ...(await parse(argv, only)) }).toEqual({ argv, ...(await parse(argv, undefined)) });
    }
    expect(selective).toBeGreaterThan(lines.length / 2);
  }, 120_000);
});
