/**
 * One redundancy machine on a fake clock, fed by hand: for tests that play the peer's side of the
 * protocol message by message. `advance` fires the machine's timer exactly at its deadlines.
 */
import { RedundancyMachine } from '../../src/core/redundancy/index.js';
import type {
  Decision,
  MachineInput,
  MachineSettings,
  PersistedRedundancy,
  RedundancyMessage,
  StateReport,
  Step,
} from '../../src/core/redundancy/index.js';
import { settings, type InputBody } from './redundancy-fixtures.js';

export class Solo {
  now = 0;
  readonly m: RedundancyMachine;
  readonly decisions: Decision[] = [];
  deadline: number | null = null;
  last: Step | null = null;

  constructor(over: Partial<MachineSettings> = {}, persisted: PersistedRedundancy | null = null, nodeId = 'self') {
    this.m = new RedundancyMachine({ nodeId, settings: settings(over), persisted });
  }

  feed(body: InputBody): Step {
    const step = this.m.handle({ ...body, now: this.now } as MachineInput);
    this.decisions.push(...step.decisions);
    this.deadline = step.nextDeadline;
    this.last = step;
    return step;
  }

  /** Move the clock forward, ticking at every deadline the machine asks for on the way. */
  advance(ms: number): void {
    const until = this.now + ms;
    while (this.deadline !== null && this.deadline <= until) {
      this.now = Math.max(this.now, this.deadline);
      this.feed({ type: 'tick' });
    }
    this.now = until;
  }

  msg(message: RedundancyMessage): Step {
    return this.feed({ type: 'peerMessage', message });
  }

  connect(state: Partial<StateReport> & Pick<StateReport, 'role'>, uuid = 'peer'): Step {
    const full: StateReport = { activity: 'Cold', epoch: 0, recoveryMode: 'Automatic', reason: 'startup', failoverIds: [], ...state };
    return this.feed({ type: 'peerConnected', peer: { uuid, state: full } });
  }

  get activity(): string {
    return this.m.view().activity;
  }

  /** Messages sent since the given index of `decisions` (default: all). */
  sent(from = 0): RedundancyMessage[] {
    return this.decisions.slice(from).flatMap((d) => (d.type === 'send' ? [d.message] : []));
  }

  sentOf<T extends RedundancyMessage['type']>(type: T): Extract<RedundancyMessage, { type: T }>[] {
    return this.sent().filter((m): m is Extract<RedundancyMessage, { type: T }> => m.type === type);
  }

  changes(): string[] {
    return this.decisions.flatMap((d) => (d.type === 'setActivity' ? [`${d.from}->${d.to}:${d.reason}`] : []));
  }

  events(type: string): unknown[] {
    return this.decisions.flatMap((d) => (d.type === 'emit' && d.event.type === type ? [d.event.data] : []));
  }
}
