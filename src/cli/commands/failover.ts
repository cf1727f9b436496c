import type { Command } from 'commander';

import { GwError } from '../../core/errors.js';
import type { EventRecord } from '../../core/wire.js';
import { clientError } from '../client.js';
import { waitForEvent } from '../event-wait.js';
import type { CommandContext } from '../context.js';
import { durationFlag } from '../option-parsers.js';
import type { ContextFactory } from '../context.js';

interface FailoverOptions {
  to?: string;
  wait?: boolean;
  timeout?: number;
  force?: boolean;
}

/** `gwctl redundancy failover`: hand activity to the peer (rule 7), optionally waiting for the outcome. */
export function registerFailoverCommand(redundancy: Command, context: ContextFactory): void {
  redundancy
    .command('failover')
    .description(
      'move activity: without --to a toggle (the Active node stands down, the other takes over); with --to the named node ends Active, and nothing moves if it already is',
    )
    .option('--to <node>', 'self, peer, a node label or a UUID prefix: the node that must end Active (idempotent: safe to retry)')
    .option('--wait', 'wait until the failover completed or failed (exit 4 on timeout)')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds or a duration such as 2m (default 30)', durationFlag('s', 0, 86_400_000))
    .option('--force', 'on a standing-by node with no connected peer: become Active (you vouch that the peer is down)')
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl redundancy failover --to peer --wait --timeout 30   # retry-safe\n  gwctl redundancy failover --wait --timeout 30             # toggle\n  gwctl redundancy failover --force    # peer is known to be down\n',
    )
    .action(async (opts: FailoverOptions, cmd: Command) => {
      const ctx = context(cmd);
      const accepted = await ctx.client.failover(opts.force === true, opts.to);
      if (accepted.failoverId === null) {
        if (ctx.json) return ctx.printJson(accepted);
        const status = await ctx.client.status();
        const who = accepted.target === 'self' ? `this node (${status.node.systemName})` : `the peer (${status.redundancy.peer?.systemName ?? '-'})`;
        ctx.out(`already Active: ${who}; nothing moved\n`);
        return;
      }
      if (!opts.wait) {
        if (ctx.json) return ctx.printJson(accepted);
        ctx.out(`failover ${accepted.failoverId} requested\n# follow it with: gwctl events --follow --type failover\n`);
        return;
      }
      const outcome = await waitForOutcome(ctx, accepted.failoverId, accepted.seq, opts.timeout ?? 30);
      if (outcome.type === 'failover.failed') {
        throw new GwError('GW_ERR_REDUNDANCY_FAILOVER_FAILED', {
          id: accepted.failoverId,
          reason: String(outcome.data.reason ?? 'unknown'),
        });
      }
      const status = await ctx.client.status();
      if (ctx.json) return ctx.printJson({ ...accepted, outcome, status });
      const who = status.redundancy.activity === 'Active' ? `this node (${status.node.systemName})` : `the peer (${status.redundancy.peer?.systemName ?? '-'})`;
      ctx.out(`failover ${accepted.failoverId} completed: ${who} is Active, epoch ${String(outcome.data.epoch ?? status.redundancy.epoch)}\n`);
    });
}

async function waitForOutcome(ctx: CommandContext, id: string, since: number, timeoutSecs: number): Promise<EventRecord> {
  const outcome = await waitForEvent(
    ctx.client,
    { since, type: 'failover' },
    (e) => (e.type === 'failover.completed' || e.type === 'failover.failed') && e.data.id === id,
    timeoutSecs,
  );
  if (!outcome) throw clientError('GW_ERR_CLI_WAIT_TIMEOUT', { timeout: timeoutSecs, what: `failover ${id} to complete` });
  return outcome;
}
