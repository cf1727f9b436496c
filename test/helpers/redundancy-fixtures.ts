/** Settings and input shapes shared by the redundancy test drivers (Sim, Solo). */
import type { MachineInput, MachineSettings } from '../../src/core/redundancy/index.js';

/** An input without its time: the drivers stamp it with their fake clock. */
export type InputBody = MachineInput extends infer I ? (I extends MachineInput ? Omit<I, 'now'> : never) : never;

export function settings(over: Partial<MachineSettings> = {}): MachineSettings {
  return {
    role: 'Master',
    standbyActivityLevel: 'Cold',
    joinWaitTime: 30_000,
    failoverTimeout: 10_000,
    masterRecoveryMode: 'Automatic',
    fastFailover: true,
    master: { host: '10.0.0.5', port: 8060, enableSsl: true, pingRate: 1000, reconnectPeriod: 1000 },
    hooks: { onActivityChange: null, preActivate: null, timeoutMs: 10_000 },
    ...over,
  };
}
