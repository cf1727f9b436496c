import { type Command, InvalidArgumentError } from 'commander';

import type { EventRecord } from '../../core/wire.js';
import type { CommandContext } from '../context.js';
import type { ContextFactory } from '../context.js';

export function registerEventsCommand(program: Command, context: ContextFactory): void {
  program
    .command('events')
    .description('print the event log; --follow keeps printing new events as they happen')
    .option('-f, --follow', 'keep the stream open and print new events')
    .option('--since <seq>', 'only events after this sequence number', parseSeq)
    .option('--type <prefix>', 'only events of this type or type prefix (e.g. activity)')
    .option('--limit <n>', 'at most n events of the backlog, oldest first (after --since); `| tail -n N` for the newest', parseLimit)
    .addHelpText('after', '\nExamples:\n  gwctl events --since 100 --limit 20\n  gwctl events --follow --json | jq .type\n')
    .action(async (opts: { follow?: boolean; since?: number; type?: string; limit?: number }, cmd: Command) => {
      const ctx = context(cmd);
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await ctx.client.streamEvents(
          { since: opts.since, follow: opts.follow, type: opts.type, limit: opts.limit },
          (e) => ctx.out(ctx.json ? `${JSON.stringify(e)}\n` : formatEvent(e, ctx)),
          abort.signal,
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 100_000) {
    throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  }
  return Number(value);
}

function parseSeq(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}

export function formatEvent(e: EventRecord, ctx: CommandContext): string {
  const fields = Object.entries(e.data ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(e.seq).padStart(6)}  ${ctx.colors.dim(e.time)}  ${ctx.colors.bold(e.type)}${fields ? `  ${fields}` : ''}\n`;
}
