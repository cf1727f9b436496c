import path from 'node:path';

import { type Command, InvalidArgumentError, Option } from 'commander';

import { parseHostPort, formatHostPort, type HostPort } from '../../core/gan/address.js';
import type { RedundancySettings, RedundancyUpdate } from '../../core/settings/types.js';
import type { RedundancyView, Role } from '../../core/wire.js';
import { clientError } from '../client.js';
import { namingFlags, type FlagMap } from '../flag-refusal.js';
import { changesMasterDial, firstDialFailure } from '../master-reachability.js';
import { hint, keyValues } from '../format.js';
import { MAX_PAUSE_MS, MAX_PAUSE_REASON } from '../../core/redundancy/pause-record.js';
import { durationFlag, durationMs, parseBool, parseCount, parsePort, pascal } from '../option-parsers.js';
import type { ContextFactory } from '../context.js';
import { registerFailoverCommand } from './failover.js';
import { registerHistoryCommand } from './redundancy-history.js';
import { registerResyncCommand } from './resync.js';
import { addWitnessOptions, WITNESS_FLAG_NAMES, witnessUpdate, type WitnessFlagValues } from './witness-flags.js';
import { formatPause } from './status.js';

interface ConfigureOptions {
  mode?: string;
  masterAddress?: HostPort;
  masterPort?: number;
  ssl?: boolean;
  standby?: string;
  failoverTimeout?: number;
  joinWait?: number;
  recovery?: string;
  pingRate?: number;
  pingTimeout?: number;
  pingMaxMissed?: number;
  reconnectPeriod?: number;
  fastFailover?: boolean;
  onActivityChange?: string;
  preActivate?: string;
  hookTimeout?: number;
  syncTimeout?: number;
  syncJournalMaxBytes?: number;
  syncArchiveKeep?: number;
  force?: boolean;
}

type ConfigureFlags = ConfigureOptions & WitnessFlagValues;

interface PauseOptions {
  for?: number;
  reason?: string;
}

