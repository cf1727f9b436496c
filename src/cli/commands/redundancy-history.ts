import { type Command, InvalidArgumentError } from 'commander';

import type { EventRecord } from '../../core/wire.js';
import type { ContextFactory } from '../context.js';
import { clock, nodeName } from '../format-pair.js';
import { hint, table } from '../format.js';

/**
 * The events that tell the pair's story from this node's side: its activity changes and epochs,
 * the peer's as the peer reported them over the link, failovers (both nodes record each one under
 * its one id), its peer coming and going, role
 * changes, pauses, and its own starts and stops (a failover id names the run it was asked in).
 */
export const HISTORY_TYPES: ReadonlySet<string> = new Set([
  'activity.changed',
  'epoch.changed',
  'failover.requested',
  'failover.completed',
  'failover.failed',
  'activation.vetoed',
  'activation.blocked',
  'role.changed',
  'peer.connected',
  'peer.lost',
  'peer.activity.changed',
  'peer.leftActive',
  'redundancy.paused',
  'redundancy.resumed',
  'daemon.started',
  'daemon.stopping',
]);

/** The newest `limit` history events of `events` (oldest first), newest last. */
export function historyOf(events: readonly EventRecord[], limit: number): EventRecord[] {
  return events.filter((e) => HISTORY_TYPES.has(e.type)).slice(-limit);
}

export function registerHistoryCommand(redundancy: Command, context: ContextFactory): void {
  redundancy
    .command('history')
    .description('activity changes and failovers of the pair as this node saw them, newest last (from its event log)')
    .option('--limit <n>', 'the newest n entries (default 20)', parseLimit, 20)
    .addHelpText(
      'after',
      '\nA failover has one id on both nodes (<node>-e<epoch>-<run>-f<n>): compare the two nodes\' histories by it.\n' +
        '\nExamples:\n  gwctl redundancy history\n  gwctl redundancy history --limit 100 --json | jq -r \'.[] | select(.type == "failover.completed") | .data.id\'\n',
    )
    .action(async (opts: { limit: number }, cmd: Command) => {
      const ctx = context(cmd);
      const all: EventRecord[] = [];
      await ctx.client.streamEvents({}, (e) => {
        if (HISTORY_TYPES.has(e.type)) all.push(e);
      });
      const entries = historyOf(all, opts.limit);
      if (ctx.json) return ctx.printJson(entries);
      if (entries.length === 0) {
        ctx.out(hint('no activity change or failover in the event log of this node yet'));
        return;
      }
      ctx.out(formatHistory(entries, new Date()));
    });
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) {
    throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  }
  return Number(value);
}

export function formatHistory(entries: readonly EventRecord[], now: Date): string {
  return table(
    ['TIME', 'EVENT', 'DETAIL'],
    entries.map((e) => [clock(new Date(e.time), now), e.type, historyDetail(e)]),
  );
}

type Data = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** What happened, in a few words: `Cold -> Active: master-gone, epoch 7`. */
export function historyDetail(e: EventRecord): string {
  const d = (e.data ?? {}) as Data;
  switch (e.type) {
    case 'activity.changed':
      return `${str(d.from)} -> ${str(d.to)}: ${str(d.reason)}, epoch ${str(d.epoch)}`;
    case 'epoch.changed':
      return `epoch ${str(d.from)} -> ${str(d.to)}: ${str(d.reason)}`;
    case 'failover.requested':
      return `${str(d.id)} asked ${d.origin === 'peer' ? 'on the peer' : 'here'}${d.force ? ' (--force)' : ''}`;
    case 'failover.completed':
      return `${str(d.id)} done, epoch ${str(d.epoch)}`;
    case 'failover.failed':
      return `${str(d.id)} failed: ${str(d.reason)}`;
    case 'role.changed':
      return `${str(d.from)} -> ${str(d.to)}`;
    case 'peer.connected':
      return `${nodeName(d as { label?: string; systemName?: string; uuid?: string })}${typeof d.address === 'string' ? `, ${d.address}` : ''}`;
    case 'peer.activity.changed':
      return `the peer${typeof d.uuid === 'string' ? ` (${d.uuid.slice(0, 8)})` : ''}: ${str(d.from)} -> ${str(d.to)}${d.reason ? `: ${str(d.reason)}` : ''}, epoch ${str(d.epoch)}`;
    case 'peer.lost':
      return `${str(d.how)}${typeof d.uuid === 'string' ? ` (${d.uuid.slice(0, 8)})` : ''}`;
    case 'peer.leftActive':
      return 'the peer left the link still Active: this node stands by';
    case 'daemon.started':
      return `pid ${str(d.pid)}, version ${str(d.version)}`;
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k}=${str(v)}`)
        .join(' ');
  }
}
