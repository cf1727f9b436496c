import { type Command, Argument } from 'commander';

import { walkCommands } from '../command-tree.js';
import { bashCompletion, fishCompletion, zshCompletion } from '../completion-scripts.js';
import type { ContextFactory } from '../context.js';

export function registerCompletionCommand(program: Command, context: ContextFactory): void {
  program
    .command('completion')
    .description('print a shell completion script generated from the command tree')
    .addArgument(new Argument('<shell>', 'shell to generate for').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl completion bash > /etc/bash_completion.d/gwctl\n  source <(gwctl completion bash)\n',
    )
    .action((shell: 'bash' | 'zsh' | 'fish', _opts, cmd: Command) => {
      const ctx = context(cmd);
      const tree = walkCommands(program).filter((c) => !c.hidden);
      ctx.out(shell === 'bash' ? bashCompletion(tree) : shell === 'zsh' ? zshCompletion(tree) : fishCompletion(tree));
    });
}