export function registerRedundancyCommands(program: Command, context: ContextFactory): void {
  const redundancy = program.command('redundancy').description('redundancy settings of this node (role, master address, timings)');

  redundancy
    .command('show')
    .description('the redundancy settings in redundancy.json')
    .addHelpText('after', '\nExample:\n  gwctl redundancy show\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const view = await ctx.client.redundancy();
      if (ctx.json) return ctx.printJson(view);
      ctx.out(formatRedundancy(view.settings));
    });

  const configure = redundancy.command('configure');
  configure
    .description('change redundancy settings; applied at once and saved to redundancy.json')
    .addOption(new Option('--mode <mode>', 'role of this node').choices(['independent', 'master', 'backup']))
    .option('--master-address <host[:port]>', "where a backup dials its master (the master's SSL or plain port)", parseAddress)
    .option('--master-port <n>', "the master's Gateway Network port", parsePortNonZero)
    .option('--ssl', 'dial the master over SSL (its SSL port, 8060 by default)')
    .option('--no-ssl', 'dial the master without SSL (its plain port, 8088 by default)')
    .addOption(new Option('--standby <level>', 'activity while standing by').choices(['cold', 'warm']))
    .option('--failover-timeout <ms>', 'ms without a message from the master before the backup takes over (or 10s, 2m)', durationFlag('ms', 100, 3_600_000))
    .option('--join-wait <ms>', 'ms to wait for the peer at startup (or 30s)', durationFlag('ms', 0, 3_600_000))
    .addOption(new Option('--recovery <mode>', 'what a returning master does').choices(['automatic', 'manual']))
    .option('--ping-rate <ms>', 'ms between pings on the link', durationFlag('ms', 10, 600_000))
    .option('--ping-timeout <ms>', 'ms after which a ping counts as missed', durationFlag('ms', 10, 600_000))
    .option('--ping-max-missed <n>', 'missed pings before the link is faulted', parseCount)
    .option('--reconnect-period <ms>', 'ms between redials of the master', durationFlag('ms', 10, 3_600_000))
    .option('--fast-failover <bool>', 'take over at once when the master process is known to be gone', parseBool)
    .option('--on-activity-change <path>', "executable run after every activity change ('none' removes it)")
    .option('--pre-activate <path>', "executable that may veto an activation with a non-zero exit ('none' removes it)")
    .option('--hook-timeout <ms>', 'ms a hook may run before it is killed (and a preActivate counts as a veto)', durationFlag('ms', 100, 600_000))
    .option('--sync-timeout <seconds>', 'seconds one configuration sync may take on the backup before it is retried (or 2m)', wholeSeconds)
    .option('--sync-journal-max-bytes <n>', 'bound of the config journal; a backup older than its tail gets a full snapshot', parseBytes)
    .option('--sync-archive-keep <n>', 'var/archive/<time>/ folders a backup keeps after each full sync, newest first (0 keeps all)', parseArchiveKeep)
    .option('--force', 'apply a role change although it makes this node Active while its connected peer is Active (refused otherwise: GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE)');
  addWitnessOptions(configure)
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl redundancy configure --mode master\n' +
        '  gwctl redundancy configure --mode backup --master-address 10.0.0.5 --ssl\n' +
        '  gwctl redundancy configure --mode backup --master-address 10.0.0.5:8088 --no-ssl\n' +
        '  gwctl redundancy configure --witness-etcd http://10.0.0.7:2379 --witness-prefix /gwd/line-3\n',
    )
    .action(async (opts: ConfigureFlags, cmd: Command) => {
      const ctx = context(cmd);
      const witness = await witnessUpdate(opts, cmd, async () => (await ctx.client.redundancy()).settings.witness ?? null);
      const update = toUpdate(opts, cmd, witness !== undefined);
      if (witness !== undefined) update.witness = witness;
      const since = Date.now();
      const view = await namingFlags(CONFIGURE_FLAGS, () => ctx.client.configureRedundancy(update, { force: opts.force === true }));
      // On stderr in both modes: --json keeps stdout exactly the API object (which has `forced` too).
      if (view.forced) ctx.io.stderr.write(hint(`forced: ${view.forced.message}`));
      if (changesMasterDial(update, view.settings)) {
        const failure = await firstDialFailure(() => ctx.client.connections(), view.settings, since);
        if (failure) ctx.io.stderr.write(hint(`saved, but the first dial failed: ${failure}`));
      }
      if (ctx.json) return ctx.printJson(view);
      ctx.out(formatRedundancy(view.settings));
    });

  registerFailoverCommand(redundancy, context);
  registerResyncCommand(redundancy, context);
  registerHistoryCommand(redundancy, context);

  redundancy
    .command('pause')
    .description("hold both nodes' activities (maintenance): no takeover or recovery by itself; an operator's failover still works")
    .option(
      '--for <duration>',
      'how long: 500ms, 10s, 2m, 1h, or a number of minutes (default 60; 0: until gwctl redundancy resume; at most 30 days)',
      (v: string) => parseDuration(v),
    )
    .option('--reason <text>', 'why, shown in gwctl status and the events of both nodes (at most 200 characters)', parseReason)
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl redundancy pause --for 30m --reason "switch firmware update"\n' +
        '  gwctl redundancy pause --for 0      # until gwctl redundancy resume\n',
    )
    .action(async (opts: PauseOptions, cmd: Command) => {
      const ctx = context(cmd);
      const body = { ...(opts.for !== undefined ? { forMs: opts.for } : {}), ...(opts.reason ? { reason: opts.reason } : {}) };
      const answer = await namingFlags({ '/forMs': '--for', '/reason': '--reason' }, () => ctx.client.pause(body));
      if (ctx.json) return ctx.printJson(answer);
      const status = await ctx.client.status().catch(() => null);
      const text = answer.paused ? formatPause(answer.paused, { self: status?.node.uuid ?? null, peer: status?.redundancy.peer?.uuid ?? null }) : 'ended already';
      const holds =
        status?.redundancy.role === 'Independent'
          ? 'this node is Independent (always Active): the pause holds once it is in a pair'
          : status?.redundancy.peer?.connected
            ? 'both nodes hold their activities'
            : 'this node holds its activity (the peer learns of the pause when the link is up)';
      ctx.out(`paused ${text}\n`);
      ctx.io.stderr.write(hint(`${holds}; an operator's failover still works; end it with: gwctl redundancy resume`));
    });

  redundancy
    .command('resume')
    .description('end a pause on both nodes: the redundancy rules apply again at once')
    .addHelpText('after', '\nExample:\n  gwctl redundancy resume\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const answer = await ctx.client.resume();
      if (ctx.json) return ctx.printJson(answer);
      ctx.out(answer.ended ? 'resumed: the redundancy rules apply again\n' : 'not paused: nothing to resume\n');
    });
}

