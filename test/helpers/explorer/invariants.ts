/**
 * The safety invariants I1-I6 of docs/safety.md, as code. The monitor is called after every
 * event of the world (and after every action) and keeps what it needs to judge intervals: since
 * when both nodes are Active, since when the pair is healthy, linked, calm. Each invariant's
 * precise statement is in docs/safety.md; the comments here say how it is measured.
 */
import { stallSlack } from '../../../src/core/redundancy/index.js';
import type { ActivityReason, MachineSettings } from '../../../src/core/redundancy/index.js';
import { ADDRESSES, LISTENER_SSL, PING_TIMEOUT, type ChangeRec, type NodeIx, type World } from './world.js';

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'W1';

export interface Violation {
  inv: InvariantId;
  t: number;
  detail: string;
}

/** Reasons a change of activity may have while the node is paused (rule 12): operators and safety. */
const PAUSE_ALLOWED: ReadonlySet<ActivityReason> = new Set<ActivityReason>([
  'requested',
  'forced',
  'stopping',
  'peer-active',
  'frozen',
  // Section 9: a node with neither the peer's vote nor the key stands down, paused or not (a pause
  // made while the link was down may not have reached the peer, which may take over with the key).
  'witness-lost',
  'role-changed',
  'settings-changed',
  'independent',
]);

/** Automatic reasons that take the Active role off a backup for the master (I5). */
const RECOVERY_REASONS: ReadonlySet<ActivityReason> = new Set<ActivityReason>(['peer-active', 'recovery-automatic', 'peer-standby']);

/**
 * Faults that separate the nodes without telling them why (silence): a partition without a witness.
 * A revoked certificate is one too (docs/safety.md): the dialer's TLS or trust check fails before a
 * hello, so a backup started meanwhile hears nobody and decides alone at the end of its join wait,
 * exactly as behind a cut (explorer: a paused backup restarted while revoked went Active at the
 * resume, beside the master that had kept Active).
 */
const PARTITION = /^(dead|frozen|cut|stall|drop|slow|revoked)/;

interface FreezeRec {
  from: number;
  /** Nothing but this freeze kept the pair from being healthy while it lasted. */
  clean: boolean;
  thawedAt: number | null;
  /** When the pair last became free of partition-like faults before this freeze began. */
  partitionEnd: number;
}

export class Monitor {
  readonly violations: Violation[] = [];
  checks = 0;
  /** Longest time from the start of a calm period to the pair settling (statistics). */
  maxSettleMs = 0;
  private dualSince: number | null = null;
  private dualReported = false;
  private w1Reported = false;
  /** The activation that made the current overlap (the second node to go Active). */
  private dualStarter: ChangeRec | null = null;
  /** No partition-like fault (dead, frozen, cut, stall, drop, slow) since then. */
  private partitionFreeSince: number | null = null;
  private partitionFreeAtDual: number | null = null;
  /** The overlap began while the pair was healthy (judged at that event, not at a later one in the same ms). */
  private dualBeganHealthy = false;
  private healthySince: number | null = null;
  private linkedSince: number | null = null;
  private calmSince: number | null = null;
  private calmReported = false;
  private settledSince: number | null = null;
  private fenceChecked = false;
  private lastActionAt = 0;
  private changeIx = 0;
  private bumpIx = 0;
  /** Every epoch used by an activation or a fence, per node, for I3. */
  private epochs: { node: NodeIx; epoch: number; t: number; order: number }[] = [];
  private lastEpoch: [number, number] = [0, 0];
  private freezes: [FreezeRec | null, FreezeRec | null] = [null, null];
  /** Each node's process generation last seen running while a partition-like fault was in force. */
  private genInPartition: [number, number] = [-1, -1];
  /** When the last partition-like fault ended (-Infinity: none yet). */
  private lastPartitionEnd = -Infinity;
  private scheduled = new Set<number>();

  constructor(
    private readonly w: World,
    private readonly states: Set<string> | null = null,
  ) {}

  private flight(): number {
    return Math.max(...this.w.link.delay);
  }

