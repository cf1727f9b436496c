/** The pure redundancy core: the state machine, its protocol messages and hook environments. */
export { RedundancyMachine } from './machine.js';
export type { MachineInit, MachineView } from './machine.js';
export { onActivityChangeEnv, preActivateEnv } from './hook-env.js';
export { retryDelay } from './handshake.js';
export * from './messages.js';
export type * from './types.js';
export { effectiveJoinWait, JOIN_MARGIN_MS } from './join-wait.js';
export { wouldDualActive } from './role-change.js';
export { watchInterval, stallSlack } from './stall.js';
export { planFailover, type FailoverPlan } from './failover-target.js';
export { disconnectOf, isRefusedRedial, linkErrorKind, redialAtOnce, socketErrno } from './peer-gone.js';
export type { Disconnect, LinkDown, LinkErrorKind } from './peer-gone.js';