/**
 * A duration flag (DESIGN.md section 8): 500ms, 10s, 2m, 1h, or a bare number in `bareUnitMs` (the
 * flag's documented unit). Returns whole ms.
 */
export function parseDuration(value: string, bareUnitMs = 60_000, maxMs = MAX_PAUSE_MS): number {
  const ms = Math.round(durationMs(value, bareUnitMs));
  if (!Number.isFinite(ms) || ms > maxMs) {
    throw new InvalidArgumentError('must be a duration such as 500ms, 10s, 2m, 1h or a number of minutes (0: until resumed), at most 30 days');
  }
  return ms;
}

function parseReason(value: string): string {
  if (value.length > MAX_PAUSE_REASON) throw new InvalidArgumentError(`must be at most ${MAX_PAUSE_REASON} characters`);
  return value;
}

/** redundancy.json fields (as the daemon names them in a refusal) and the flag that sets each. */
const CONFIGURE_FLAGS: FlagMap = {
  '/role': '--mode',
  '/standbyActivityLevel': '--standby',
  '/masterRecoveryMode': '--recovery',
  '/failoverTimeout': '--failover-timeout',
  '/joinWaitTime': '--join-wait',
  '/fastFailover': '--fast-failover',
  '/master': '--master-address',
  '/master/port': '--master-port',
  '/master/enableSsl': '--ssl/--no-ssl',
  '/master/pingRate': '--ping-rate',
  '/master/pingTimeout': '--ping-timeout',
  '/master/pingMaxMissed': '--ping-max-missed',
  '/master/reconnectPeriod': '--reconnect-period',
  '/syncTimeoutSecs': '--sync-timeout',
  '/syncJournalMaxBytes': '--sync-journal-max-bytes',
  '/syncArchiveKeep': '--sync-archive-keep',
  '/hooks/onActivityChange': '--on-activity-change',
  '/hooks/preActivate': '--pre-activate',
  '/hooks/timeoutMs': '--hook-timeout',
  ...WITNESS_FLAG_NAMES,
};

function toUpdate(opts: ConfigureOptions, cmd: Command, more = false): RedundancyUpdate {
  const update: RedundancyUpdate = {};
  const master: NonNullable<RedundancyUpdate['master']> = {};
  if (opts.mode) update.role = pascal(opts.mode) as Role;
  if (opts.standby) update.standbyActivityLevel = pascal(opts.standby) as RedundancySettings['standbyActivityLevel'];
  if (opts.recovery) update.masterRecoveryMode = pascal(opts.recovery) as RedundancySettings['masterRecoveryMode'];
  if (opts.failoverTimeout !== undefined) update.failoverTimeout = opts.failoverTimeout;
  if (opts.joinWait !== undefined) update.joinWaitTime = opts.joinWait;
  if (opts.fastFailover !== undefined) update.fastFailover = opts.fastFailover;
  if (opts.masterAddress) {
    master.host = opts.masterAddress.host;
    if (opts.masterAddress.port !== null) master.port = opts.masterAddress.port;
  }
  if (opts.masterPort !== undefined) {
    if (master.port !== undefined && master.port !== opts.masterPort) {
      throw clientError('GW_ERR_CLI_USAGE', { detail: `--master-address says port ${master.port} and --master-port says ${opts.masterPort}` });
    }
    master.port = opts.masterPort;
  }
  // commander sets ssl=true by default for a --no-ssl pair: only an explicit flag counts.
  if (cmd.getOptionValueSource('ssl') === 'cli') master.enableSsl = opts.ssl;
  if (opts.pingRate !== undefined) master.pingRate = opts.pingRate;
  if (opts.pingTimeout !== undefined) master.pingTimeout = opts.pingTimeout;
  if (opts.pingMaxMissed !== undefined) master.pingMaxMissed = opts.pingMaxMissed;
  if (opts.reconnectPeriod !== undefined) master.reconnectPeriod = opts.reconnectPeriod;
  if (Object.keys(master).length > 0) update.master = master;
  if (opts.syncTimeout !== undefined) update.syncTimeoutSecs = opts.syncTimeout;
  if (opts.syncJournalMaxBytes !== undefined) update.syncJournalMaxBytes = opts.syncJournalMaxBytes;
  if (opts.syncArchiveKeep !== undefined) update.syncArchiveKeep = opts.syncArchiveKeep;
  const hooks: NonNullable<RedundancyUpdate['hooks']> = {};
  const hookPath = (v: string): string | null => (v === 'none' || v === '' ? null : path.resolve(v));
  if (opts.onActivityChange !== undefined) hooks.onActivityChange = hookPath(opts.onActivityChange);
  if (opts.preActivate !== undefined) hooks.preActivate = hookPath(opts.preActivate);
  if (opts.hookTimeout !== undefined) hooks.timeoutMs = opts.hookTimeout;
  if (Object.keys(hooks).length > 0) update.hooks = hooks;
  if (Object.keys(update).length === 0 && !more) {
    throw clientError('GW_ERR_CLI_USAGE', { detail: 'nothing to change: give at least one option (see gwctl redundancy configure --help)' });
  }
  return update;
}

