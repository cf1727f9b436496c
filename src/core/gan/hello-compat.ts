import type { Edition, Role } from '../wire.js';

export interface HelloSide {
  protocol: number;
  edition: Edition;
  role: Role;
  systemName: string;
}

export type IncompatibleCode =
  | 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL'
  | 'GW_ERR_GAN_INCOMPATIBLE_EDITION'
  | 'GW_ERR_GAN_INCOMPATIBLE_ROLE';

export interface Incompatibility {
  code: IncompatibleCode;
  params: Record<string, string | number>;
}

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
  return null;
}