  /** I1: two Active nodes may overlap one message's flight at most... */
  w1(): number {
    return this.flight() + 1;
  }

  /** ...and, once linked after a fault, one frame, a state query and its answer. */
  w2(): number {
    return 3 * this.flight() + 1;
  }

  /** I2: how long a calm pair may take to settle: a redial, a silence, pings, hooks, flights. */
  t2(): number {
    const [a, b] = this.w.nodes.map((n) => n.settings) as [MachineSettings, MachineSettings];
    const m = (f: (s: MachineSettings) => number): number => Math.max(f(a), f(b));
    return m((s) => s.master.reconnectPeriod) + m((s) => s.failoverTimeout) + 2 * m((s) => s.master.pingRate) + 2 * this.w.cfg.hookDelay + 8 * PING_TIMEOUT + 500;
  }

  /** Why the pair is not healthy now (empty: healthy). `forced` only matters to I1. */
  faults(): string[] {
    const w = this.w;
    const out: string[] = [];
    for (const n of w.nodes) {
      if (n.machine === null) out.push(`dead:${n.name}`);
      else if (n.frozen) out.push(`frozen:${n.name}`);
    }
    const link = w.link;
    if (link.cut) out.push('cut');
    const live = link.live();
    if (live.some((c) => c.stalled)) out.push('stall');
    if (live.some((c) => c.dropping[0] || c.dropping[1])) out.push('drop');
    // Pongs come back within pingTimeout only if the round trip is shorter.
    // The last slow frame's landing is part of the fault (its effects happen in that ms).
    if (link.delay[0] + link.delay[1] >= PING_TIMEOUT || w.now <= link.slowUntil) out.push('slow');
    if (!link.approved) out.push('revoked');
    // Section 9: a witness that cannot be reached is no partition of the pair, but the pair may
    // rightly have no Active node meanwhile (I2 waits for it to be reachable again).
    const etcd = w.etcd;
    if (etcd !== null) for (const n of w.nodes) if (!etcd.reachable(n.ix)) out.push(`etcd:${n.name}`);
    const roles = w.nodes.map((n) => n.settings.role);
    const mi = roles.indexOf('Master');
    const bi = roles.indexOf('Backup');
    if (mi < 0 || bi < 0) out.push('roles');
    else {
      const bm = w.nodes[bi as NodeIx].settings.master;
      const addr = ADDRESSES[mi]!;
      if (bm.host !== addr.host || bm.port !== addr.port) out.push('address');
      if (bm.enableSsl !== LISTENER_SSL) out.push('ssl');
    }
    return out;
  }

  onAction(): void {
    this.lastActionAt = this.w.now;
  }

  /** After every event: activity changes first (I3-I6), then the intervals (I1, I2). */
  afterEvent(): void {
    const w = this.w;
    const now = w.now;
    while (this.changeIx < w.changes.length) this.onChange(w.changes[this.changeIx++]!);
    while (this.bumpIx < w.bumps.length) {
      const b = w.bumps[this.bumpIx++]!;
      this.checks += 1;
      if (b.to <= this.lastEpoch[b.node]) this.fail('I3', `${w.nodes[b.node].name} fenced to epoch ${b.to}, not above its own ${this.lastEpoch[b.node]}`);
      this.lastEpoch[b.node] = Math.max(this.lastEpoch[b.node], b.to);
      this.epochs.push({ node: b.node, epoch: b.to, t: b.t, order: b.order });
    }
    this.checks += 1;
    const acts = w.nodes.map((n) => w.activity(n));
    const active = acts.filter((a) => a === 'Active').length;
    const faults = this.faults();
    const i1Faults = faults.length > 0 || w.forced;
    const healthy = !i1Faults;
    const linked = w.link.linked() !== null;
    const partitioned = faults.some((f) => PARTITION.test(f));
    if (!partitioned && this.partitionFreeSince === null) this.lastPartitionEnd = now;
    this.partitionFreeSince = partitioned ? null : (this.partitionFreeSince ?? now);
    if (partitioned) for (const n of w.nodes) if (n.machine !== null) this.genInPartition[n.ix] = n.gen;
    if (active === 2) {
      if (this.dualSince === null) {
        this.dualSince = now;
        this.dualReported = false;
        this.dualStarter = [...w.changes].reverse().find((c) => c.to === 'Active' && c.from !== 'Active') ?? null;
        this.partitionFreeAtDual = this.partitionFreeSince;
        this.dualBeganHealthy = healthy;
      }
    } else this.dualSince = null;
    this.healthySince = healthy ? (this.healthySince ?? now) : null;
    this.linkedSince = linked ? (this.linkedSince ?? now) : null;
    this.trackFreezes(faults);
    if (linked && active === 1) w.forced = false;
    this.checkI1(now);
    this.checkW1();
    this.checkI2(now, faults, linked, active);
    if (this.states !== null) this.states.add(this.signature(linked));
  }

