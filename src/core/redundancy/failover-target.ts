/**
 * `gwctl redundancy failover --to self|peer|<label>|<uuid-prefix>`: the operator names the node that should
 * be Active, so the command is idempotent (a script that retries it moves control once). Without
 * `--to` the command keeps its meaning of rule 7, a toggle. Pure: the daemon passes its view.
 */
import type { ErrorSpec } from '../errors.js';
import type { MachineView } from './machine.js';

export type FailoverPlan =
  /** The named node is Active already: nothing moves. */
  | { kind: 'already'; target: 'self' | 'peer' }
  /** Request a failover here (rule 7): it makes the named node Active. */
  | { kind: 'request'; target: 'self' | 'peer' }
  | { kind: 'refused'; error: ErrorSpec };

const MIN_PREFIX = 4;

function refused(to: string, detail: string): FailoverPlan {
  return { kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_FAILOVER_TARGET', params: { to, detail } } };
}

/**
 * `labels`: the two nodes' labels (node.json; the peer's from its hello), matched whole and
 * case-insensitive: after a sync both nodes carry one system name, the labels still tell them apart.
 */
export function planFailover(
  view: Pick<MachineView, 'activity' | 'peer'>,
  selfUuid: string,
  to: string,
  labels: { self: string | null; peer: string | null } = { self: null, peer: null },
): FailoverPlan {
  const want = to.trim().toLowerCase();
  const peerUuid = view.peer?.uuid?.toLowerCase() ?? null;
  const selfLabel = labels.self?.toLowerCase() === want;
  const peerLabel = peerUuid !== null && labels.peer?.toLowerCase() === want;
  let target: 'self' | 'peer';
  if (want === 'self') target = 'self';
  else if (want === 'peer') target = 'peer';
  else if (selfLabel && peerLabel) return refused(to, 'both nodes have this label; name one by its UUID (gwctl node show), or give one another label (gwctl node configure --label)');
  else if (selfLabel || peerLabel) target = selfLabel ? 'self' : 'peer';
  else {
    if (want.length < MIN_PREFIX) return refused(to, `name the node as self, peer, its label or at least ${MIN_PREFIX} characters of its UUID`);
    const self = selfUuid.toLowerCase().startsWith(want);
    const peer = peerUuid !== null && peerUuid.startsWith(want);
    if (self && peer) return refused(to, 'it is a prefix of both UUIDs; give more characters');
    if (!self && !peer) return refused(to, `it names neither this node (${selfUuid}) nor its peer (${view.peer?.uuid ?? 'none known'})`);
    target = self ? 'self' : 'peer';
  }
  if (target === 'self') return view.activity === 'Active' ? { kind: 'already', target } : { kind: 'request', target };
  const peerConnected = view.peer?.connected === true;
  if (peerConnected && view.peer?.activity === 'Active') return { kind: 'already', target };
  if (view.activity === 'Active') return { kind: 'request', target }; // hands over (NO_PEER if unlinked)
  if (!peerConnected) {
    return { kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_NO_PEER', params: { activity: view.activity } } };
  }
  return refused(to, 'neither node is Active and a node can only make itself Active; run `gwctl redundancy failover --to self` on the peer');
}
