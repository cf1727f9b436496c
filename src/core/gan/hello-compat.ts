import type { ErrorSpec } from '../errors.js';
import type { Edition, Role } from '../wire.js';

/** Section 9, in the hello: the witness prefix, and etcd's cluster id once etcd has answered. */
export interface HelloWitness {
  prefix: string;
  clusterId: string | null;
}

export interface HelloSide {
  protocol: number;
  edition: Edition;
  role: Role;
  systemName: string;
  /** null: no witness; undefined: not said (then not checked). */
  witness?: HelloWitness | null;
}

export type IncompatibleCode =
  | 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL'
  | 'GW_ERR_GAN_INCOMPATIBLE_EDITION'
  | 'GW_ERR_GAN_INCOMPATIBLE_ROLE'
  | 'GW_ERR_REDUNDANCY_WITNESS_MISMATCH';

function describeWitness(w: HelloWitness | null): string {
  if (w === null) return 'none';
  return w.clusterId === null ? `${w.prefix} (cluster not reached yet)` : `${w.prefix} on etcd cluster ${w.clusterId}`;
}

/**
 * Section 9: both nodes use the same prefix on the same etcd cluster, or neither has a witness
 * (one vote each on two different keys would be no third vote at all). Cluster ids are compared
 * once both nodes have reached etcd.
 */
export function witnessMismatch(local: HelloWitness | null | undefined, remote: HelloWitness | null | undefined): Incompatibility | null {
  if (local === undefined || remote === undefined) return null;
  const differ =
    (local === null) !== (remote === null) ||
    (local !== null && remote !== null && (local.prefix !== remote.prefix || (local.clusterId !== null && remote.clusterId !== null && local.clusterId !== remote.clusterId)));
  if (!differ) return null;
  return { code: 'GW_ERR_REDUNDANCY_WITNESS_MISMATCH', params: { peerWitness: describeWitness(remote), ownWitness: describeWitness(local) } };
}

export type Incompatibility = ErrorSpec<IncompatibleCode>;

/**
 * Can these two nodes pair (DESIGN.md section 3)? Same protocol version, same edition (an Edge node
 * pairs only with an Edge node), and the dialled node is a Master dialled by a Backup.
 * `localIs` says which end of the connection this node is.
 */
export function checkHello(local: HelloSide, remote: HelloSide, localIs: 'dialer' | 'listener'): Incompatibility | null {
  const peer = remote.systemName;
  if (remote.protocol !== local.protocol) {
    return { code: 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL', params: { peer, remote: remote.protocol, local: local.protocol } };
  }
  if (remote.edition !== local.edition) {
    // Both nodes by name: the refusal is read on both sides (the dialer shows it as its last error),
    // where "this node" would name the wrong one.
    const article = (e: Edition): string => (e === 'edge' ? 'an Edge' : 'a Standard');
    return {
      code: 'GW_ERR_GAN_INCOMPATIBLE_EDITION',
      params: { peer, remote: article(remote.edition), self: local.systemName, local: article(local.edition) },
    };
  }
  const listener = localIs === 'listener' ? local : remote;
  const dialer = localIs === 'listener' ? remote : local;
  const listenerName = localIs === 'listener' ? 'this node' : peer;
  const dialerName = localIs === 'listener' ? peer : 'this node';
  if (listener.role !== 'Master') {
    return {
      code: 'GW_ERR_GAN_INCOMPATIBLE_ROLE',
      params: { detail: `${listenerName} is ${listener.role}, not Master: a backup dials its master only` },
    };
  }
  if (dialer.role !== 'Backup') {
    return {
      code: 'GW_ERR_GAN_INCOMPATIBLE_ROLE',
      params: { detail: `${dialerName} is ${dialer.role}, not Backup: only a backup dials a master` },
    };
  }
  return witnessMismatch(local.witness, remote.witness);
}