  private checkI1(now: number): void {
    const d = this.dualSince;
    const h = this.healthySince;
    if (d === null || h === null || this.dualReported) return;
    const w1 = this.w1();
    const w2 = this.w2();
    const who = `t=${d}`;
    // A node whose last word from its peer predates a partition may take over on that silence
    // just after the partition heals, before the link is back: by design (no witness); the link
    // then settles it (below and I2). A process started since is not stale: it must wait.
    const starter = this.dualStarter;
    const pf = this.partitionFreeAtDual;
    // "Existed before it ended" by the order of events, not only by time: a process started during
    // a partition that ends in the same ms (a dial lost in the cut) existed in it.
    const existed = starter !== null && (starter.startedAt < (pf ?? -Infinity) || this.genInPartition[starter.node] === starter.gen);
    const stale = starter !== null && pf !== null && starter.heardAt < pf && existed;
    if (this.dualBeganHealthy && !stale) {
      this.due(d + w1 + 1);
      if (now - d > w1) return this.failDual(`two Active since ${who}, which began while the pair was healthy (longer than ${w1} ms)`);
    }
    if (this.linkedSince !== null) {
      const from = Math.max(d, h, this.linkedSince);
      this.due(from + w2 + 1);
      if (now - from > w2) return this.failDual(`two Active since ${who} while linked and healthy since t=${from} (longer than ${w2} ms)`);
    }
    for (const ix of [0, 1] as const) {
      const f = this.freezes[ix];
      // A freeze that was the only fault: the node must come out of it without overlapping its
      // peer, whether the peer took over meanwhile or the node itself judges on frozen time.
      if (f === null || f.thawedAt === null || !f.clean || d < f.from || d > f.thawedAt + w1 || h > f.thawedAt) continue;
      // An activation on a silence that began in an earlier partition (the node heard nothing from
      // its peer since that partition ended, frames it released included) is that partition's, not
      // the freeze's: the first bullet's exemption, and the link settles it.
      if (starter !== null && starter.node !== ix && starter.heardAt <= f.partitionEnd) continue;
      // The same for the frozen node's own activation when its freeze was too short for it to
      // notice (within stallSlack, the tolerance for a late timer): it judged a silence that was
      // the partition's but for those few ms (seed 765687118: a 99 ms freeze right after a cut).
      const node = this.w.nodes[ix].machine;
      if (starter !== null && starter.node === ix && starter.heardAt <= f.partitionEnd && node !== null && f.thawedAt - f.from <= stallSlack(node.state)) continue;
      const from = Math.max(d, f.thawedAt);
      this.due(from + w1 + 1);
      if (now - from > w1) {
        return this.failDual(`two Active since ${who}, around the freeze of ${this.w.nodes[ix].name} (t=${f.from} to its thaw at t=${f.thawedAt}), for more than ${w1} ms after the thaw`);
      }
    }
  }

