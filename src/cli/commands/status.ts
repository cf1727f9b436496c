import type { Command } from 'commander';

import type { PauseSummary, StatusResponse, WitnessStatus } from '../../core/wire.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { clientError } from '../client.js';
import { keyValues } from '../format.js';
import { durationFlag } from '../option-parsers.js';
import { watchStatus } from './status-watch.js';
import { activeLine, clock, pairTable, sinceWithReason, uptime } from '../format-pair.js';
import { formatListeners } from '../format-listeners.js';
import type { Colors } from '../io.js';

export function registerStatusCommand(program: Command, context: ContextFactory): void {
  program
    .command('status')
    .description('both nodes of the pair (role, activity and why, epoch, sync, last heard, link), then this node\'s details')
    .option('-w, --watch', 'keep watching: redraw on a terminal at each change; into a pipe, one timestamped line per change (--json: one status object per line)')
    .option('--interval <duration>', 'with --watch on a terminal: redraw at most this often, and at least this often (default 1s)', durationFlag('s', 100, 3_600_000))
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl status\n  gwctl status --json | jq -r .redundancy.activity\n  gwctl status --watch --interval 2s\n  gwctl status --watch | tee pair.log\n',
    )
    .action(async (opts: { watch?: boolean; interval?: number }, cmd: Command) => {
      const ctx = context(cmd);
      if (opts.interval !== undefined && !opts.watch) throw clientError('GW_ERR_CLI_USAGE', { detail: '--interval goes with --watch' });
      if (opts.watch) return watchStatus(ctx, { intervalMs: Math.round((opts.interval ?? 1) * 1000), render: (s) => formatStatus(s, ctx) });
      const status = await ctx.client.status();
      if (ctx.json) ctx.printJson(status);
      else ctx.out(formatStatus(status, ctx));
    });
}

/**
 * On a Master or Backup: who is Active and why, one row per node of the pair, then this node's details.
 * The details keep their one-key lines (`Activity  Active`, `Paused  ...`) that people grep for.
 */
export function formatStatus(s: StatusResponse, ctx: CommandContext, now: Date = new Date()): string {
  const pair = pairTable(s, ctx.colors, now);
  const head = s.redundancy.role === 'Independent' && pair === null ? '' : `${keyValues([['Active', activeLine(s, now)]])}\n${pair ?? ''}${pair ? '\n' : ''}`;
  return head + formatDetails(s, ctx, now);
}

function formatDetails(s: StatusResponse, ctx: CommandContext, now: Date): string {
  const c = ctx.colors;
  const r = s.redundancy;
  const activity = r.activity === 'Active' ? c.green(r.activity) : c.yellow(r.activity);
  const peer = r.peer
    ? `${r.peer.systemName ?? '-'} (${r.peer.connected ? c.green('connected') : c.red('disconnected')}` +
      `${r.peer.address ? `, ${r.peer.address}` : ''}${r.peer.activity ? `, ${r.peer.activity}` : ''})`
    : null;
  const sync =
    r.sync.state === 'NotApplicable'
      ? r.sync.state
      : `${r.sync.state} (revision ${r.sync.revision}, peer ${r.sync.peerRevision ?? '-'})`;
  // Older daemons have no config field: show nothing rather than fail.
  const config = s.config
    ? `revision ${s.config.revision}${s.config.invalid.length > 0 ? `, ${c.red(`${s.config.invalid.length} invalid file(s)`)}: gwctl config check` : ''}`
    : null;
  return keyValues([
    ['System name', s.node.systemName],
    // This machine's own name (never synced), beside the pair's shared one; older daemons: `-`.
    ['Label', s.node.label],
    ['Node', s.node.uuid],
    ['Edition', s.node.edition],
    ['Version', s.node.version],
    ['Role', r.role],
    ['Activity', activity],
    ['Epoch', r.epoch],
    ['Since', sinceWithReason(s, now)],
    ['Peer', peer],
    // Older daemons have neither field: `-`.
    ['Paused', r.paused ? c.yellow(formatPause(r.paused, { self: s.node.uuid, peer: r.peer?.uuid ?? null })) : null],
    ['Standby hold', r.hold ?? null],
    // Older daemons have no witness field: `-`, as without a witness.
    ['Witness', r.witness ? formatWitness(r.witness, { self: s.node.uuid, peer: r.peer?.uuid ?? null, active: r.activity === 'Active' }, ctx.colors) : null],
    ['Sync', sync],
    ['Config', config],
    ['Listeners', formatListeners(s.listeners, c)],
    ['Certificate', `sha256 ${s.node.certFingerprint}`],
    ['Socket', s.daemon.socket],
    ['Process', `pid ${s.daemon.pid}, up ${uptime(s.daemon.uptimeSecs)}`],
  ]);
}

/**
 * `etcd /gwd/line-3: holds the key (lease 4.2 s left)`: the witness (DESIGN.md section 9) as this
 * node last heard it. A standing-by node asks etcd only when it takes over, so it may not know.
 */
export function formatWitness(w: WitnessStatus, nodes: { self: string | null; peer: string | null; active: boolean }, c: Colors): string {
  const unreachable = c.red(`unreachable${w.lastError ? ` (${w.lastError})` : ''}`);
  let state: string;
  if (w.holder === 'self') {
    const left = w.leaseRemainingMs === null ? '' : ` (lease ${(w.leaseRemainingMs / 1000).toFixed(1)} s left)`;
    // Renewals failing while the lease still runs: the node stands down when it runs out (alone).
    state = `${c.green('holds the key')}${left}${w.reachable === false ? `, ${unreachable}` : ''}`;
  } else if (w.reachable === false) {
    state = unreachable;
  } else if (w.reachable === null) {
    state = nodes.active ? 'asking for the key' : 'not asked yet (a standing-by node asks etcd only when it takes over)';
  } else if (w.holder === 'other') {
    const o = w.otherHolder;
    const who =
      o === null
        ? 'another lease'
        : o.uuid === nodes.peer
          ? `the peer (${o.uuid.slice(0, 8)}…, epoch ${o.epoch})`
          : o.uuid === nodes.self
            ? `an earlier run of this node (epoch ${o.epoch}; its lease runs out by itself)`
            : `${o.uuid.slice(0, 8)}… (epoch ${o.epoch})`;
    // From the last refused acquire: a standing-by node does not ask again once its peer is back.
    state = `reachable, key held by ${who} at the last try`;
  } else {
    state = `reachable, key not held by this node${w.lastError ? ` (${w.lastError})` : ''}`;
  }
  return `${w.kind} ${w.prefix}: ${state}`;
}

/**
 * `until 12:03:07 (by plant-a, the peer: network work)`; times in this machine's local time. The
 * system name is the pair's once synced, so which node it was is said in words (or by UUID prefix).
 */
export function formatPause(p: PauseSummary, nodes: { self: string | null; peer?: string | null }, now: Date = new Date()): string {
  const until = p.until === null ? 'until resumed' : `until ${clock(new Date(p.until), now)}`;
  const which = p.by.uuid === nodes.self ? 'this node' : p.by.uuid === nodes.peer ? 'the peer' : p.by.uuid.slice(0, 8);
  return `${until} (by ${p.by.name ? `${p.by.name}, ${which}` : which}${p.reason ? `: ${p.reason}` : ''})`;
}
