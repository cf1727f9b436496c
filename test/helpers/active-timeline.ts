import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import type { EventRecord } from '../../src/core/wire.js';
import { gwctl } from './processes.js';

/**
 * "Exactly one Active", checked twice on real processes (DESIGN.md section 4, issue 15):
 * - on the merged event timeline: each node's `activity.changed` events become the intervals in
 *   which it was Active, and the overlap of the two nodes' intervals is measured (one machine, one
 *   clock, millisecond stamps), as bench/figures/failover.mjs does;
 * - from outside: a sampler asks both plain ports `GET /health/active` every 50 ms, as a load
 *   balancer would, and keeps every sample in which both answered 200.
 */

export type Interval = [number, number];

/** A node whose event log can be read: through gwctl while it runs, from var/events.ndjson when it does not. */
export interface TimelineNode {
  name: string;
  socket: string;
  dataDir?: string;
  /**
   * Times the test killed the process (kill -9) or otherwise ended it without a chance to log:
   * an Active interval ends there at the latest.
   */
  deaths?: number[];
}

export async function readEvents(n: TimelineNode): Promise<EventRecord[]> {
  const r = await gwctl(['--socket', n.socket, '--json', 'events'], { timeoutMs: 15_000 });
  if (r.code === 0) return parseNdjson(r.stdout);
  const file = n.dataDir ? path.join(n.dataDir, 'var', 'events.ndjson') : null;
  if (file && existsSync(file)) return parseNdjson(readFileSync(file, 'utf8'));
  throw new Error(`gwctl events on ${n.name} exited ${r.code}: ${r.stderr}`);
}

function parseNdjson(text: string): EventRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EventRecord);
}

/**
 * Intervals between an event that `opens` and one that `closes` (either may repeat: only the first
 * of a run counts); a death of the process the node could not log ends an open interval first.
 */
function intervals(events: EventRecord[], opens: (e: EventRecord) => boolean, closes: (e: EventRecord) => boolean, deaths: number[], now: number): Interval[] {
  const out: Interval[] = [];
  let start: number | null = null;
  const deathIn = (from: number, to: number): number | undefined => deaths.filter((d) => d >= from && d <= to).sort((a, b) => a - b)[0];
  for (const e of events) {
    if (!opens(e) && !closes(e)) continue;
    const t = Date.parse(e.time);
    if (start !== null) {
      // A death the node could not log ends the interval before anything a new process logs.
      const d = deathIn(start, t);
      if (d !== undefined) {
        out.push([start, d]);
        start = null;
      }
    }
    if (opens(e) && start === null) start = t;
    else if (closes(e) && start !== null) {
      out.push([start, t]);
      start = null;
    }
  }
  if (start !== null) out.push([start, deathIn(start, now) ?? now]);
  return out;
}

/** Intervals in which a node was Active, from its activity.changed events; deaths end an open one. */
export function activeIntervals(events: EventRecord[], deaths: number[] = [], now = Date.now()): Interval[] {
  const changed = (e: EventRecord): boolean => e.type === 'activity.changed';
  return intervals(events, (e) => changed(e) && e.data.to === 'Active', (e) => changed(e) && e.data.to !== 'Active', deaths, now);
}

/** Intervals in which a node saw its peer link up (peer.connected .. peer.disconnected); deaths end an open one. */
export function linkIntervals(events: EventRecord[], deaths: number[] = [], now = Date.now()): Interval[] {
  return intervals(events, (e) => e.type === 'peer.connected', (e) => e.type === 'peer.disconnected', deaths, now);
}

export function intersect(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [s1, e1] of a) for (const [s2, e2] of b) if (Math.min(e1, e2) > Math.max(s1, s2)) out.push([Math.max(s1, s2), Math.min(e1, e2)]);
  return out.sort((x, y) => x[0] - y[0]);
}

/** `a` without the parts covered by `allowed`. */
export function subtract(a: Interval[], allowed: Interval[]): Interval[] {
  let rest = a.map((x): Interval => [x[0], x[1]]);
  for (const [as, ae] of allowed) {
    const next: Interval[] = [];
    for (const [s, e] of rest) {
      if (ae <= s || as >= e) {
        next.push([s, e]);
        continue;
      }
      if (as > s) next.push([s, as]);
      if (ae < e) next.push([ae, e]);
    }
    rest = next;
  }
  return rest;
}

/** Only the parts of the intervals at or after `from`. */
export function clip(a: Interval[], from: number): Interval[] {
  return a.filter(([, e]) => e > from).map(([s, e]): Interval => [Math.max(s, from), e]);
}

export const totalMs = (xs: Interval[]): number => xs.reduce((n, [s, e]) => n + (e - s), 0);

export interface PairTimeline {
  /** Both nodes' events, merged in time order, each tagged with its node. */
  merged: Array<EventRecord & { node: string }>;
  active: Record<string, Interval[]>;
  /** Where both were Active (after `from`). */
  overlaps: Interval[];
  overlapMs: number;
  /** A readable excerpt for a failure message. */
  describe(filter?: (e: EventRecord) => boolean): string;
}

