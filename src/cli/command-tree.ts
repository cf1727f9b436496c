import type { Command, Option } from 'commander';

/** A flat view of gwctl's commander tree, for completion scripts and docs/cli.md. */
export interface CommandInfo {
  /** Words after `gwctl`, e.g. ['config', 'backup', 'add']. */
  path: string[];
  description: string;
  options: Array<{ flags: string; long: string | null; short: string | null; description: string; choices: string[] | null; takesValue: boolean }>;
  /** Text of addHelpText('after', ...) blocks is not reachable through commander; examples come from here. */
  subcommands: string[];
  hidden: boolean;
}

export function walkCommands(root: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const visit = (cmd: Command, path: string[]): void => {
    out.push({
      path,
      description: cmd.description(),
      options: cmd.options.map((o: Option) => ({
        flags: o.flags,
        long: o.long ?? null,
        short: o.short ?? null,
        description: o.description,
        choices: (o as Option & { argChoices?: string[] }).argChoices ?? null,
        takesValue: o.required || o.optional,
      })),
      subcommands: cmd.commands.map((c) => c.name()),
      hidden: (cmd as Command & { _hidden?: boolean })._hidden === true,
    });
    for (const sub of cmd.commands) visit(sub, [...path, sub.name()]);
  };
  visit(root, []);
  return out;
}
