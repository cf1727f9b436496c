/**
 * Environment of the hooks (rule 9), built in core so the daemon's hook runner only spawns.
 * Values are strings because they become process environment variables.
 */
import type { Activity, Role } from '../wire.js';
import type { ActivityReason, HookEnv } from './types.js';

export function onActivityChangeEnv(
  role: Role,
  from: Activity,
  to: Activity,
  reason: ActivityReason,
  epoch: number,
): HookEnv {
  return {
    GWD_ROLE: role,
    GWD_ACTIVITY: to,
    GWD_PREVIOUS_ACTIVITY: from,
    GWD_REASON: reason,
    GWD_EPOCH: String(epoch),
  };
}

/**
 * preActivate sees the activity it would move to and the epoch it would get, so a script can
 * fence an external resource with the same token before saying yes.
 */
export function preActivateEnv(role: Role, current: Activity, reason: ActivityReason, nextEpoch: number): HookEnv {
  return {
    GWD_ROLE: role,
    GWD_ACTIVITY: 'Active',
    GWD_PREVIOUS_ACTIVITY: current,
    GWD_REASON: reason,
    GWD_EPOCH: String(nextEpoch),
  };
}
