/**
 * The pair as `gwctl status` shows it: who is Active and why, then one row per node (the peer as it
 * last reported itself), and the one-line form `status --watch` prints when its output is not a
 * terminal. Every function takes `now`, so tests fix the clock.
 */
import type { PeerStatus, StatusResponse } from '../core/wire.js';
import { table } from './format.js';
import type { Colors } from './io.js';

/** `just now`, `42 s ago`, `3 min ago`, `2 h ago`, `5 days ago` (rounded down). */
export function ago(then: Date, now: Date): string {
  const s = Math.floor((now.getTime() - then.getTime()) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  const days = Math.floor(s / 86_400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

/** `42 s`, `3 min`, `2 h 5 min`, `3 days 4 h`. */
export function uptime(secs: number): string {
  const s = Math.max(0, Math.floor(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ''}`;
  }
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  return `${d} day${d === 1 ? '' : 's'}${h ? ` ${h} h` : ''}`;
}

/** HH:MM:SS in this machine's time zone, with the date in front when not today. */
export function clock(t: Date, now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  const sameDay = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() && t.getDate() === now.getDate();
  return sameDay ? time : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${time}`;
}

/** `12:03:07 (3 min ago)`. */
export function when(iso: string, now: Date): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : `${clock(t, now)} (${ago(t, now)})`;
}

/** `12:03:07 (3 min ago): master-gone`; `startup` when the activity has not changed since the start. */
export function sinceWithReason(s: StatusResponse, now: Date): string {
  return `${when(s.redundancy.since, now)}: ${s.redundancy.reason ?? 'startup'}`;
}

/** How a person names a node: its local label, else the system name, else its UUID's first 8. */
export function nodeName(n: { label?: string | null; systemName?: string | null; uuid?: string | null }): string {
  return n.label || n.systemName || (n.uuid ? n.uuid.slice(0, 8) : '-');
}

/** The peer's fields of this build, absent in the answer of an older gwd: null. */
function peerOf(s: StatusResponse): (Partial<PeerStatus> & Pick<PeerStatus, 'connected'>) | null {
  return s.redundancy.peer ?? null;
}

/** A revision, with how far the backup is behind its master when both are known. */
function revision(own: number | null, master: number | null, isBackup: boolean): string {
  if (own === null) return '-';
  if (!isBackup || master === null) return String(own);
  const behind = master - own;
  return behind > 0 ? `${own} (${behind} behind)` : `${own} (in sync)`;
}

/** `Active  plant-b (this node) since 12:03:07 (3 min ago): master-gone`, or who else is, or nobody. */
export function activeLine(s: StatusResponse, now: Date): string {
  const r = s.redundancy;
  if (r.activity === 'Active') return `${nodeName(s.node)} (this node) since ${sinceWithReason(s, now)}`;
  const p = peerOf(s);
  if (p?.connected && p.activity === 'Active') {
    const epoch = p.epoch === null || p.epoch === undefined ? '' : `, epoch ${p.epoch}`;
    return `${nodeName(p)} (the peer${epoch})${p.reason ? `: ${p.reason}` : ''}`;
  }
  const hold = r.hold ? `; this node holds back: ${r.hold}` : '';
  return `none known: this node is ${r.activity} since ${sinceWithReason(s, now)}${p?.connected ? '' : ', the peer is not connected'}${hold}`;
}

/**
 * One row per node, as `patronictl list` or `tailscale status` show a cluster: this node first
 * (marked `(here)`), then the peer as it last reported itself. Upper-case headers, so the rows never
 * answer a `grep Activity` meant for the details below. Null on an Independent node with no peer.
 */
export function pairTable(s: StatusResponse, c: Colors, now: Date): string | null {
  const r = s.redundancy;
  const p = peerOf(s);
  if (p === null) return null;
  const paint = (a: string | null | undefined): string | null => (a ? (a === 'Active' ? c.green(a) : c.yellow(a)) : null);
  // Which revision is the master's: the backup's lag is counted against it.
  const masterRev = r.role === 'Backup' ? r.sync.peerRevision : r.sync.revision;
  const peerRev = p.syncRevision !== undefined ? p.syncRevision : r.sync.peerRevision;
  const link = p.link ?? (p.connected ? 'connected' : 'not connected');
  const heard = p.lastHeardAt ? ago(new Date(p.lastHeardAt), now) : p.connected ? null : 'not yet';
  return table(
    ['NODE', 'ROLE', 'ACTIVITY', 'EPOCH', 'REVISION', 'LAST HEARD', 'LINK'],
    [
      [`${nodeName(s.node)} (here)`, r.role, paint(r.activity), r.epoch, revision(r.sync.revision, masterRev, r.role === 'Backup'), null, null],
      [
        nodeName(p),
        p.role ?? null,
        p.connected ? paint(p.activity) : null,
        p.epoch ?? null,
        revision(peerRev ?? null, r.sync.revision, p.role === 'Backup'),
        heard,
        p.connected ? c.green(link) : c.red(link),
      ],
    ],
  );
}

/**
 * One line per change of the pair, for `status --watch` into a pipe or a file: the time, then this
 * node and the peer. Only what changes with the pair goes in (no "3 min ago"), so two lines that
 * say the same thing are the same.
 */
export function watchLine(s: StatusResponse, at: Date): string {
  return `${at.toISOString()}  ${pairSummary(s)}\n`;
}

/** The part of watchLine that is compared to tell a change. */
export function pairSummary(s: StatusResponse): string {
  const r = s.redundancy;
  const self = `${nodeName(s.node)} ${r.role} ${r.activity} epoch ${r.epoch} (${r.reason ?? 'startup'})${r.paused ? ' paused' : ''}`;
  const p = peerOf(s);
  if (p === null) return self;
  const peerState = p.connected ? `${p.activity ?? '-'} epoch ${p.epoch ?? '-'}${p.reason ? ` (${p.reason})` : ''}` : 'not connected';
  const link = p.link ? `, link ${p.link}` : '';
  return `${self}; peer ${nodeName(p)} ${p.role ?? '-'} ${peerState}${link}; sync ${r.sync.state} ${r.sync.revision}/${r.sync.peerRevision ?? '-'}`;
}
