import type { Command } from 'commander';

import type { ConnectionEntry } from '../../core/wire.js';
import type { CommandContext } from '../context.js';
import { hint, table } from '../format.js';
import type { ContextFactory } from '../context.js';

export function registerConnectionCommands(program: Command, context: ContextFactory): void {
  const connections = program.command('connections').description('Gateway Network connections, incoming and outgoing');

  connections
    .command('list')
    .description('every connection with its status, ping time and last error')
    .addHelpText('after', '\nExamples:\n  gwctl connections list\n  gwctl --json connections list | jq -r \'.[] | "\\(.id) \\(.status)"\'\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const list = await ctx.client.connections();
      if (ctx.json) return ctx.printJson(list);
      ctx.out(formatConnections(list, ctx));
    });

  for (const [name, decision, what] of [
    ['approve', 'approve', 'let this incoming peer connect (approval is bound to its UUID)'],
    ['deny', 'deny', 'refuse this incoming peer'],
  ] as const) {
    connections
      .command(`${name} <id>`)
      .description(`${what}; <id> is the peer's label, its UUID or a unique prefix of it, or <systemname>|<uuid> or a unique prefix of it`)
      .addHelpText('after', `\nExamples:\n  gwctl connections ${name} plant-b\n  gwctl connections ${name} 5afb71a2\n  gwctl connections ${name} 'plant-a|5afb71a2'\n`)
      .action(async (id: string, _opts, cmd: Command) => {
        const ctx = context(cmd);
        const entry = await ctx.client.decideConnection(id, decision);
        if (ctx.json) return ctx.printJson(entry);
        ctx.out(`${entry.state} ${entry.id}${entry.peer.label ? ` (${entry.peer.label})` : ''}\n`);
      });
  }
}

export function formatConnections(list: ConnectionEntry[], ctx: CommandContext): string {
  const c = ctx.colors;
  const paint = (s: string): string => (s === 'Running' ? c.green(s) : s === 'Connecting' || s === 'Disconnected' ? s : c.yellow(s));
  let out = table(
    ['ID', 'LABEL', 'DIRECTION', 'STATE', 'STATUS', 'ADDRESS', 'ROLE', 'SSL', 'PING', 'LAST ERROR'],
    list.map((e) => [
      e.id,
      e.peer.label,
      e.direction,
      e.state,
      paint(e.status),
      e.peer.address,
      e.peer.role,
      e.ssl === null ? null : e.ssl ? 'yes' : 'no',
      e.pingMs === null ? null : `${e.pingMs} ms`,
      e.lastError ? e.lastError.code : null,
    ]),
  );
  for (const e of list) {
    if (e.status !== 'Running' && e.lastError) out += hint(`${e.id}: ${e.lastError.message}`);
  }
  if (list.some((e) => e.direction === 'incoming' && e.state === 'pending')) {
    out += hint('approve with: gwctl connections approve <label or id>');
  }
  return out;
}
