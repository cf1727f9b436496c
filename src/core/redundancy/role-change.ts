/**
 * Rule 11: a role change that would make this node Active while its connected peer is Active.
 * Independent is always Active (rule 1); a Master whose peer is another Master never pairs, so it
 * goes Active alone at the end of its join wait (rule 4). Either way the pair would have two Active
 * nodes, so the change is refused unless the operator forces it.
 */
import type { Role } from '../wire.js';
import type { MachineView } from './machine.js';

export function wouldDualActive(view: Pick<MachineView, 'activity' | 'peer'>, from: Role, to: Role): boolean {
  if (from === to || view.activity === 'Active') return false;
  if (view.peer === null || !view.peer.connected || view.peer.activity !== 'Active') return false;
  return to === 'Independent' || to === 'Master';
}
