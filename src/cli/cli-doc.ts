import type { Command } from 'commander';

import { walkCommands } from './command-tree.js';

/**
 * docs/cli.md, rendered from the command tree with each command's full --help text, so the page
 * can never describe a flag that does not exist. `npm run docs` writes it; a test fails when stale.
 */
export function renderCliDoc(program: Command): string {
  const parts: string[] = [
    '# gwctl command reference',
    '',
    'Generated from the command tree by `npm run docs`; do not edit by hand (test/unit/cli-doc.test.ts',
    'fails when this page is stale).',
    '',
    'Exit codes: 0 success; 1 the daemon refused or the operation failed (the error code is printed);',
    '2 usage error; 3 daemon not reachable; 4 `wait` or `--wait` timed out. A value the daemon refuses',
    "is a usage error too (exit 2), named by its flag: `--ssl-port must differ from port (9000)`; the",
    "error code stays the daemon's (`GW_ERR_GAN_SETTINGS_INVALID`). With `--json`, whatever went wrong,",
    'stderr is one line, the error body `{"statusCode", "code", "error", "message", "details"?}`; usage',
    'errors have the code `GW_ERR_CLI_USAGE`, and a refused flag value lists `details.problems[]` with',
    '`pointer`, `message` and `flag`.',
    '',
    'Output is a contract for scripts: gwctl exits only once every byte it printed has reached the',
    'terminal, file or pipe, however large and however slowly it is read. A reader that closes early',
    '(`gwctl events | head -1`) ends gwctl quietly, without a message, with exit status 141 (128 +',
    'SIGPIPE): what `cat` gives in the same place, so `set -o pipefail` tells a cut listing from a',
    'whole one, and a script that means to read only the head accepts 141 as it does for `cat`. With',
    '`events --follow`, gwctl notices the closed pipe at the next event it writes, as `tail -f` does.',
    '',
  ];
  for (const info of walkCommands(program)) {
    const cmd = find(program, info.path);
    const title = ['gwctl', ...info.path].join(' ');
    parts.push(`## ${title}`, '', '```', helpOf(cmd).trimEnd(), '```', '');
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

function find(root: Command, path: string[]): Command {
  let cmd = root;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  return cmd;
}

function helpOf(cmd: Command): string {
  let text = '';
  const saved = cmd.configureOutput();
  cmd.configureOutput({ ...saved, writeOut: (s) => (text += s), getOutHelpWidth: () => 100 });
  cmd.outputHelp();
  cmd.configureOutput(saved);
  return text;
}
