import { type Command, Option } from 'commander';

import { GwError } from '../../core/errors.js';
import type { StatusResponse } from '../../core/wire.js';
import { clientError } from '../client.js';
import { durationFlag } from '../option-parsers.js';
import type { ContextFactory } from '../context.js';

const POLL_MS = 50;

interface WaitOptions {
  activity?: 'active' | 'standby' | 'cold' | 'warm';
  peerConnected?: boolean;
  synced?: boolean;
  ready?: boolean;
  timeout: number;
}

interface Condition {
  what: string;
  /** null when met, else what was seen instead. */
  check(s: StatusResponse): string | null;
  /** Why it can never be met in the node's current role (checked at once), else null. */
  impossible?(s: StatusResponse): string | null;
}

const independent = (s: StatusResponse): boolean => s.redundancy.role === 'Independent';

export function registerWaitCommand(program: Command, context: ContextFactory): void {
  program
    .command('wait')
    .description('wait until every given condition holds (default --ready); exit 4 on timeout')
    .addOption(new Option('--activity <level>', 'activity of this node').choices(['active', 'standby', 'cold', 'warm']))
    .option('--peer-connected', 'the peer is connected')
    .option('--synced', 'configuration sync is InSync')
    .option('--ready', 'gwd is up and has finished starting')
    .requiredOption('--timeout <seconds>', 'give up after this many seconds or a duration such as 2m (exit 4)', durationFlag('s', 0, 86_400_000))
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl wait --ready --timeout 30\n  gwctl wait --activity active --timeout 60 && systemctl start my-driver\n',
    )
    .action(async (opts: WaitOptions, cmd: Command) => {
      const ctx = context(cmd);
      const conditions = buildConditions(opts);
      const deadline = Date.now() + opts.timeout * 1000;
      let lastSeen = 'gwd not reachable yet';
      for (;;) {
        try {
          const status = await ctx.client.status();
          // A condition the role rules out would only wait out the whole timeout: say so now.
          const never = conditions.find((c) => c.impossible?.(status));
          if (never) throw clientError('GW_ERR_CLI_WAIT_IMPOSSIBLE', { what: never.what, detail: never.impossible!(status)! });
          const unmet = conditions.map((c) => ({ c, seen: c.check(status) })).filter((x) => x.seen !== null);
          if (unmet.length === 0) {
            if (ctx.json) ctx.printJson(status);
            return;
          }
          lastSeen = unmet.map((u) => `${u.c.what}: ${u.seen}`).join('; ');
        } catch (err) {
          // Not up yet is exactly what `wait` is for; any other refusal is final.
          if (!(err instanceof GwError) || err.code !== 'GW_ERR_CLI_DAEMON_UNREACHABLE') throw err;
          lastSeen = err.message;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw clientError('GW_ERR_CLI_WAIT_TIMEOUT', {
            timeout: opts.timeout,
            what: `${conditions.map((c) => c.what).join(' and ')} (last seen: ${lastSeen})`,
          });
        }
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
      }
    });
}


function buildConditions(opts: WaitOptions): Condition[] {
  const out: Condition[] = [];
  if (opts.ready || (!opts.activity && !opts.peerConnected && !opts.synced)) {
    out.push({ what: 'ready', check: (s) => (s.daemon.ready ? null : 'starting') });
  }
  if (opts.activity) {
    const want = opts.activity;
    out.push({
      what: `activity ${want}`,
      check: (s) => {
        const a = s.redundancy.activity;
        const ok = want === 'standby' ? a !== 'Active' : a.toLowerCase() === want;
        return ok ? null : a;
      },
      impossible: (s) => (want !== 'active' && independent(s) ? 'this node is Independent, which is always Active' : null),
    });
  }
  if (opts.peerConnected) {
    out.push({
      what: 'peer connected',
      check: (s) => (s.redundancy.peer?.connected ? null : 'not connected'),
      impossible: (s) => (independent(s) ? 'this node is Independent and has no peer' : null),
    });
  }
  if (opts.synced) {
    out.push({
      what: 'synced',
      check: (s) => (s.redundancy.sync.state === 'InSync' ? null : s.redundancy.sync.state),
      impossible: (s) => (independent(s) ? 'this node is Independent: it has no peer to sync with' : null),
    });
  }
  return out;
}