  /**
   * W1 (section 9): with a witness, never two Active nodes, whatever the partition, for no time
   * at all: a node counts while its process runs (a frozen process acts on nothing, and judges the
   * time it was frozen at its first step after the thaw). Outside forced operator actions and
   * nodes taken out of the pair (Independent).
   */
  private checkW1(): void {
    const w = this.w;
    if (w.etcd === null || this.w1Reported || w.forced) return;
    if (w.nodes.some((n) => n.settings.role === 'Independent')) return;
    this.checks += 1;
    const active = w.nodes.filter((n) => w.running(n) && w.activity(n) === 'Active');
    if (active.length < 2) return;
    this.w1Reported = true;
    const holder = w.etcd.holder();
    this.fail('W1', `two Active with a witness (leader key held by ${holder === null ? 'nobody' : w.nodes[holder].name})`);
  }

  private failDual(detail: string): void {
    this.dualReported = true;
    this.fail('I1', detail);
  }

  private trackFreezes(faults: string[]): void {
    for (const n of this.w.nodes) {
      const f = this.freezes[n.ix];
      if (n.frozen) {
        if (f === null || f.thawedAt !== null) {
          // A freeze is "clean" if the pair was healthy when it began apart from it.
          const others = faults.filter((x) => x !== `frozen:${n.name}`);
          this.freezes[n.ix] = { from: n.frozenAt, clean: others.length === 0 && !this.w.forced, thawedAt: null, partitionEnd: this.lastPartitionEnd };
        } else if (faults.some((x) => x !== `frozen:${n.name}`) || this.w.forced) f.clean = false;
      } else if (f !== null && f.thawedAt === null) {
        f.thawedAt = n.machine === null ? -Infinity : this.w.now;
      }
    }
  }

  private checkI2(now: number, faults: string[], linked: boolean, active: number): void {
    const w = this.w;
    const calm = faults.length === 0 && w.nodes.every((n) => n.hook !== 'no' || n.settings.hooks.preActivate === null) && now >= w.vetoRetryAt;
    if (!calm) {
      this.calmSince = null;
      return;
    }
    if (this.calmSince === null) {
      this.calmSince = now;
      this.calmReported = false;
      this.settledSince = null;
    }
    const from = Math.max(this.calmSince, this.lastActionAt);
    const settled = linked && active === 1;
    if (settled && this.settledSince === null) {
      this.settledSince = now;
      this.fenceChecked = false;
      this.maxSettleMs = Math.max(this.maxSettleMs, now - from);
    }
    if (!settled) this.settledSince = null;
    // The fence of an equal or higher epoch travels in the peer's next report: a round trip.
    if (this.settledSince !== null && !this.fenceChecked) {
      this.due(this.settledSince + this.w2() + 1);
      if (now - this.settledSince > this.w2()) {
        this.fenceChecked = true;
        this.checkFence();
      }
    }
    const t2 = this.t2();
    this.due(from + t2);
    if (settled || this.calmReported || now - from < t2) return;
    const paused = w.nodes.some((n) => n.pausedTold);
    if (active === 0 && paused) return; // rule 12: a paused pair with no Active node stays so
    this.calmReported = true;
    const acts = w.nodes.map((n) => `${n.name} ${n.settings.role} ${w.activity(n)}`).join(', ');
    this.fail('I2', `not settled ${now - from} ms after the last fault or action (t=${from}): ${acts}, ${linked ? 'linked' : 'not linked'}`);
  }

  /** I3, once settled: the Active node's epoch is above every epoch its peer ever used. */
  private checkFence(): void {
    const w = this.w;
    const ix = w.nodes.findIndex((n) => w.activity(n) === 'Active');
    if (ix < 0) return;
    const e = w.nodes[ix as NodeIx].machine!.view().epoch;
    const above = this.epochs.filter((x) => x.node !== ix && x.epoch >= e);
    this.checks += 1;
    if (above.length > 0) this.fail('I3', `settled with ${w.nodes[ix as NodeIx].name} Active at epoch ${e}, but its peer used epoch ${above[0]!.epoch} at t=${above[0]!.t}`);
  }

