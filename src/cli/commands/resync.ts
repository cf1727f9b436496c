import type { Command } from 'commander';

import type { EventRecord } from '../../core/wire.js';
import { clientError } from '../client.js';
import { waitForEvent } from '../event-wait.js';
import type { CommandContext } from '../context.js';
import { durationFlag } from '../option-parsers.js';
import type { ContextFactory } from '../context.js';

/** `gwctl redundancy resync`: force a full snapshot (DESIGN.md section 6), optionally waiting for it. */
export function registerResyncCommand(redundancy: Command, context: ContextFactory): void {
  redundancy
    .command('resync')
    .description('force a full snapshot of the configuration: a backup downloads one, a master pushes one')
    .option('--wait', 'wait until the snapshot is swapped in (backup) or acknowledged (master); exit 4 on timeout')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds or a duration such as 2m (default 60)', durationFlag('s', 0, 86_400_000))
    .addHelpText(
      'after',
      '\nThe previous configuration of the backup is kept under var/archive/<time>/.\n' +
        '\nExamples:\n  gwctl redundancy resync\n  gwctl redundancy resync --wait --timeout 120\n',
    )
    .action(async (opts: { wait?: boolean; timeout?: number }, cmd: Command) => {
      const ctx = context(cmd);
      const started = await ctx.client.resync();
      if (!opts.wait) {
        if (ctx.json) return ctx.printJson(started);
        ctx.out(
          `full snapshot started (${started.side === 'backup' ? 'requested from the master' : 'pushed to the backup'})\n` +
            '# follow it with: gwctl events --follow --type sync\n',
        );
        return;
      }
      const done = await waitForCompletion(ctx, started.seq, opts.timeout ?? 60);
      if (ctx.json) return ctx.printJson(done.data);
      const archive = done.data.archive;
      ctx.out(`full snapshot done at revision ${String(done.data.revision)}${typeof archive === 'string' ? `; previous core archived in ${archive}` : ''}\n`);
    });
}

/** The first full sync.completed after `since`; a sync.failed is retried by gwd, so it only goes into the timeout message. */
async function waitForCompletion(ctx: CommandContext, since: number, timeoutSecs: number): Promise<EventRecord> {
  let lastFailure: string | null = null;
  const found = await waitForEvent(
    ctx.client,
    { since, type: 'sync' },
    (e) => e.type === 'sync.completed' && e.data.kind === 'full',
    timeoutSecs,
    (e) => {
      if (e.type === 'sync.failed') lastFailure = String(e.data.reason);
    },
  );
  if (found) return found;
  throw clientError('GW_ERR_CLI_WAIT_TIMEOUT', {
    timeout: timeoutSecs,
    what: `the full snapshot to complete${lastFailure ? ` (last failure: ${lastFailure})` : ''}`,
  });
}