function parseAddress(value: string): HostPort {
  const hp = parseHostPort(value);
  if (!hp) throw new InvalidArgumentError('must be HOST or HOST:PORT (IPv6 as [addr]:port)');
  return hp;
}

/**
 * One sync operation may take from 1 s to 1 h: a bare `60000` (meant as ms, like the other timing
 * flags) is refused with the bounds instead of being taken as 16 hours.
 */
const seconds = durationFlag('s', 1000, 3_600_000);

/** syncTimeoutSecs is whole seconds: 1500ms is refused, not rounded behind the operator's back. */
function wholeSeconds(value: string): number {
  const n = seconds(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be whole seconds from 1s to 1h (e.g. 90, 90s, 2m)');
  return n;
}

function parseBytes(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1024 || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('must be a whole number of bytes, at least 1024');
  return Number(value);
}

function parseArchiveKeep(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 100000) throw new InvalidArgumentError('must be a whole number from 0 (keep all) to 100000');
  return Number(value);
}

function parsePortNonZero(value: string): number {
  const n = parsePort(value);
  if (n === 0) throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

export function formatRedundancy(s: RedundancySettings): string {
  const m = s.master;
  const w = s.witness ?? null;
  return keyValues([
    ['Role', s.role],
    ['Master address', m.host ? `${formatHostPort(m.host, m.port)} (${m.enableSsl ? 'SSL' : 'plain'})` : null],
    ['Standby activity', s.standbyActivityLevel],
    ['Failover timeout', `${s.failoverTimeout} ms`],
    ['Join wait', `${s.joinWaitTime} ms`],
    ['Recovery', s.masterRecoveryMode],
    ['Fast failover', s.fastFailover],
    ['Pings', `every ${m.pingRate} ms, timeout ${m.pingTimeout} ms, faulted after ${m.pingMaxMissed} missed`],
    ['Reconnect period', `${m.reconnectPeriod} ms`],
    ['Sync timeout', `${s.syncTimeoutSecs} s`],
    ['Sync journal bound', `${s.syncJournalMaxBytes} bytes`],
    ['Sync archives kept', s.syncArchiveKeep === 0 ? 'all' : s.syncArchiveKeep],
    ['Hook onActivityChange', s.hooks.onActivityChange],
    ['Hook preActivate', s.hooks.preActivate],
    ['Hook timeout', `${s.hooks.timeoutMs} ms`],
    // `etcd http://10.0.0.7:2379, http://10.0.0.8:2379 (prefix /gwd/line-3, lease TTL 5000 ms)`; TLS files when set.
    ['Witness', w ? `${w.kind} ${w.endpoints.join(', ')} (prefix ${w.prefix}, lease TTL ${w.leaseTtlMs} ms${w.tls ? `, TLS ca ${w.tls.ca} cert ${w.tls.cert} key ${w.tls.key}` : ''})` : null],
  ]);
}