const INTERESTING = /^(activity\.|peer\.|failover\.|process\.|role\.|redundancy\.|daemon\.|activation\.|epoch\.)/;

/** Read both logs now and measure the overlap of their Active intervals from `from` on. */
export async function pairTimeline(a: TimelineNode, b: TimelineNode, from: number): Promise<PairTimeline> {
  const [ea, eb] = await Promise.all([readEvents(a), readEvents(b)]);
  const now = Date.now();
  const active = { [a.name]: activeIntervals(ea, a.deaths, now), [b.name]: activeIntervals(eb, b.deaths, now) };
  const overlaps = clip(intersect(active[a.name]!, active[b.name]!), from);
  const merged = [...ea.map((e) => ({ ...e, node: a.name })), ...eb.map((e) => ({ ...e, node: b.name }))].sort(
    (x, y) => Date.parse(x.time) - Date.parse(y.time) || x.seq - y.seq,
  );
  const deaths = [...(a.deaths ?? []).map((t) => ({ t, node: a.name })), ...(b.deaths ?? []).map((t) => ({ t, node: b.name }))];
  return {
    merged,
    active,
    overlaps,
    overlapMs: totalMs(overlaps),
    describe(filter = (e) => INTERESTING.test(e.type)) {
      const lines = merged
        .filter((e) => Date.parse(e.time) >= from - 2000 && filter(e))
        .map((e) => ({ t: Date.parse(e.time), line: `${e.node.padEnd(3)} ${e.type} ${JSON.stringify(e.data)}` }));
      for (const d of deaths) if (d.t >= from - 2000) lines.push({ t: d.t, line: `${d.node.padEnd(3)} (killed or frozen by the test)` });
      lines.sort((x, y) => x.t - y.t);
      const fmt = (t: number): string => `${t - from >= 0 ? '+' : ''}${t - from}ms`.padStart(9);
      return [
        ...lines.map((l) => `${fmt(l.t)} ${l.line}`),
        ...Object.entries(active).map(([n, xs]) => `Active ${n}: ${xs.map(([s, e]) => `[${fmt(s).trim()}, ${fmt(e).trim()}]`).join(' ') || '-'}`),
        `both Active: ${overlaps.map(([s, e]) => `[${fmt(s).trim()}, ${fmt(e).trim()}] ${e - s} ms`).join(' ') || 'never'}`,
      ].join('\n');
    },
  };
}

// ---- Sampling /health/active from outside ----

export interface HealthTarget {
  name: string;
  /** The node's plain Gateway Network port (where /health/* answers). */
  port: number;
}

export type ProbeResult = number | 'refused' | 'timeout' | 'error';

export interface HealthSample {
  /** When both requests were sent. */
  sentAt: number;
  results: ProbeResult[];
  /** When each answer came (or the request gave up). */
  answeredAt: number[];
}

export interface SampleReport {
  names: string[];
  samples: HealthSample[];
  /** Samples in which every node answered 200. */
  bothActive: HealthSample[];
  describe(samples?: HealthSample[], from?: number): string;
}

function probe(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/health/active', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      finish(res.statusCode ?? 'error');
    });
    req.on('timeout', () => {
      req.destroy();
      finish('timeout');
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });
}

/**
 * Asks every target `GET /health/active` every `everyMs`, each round without waiting for the one
 * before (a frozen node must not stop the other from being sampled). `stop()` waits for the
 * requests in flight.
 */
export class ActiveSampler {
  private readonly samples: HealthSample[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly targets: HealthTarget[], private readonly everyMs = 50, private readonly timeoutMs = 1000) {}

  start(): this {
    const round = (): void => {
      const sample: HealthSample = { sentAt: Date.now(), results: [], answeredAt: [] };
      this.samples.push(sample);
      const p = Promise.all(
        this.targets.map(async (t, i) => {
          sample.results[i] = await probe(t.port, this.timeoutMs);
          sample.answeredAt[i] = Date.now();
        }),
      ).then(() => undefined);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    };
    round();
    this.timer = setInterval(round, this.everyMs);
    return this;
  }

  async stop(): Promise<SampleReport> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.inflight]);
    const names = this.targets.map((t) => t.name);
    const samples = this.samples.slice();
    return {
      names,
      samples,
      bothActive: samples.filter((s) => s.results.length === names.length && s.results.every((r) => r === 200)),
      describe(list = samples, from = samples[0]?.sentAt ?? 0) {
        return list
          .map((s) => `+${s.sentAt - from}ms ${names.map((n, i) => `${n}=${s.results[i]}@+${(s.answeredAt[i] ?? 0) - from}`).join(' ')}`)
          .join('\n');
      },
    };
  }

  /** Sample for `ms`, then stop. */
  async run(ms: number): Promise<SampleReport> {
    this.start();
    await new Promise((r) => setTimeout(r, ms));
    return this.stop();
  }
}

/** A both-Active sample is inside an allowed window when every answer came inside it. */
export function outsideAllowed(samples: HealthSample[], allowed: Interval[]): HealthSample[] {
  return samples.filter((s) => !allowed.some(([a, b]) => s.answeredAt.every((t) => t >= a && t <= b)));
}
