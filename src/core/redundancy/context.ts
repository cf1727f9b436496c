/**
 * One step's working context: the mutable state, the time of the input and the decisions collected
 * so far. Helpers here are the only places that change activity or epoch, so every change comes
 * with its event, hook and persist decision in the same order.
 */
import type { Activity } from '../wire.js';
import { onActivityChangeEnv } from './hook-env.js';
import { peerPresent } from './peer-facts.js';
import { releaseKey } from './witness.js';
import type { RedundancyMessage, StateReport } from './messages.js';
import type { ActivityReason, Decision, MachineEvent, MachineState, StepContext } from './types.js';

export { peerActive, peerPresent, peerReachable } from './peer-facts.js';

function reportKey(r: StateReport): string {
  return `${r.role}|${r.activity}|${r.epoch}|${r.recoveryMode}|${r.failoverTimeout ?? ''}|${r.activatedEpoch ?? ''}`;
}

export class Ctx implements StepContext {
  readonly out: Decision[] = [];
  /** What the peer last heard from us in this step; a change after it is reported at the end. */
  private sentKey: string | null;

  constructor(
    readonly s: MachineState,
    readonly now: number,
  ) {
    this.sentKey = reportKey(this.report());
  }

  emit(event: MachineEvent): void {
    this.out.push({ type: 'emit', event });
  }

  /** Messages are only meaningful on a live link; without one the peer learns from the next hello. */
  send(message: RedundancyMessage): void {
    if (this.s.peer.linkUp) this.out.push({ type: 'send', message });
  }

  nextId(prefix: string): string {
    this.s.seq += 1;
    return `${this.s.nodeId}:${prefix}${this.s.seq}`;
  }

  /**
   * A failover's id, unique across restarts and both nodes: it names the node, the epoch it was
   * asked at (persisted, never lower after a restart) and this run of the process (bootId), so
   * `redundancy history` never shows two failovers under one id, as the bare `:f1` of every run did.
   */
  failoverId(): string {
    this.s.seq += 1;
    const boot = this.s.bootId === '' ? '' : `-${this.s.bootId}`;
    return `${this.s.nodeId.slice(0, 8)}-e${this.s.epoch}${boot}-f${this.s.seq}`;
  }

  standbyLevel(): Activity {
    return this.s.settings.standbyActivityLevel;
  }

  persist(): void {
    const { epoch, activatedEpoch, pairedMaster } = this.s;
    this.out.push({ type: 'persist', persisted: { epoch, activatedEpoch, pairedMaster } });
  }

  setActivity(to: Activity, reason: ActivityReason): void {
    const s = this.s;
    const from = s.activity;
    if (from === to) return;
    s.activity = to;
    s.since = this.now;
    s.lastReason = reason;
    this.out.push({ type: 'setActivity', from, to, reason, epoch: s.epoch });
    this.emit({ type: 'activity.changed', data: { from, to, reason, epoch: s.epoch } });
    this.hook(from, to, reason);
    // Section 9: a node that stops being Active gives the leader key back at once (before the
    // goodbye of a clean stop, which the decisions after this carry).
    if (from === 'Active') releaseKey(this);
  }

  /** Stand-by at the configured level (Cold or Warm). */
  standDown(reason: ActivityReason): void {
    this.setActivity(this.standbyLevel(), reason);
  }

  /** A new epoch while staying Active: consumers fencing on the epoch must learn it (hook too). */
  bumpEpoch(to: number, reason: ActivityReason): void {
    const from = this.s.epoch;
    this.s.epoch = to;
    if (this.s.activity === 'Active') this.s.activatedEpoch = to;
    this.persist();
    this.emit({ type: 'epoch.changed', data: { from, to, reason } });
    this.hook(this.s.activity, this.s.activity, reason);
  }

  /** A standing-by node follows the pair's epoch, so its own next activation is max + 1 after a restart. */
  adoptEpoch(epoch: number): void {
    if (this.s.activity === 'Active' || epoch <= this.s.epoch) return;
    this.s.epoch = epoch;
    this.persist();
  }

  report(failoverIds: string[] = []): StateReport {
    const s = this.s;
    return {
      role: s.settings.role,
      activity: s.activity,
      epoch: s.epoch,
      recoveryMode: s.settings.masterRecoveryMode,
      reason: s.lastReason ?? 'startup',
      failoverIds,
      failoverTimeout: s.settings.failoverTimeout,
      activatedEpoch: s.activatedEpoch,
    };
  }

  sendState(failoverIds: string[] = [], replyTo: string | null = null): void {
    const report = this.report(failoverIds);
    this.sentKey = reportKey(report);
    this.send({ type: 'redundancy.state', ...report, replyTo });
  }

  /** A new link: the peer gets our state even if nothing changed (its hello copy may be stale). */
  forceStateReport(): void {
    this.sentKey = null;
  }

  /** End of step: report any change the peer has not been told about yet. */
  flushState(): void {
    if (reportKey(this.report()) !== this.sentKey) this.sendState();
  }

  private hook(from: Activity, to: Activity, reason: ActivityReason): void {
    const { onActivityChange, timeoutMs } = this.s.settings.hooks;
    if (onActivityChange === null) return;
    const env = onActivityChangeEnv(this.s.settings.role, from, to, reason, this.s.epoch);
    this.out.push({ type: 'runHook', hook: 'onActivityChange', path: onActivityChange, env, timeoutMs });
  }
}

export function masterAddress(s: MachineState): string {
  return `${s.settings.master.host}:${s.settings.master.port}`;
}

/** Rule 6: a backup that never connected to its current master holds none of its config. */
export function pairedWithCurrentMaster(s: MachineState): boolean {
  const p = s.pairedMaster;
  if (p === null || p.address !== masterAddress(s)) return false;
  return p.ssl === undefined || p.ssl === s.settings.master.enableSsl;
}

/** The pairing a backup's settings name: a change of host, port or transport is another pair. */
export function pairingKey(settings: MachineState['settings']): string {
  if (settings.role !== 'Backup') return settings.role; // only the backup dials: the rest is its business
  const m = settings.master;
  return `${settings.role}|${m.host}|${m.port}|${m.enableSsl}`;
}