  private onChange(c: ChangeRec): void {
    const w = this.w;
    const n = w.nodes[c.node];
    const name = n.name;
    this.checks += 1;
    const activation = c.to === 'Active' && c.from !== 'Active';
    // I3: epochs (Independent has no pair and no epoch of its own).
    if (activation && c.reason !== 'independent') {
      if (c.epoch <= this.lastEpoch[c.node]) this.fail('I3', `${name} activated at epoch ${c.epoch}, not above its own earlier ${this.lastEpoch[c.node]}`);
      const known = this.epochs.filter((x) => x.node !== c.node && x.epoch >= c.epoch && c.heardSentAt > x.order);
      if (known.length > 0) {
        this.fail('I3', `${name} activated (${c.reason}) at epoch ${c.epoch}, not above epoch ${known[0]!.epoch} its peer used at t=${known[0]!.t}, which it had heard of`);
      }
      this.lastEpoch[c.node] = Math.max(this.lastEpoch[c.node], c.epoch);
      this.epochs.push({ node: c.node, epoch: c.epoch, t: c.t, order: c.order });
    }
    // I1, rule 10: a goodbye that said the peer is still Active never hands over by itself.
    // A forced failover is the operator vouching for the peer being down (rule 7), even when it was
    // given just before the goodbye arrived (explorer seed 1545614338): not rule 10's business.
    if (activation && c.toldPeerActive && c.reason !== 'forced' && w.activity(w.peerOf(n)) === 'Active') {
      this.fail('I1', `${name} became Active (${c.reason}) while its peer, which left saying it was still Active, is Active`);
    }
    // I4: a Backup never connected to its current master does not become Active unless forced.
    if (activation && c.role === 'Backup' && !c.pairedNow && c.reason !== 'forced') {
      this.fail('I4', `${name}, a Backup never connected to ${n.settings.master.host}:${n.settings.master.port} (ssl ${n.settings.master.enableSsl}), became Active (${c.reason})`);
    }
    // I5: under Manual recovery the master does not take the Active role back by itself.
    const masterIx = w.nodes.findIndex((x) => x.settings.role === 'Master');
    const manual = masterIx >= 0 && w.nodes[masterIx as NodeIx].settings.masterRecoveryMode === 'Manual' && c.t - w.recoveryChangedAt > this.w2();
    if (manual && c.role === 'Backup' && c.from === 'Active' && c.to !== 'Active' && RECOVERY_REASONS.has(c.reason)) {
      this.fail('I5', `${name} (Backup) stood down (${c.reason}) for the master under Manual recovery`);
    }
    if (manual && c.role === 'Master' && activation && c.reason === 'recovery-automatic') {
      this.fail('I5', `${name} (Master) took the Active role back (recovery-automatic) under Manual recovery`);
    }
    // I6: a paused node changes activity only on an operator's word or for safety.
    if (c.paused && !PAUSE_ALLOWED.has(c.reason)) this.fail('I6', `${name} went ${c.from} -> ${c.to} (${c.reason}) while paused`);
  }

  private fail(inv: InvariantId, detail: string): void {
    this.violations.push({ inv, t: this.w.now, detail });
  }

  /** Make sure the world wakes at `t` so that an interval's end is judged on time. */
  private due(t: number): void {
    if (t <= this.w.now || this.scheduled.has(t)) return;
    this.scheduled.add(t);
    this.w.clock.at(t, () => this.scheduled.delete(t));
  }

  /** What counts as a distinct state: each node's role, activity, phase, hold, link, pause. */
  signature(linked: boolean): string {
    const w = this.w;
    const parts = w.nodes.map((n) => {
      if (n.machine === null) return 'down';
      const v = n.machine.view();
      return `${v.role[0]}${v.activity[0]}${v.phase[0]}${v.hold?.[0] ?? '-'}${v.peer?.connected ? 'c' : '-'}${v.paused ? 'p' : '-'}${n.frozen ? 'F' : ''}`;
    });
    return `${parts.join('|')}|${linked ? 'L' : '-'}${w.link.cut ? 'C' : ''}`;
  }
}
