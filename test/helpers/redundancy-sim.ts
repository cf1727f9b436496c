/**
 * The simulated pair with its faults: kill -9, clean stop, SIGSTOP/SIGCONT and the backup's
 * dialer, on top of SimCore's clock and link. Tests import Sim from here.
 */
import type { MachineEvent } from '../../src/core/redundancy/index.js';
import { SimCore, type SimNode } from './redundancy-sim-core.js';

export { settings } from './redundancy-fixtures.js';
export type { SimNode } from './redundancy-sim-core.js';

export class Sim extends SimCore {
  /** kill -9: the socket closes at once; the port is closed, so redials are refused. */
  kill(n: SimNode): void {
    n.machine = null;
    n.frozen = false;
    const peer = this.peerOf(n);
    if (this.conn !== null) {
      this.conn = null;
      const machine = peer.machine;
      this.at(this.now + 1, () => {
        if (peer.machine === machine) this.input(peer, { type: 'peerDisconnected', reason: 'closed' });
      });
    }
    // Only the backup dials; it learns from the refused redial that the master's process is gone.
    if (n === this.master) {
      const machine = peer.machine;
      this.at(this.now + this.reconnectPeriod, () => {
        if (peer.machine === machine && this.master.machine === null && !this.cut) this.input(peer, { type: 'redialRefused' });
      });
    }
  }

  /** Clean stop: the node tells its peer, then the link closes with a bye. */
  stop(n: SimNode): void {
    this.input(n, { type: 'stopRequested' });
    // A graceful close flushes what was sent first (stepping-down included), then says bye.
    const conn = this.conn;
    const flushed = conn === null ? this.now : Math.max(this.now, ...conn.last);
    const machine = n.machine;
    this.at(flushed + 1, () => {
      if (n.machine !== machine) return;
      n.machine = null;
      if (this.conn === conn) this.disconnect('bye', 1);
    });
  }

  freeze(n: SimNode): void {
    n.frozen = true;
    this.stall();
  }

  /** SIGCONT: the process catches up on its backlog; `timersFirst` picks which it sees first. */
  thaw(n: SimNode, timersFirst = true): void {
    n.frozen = false;
    const backlog = n.backlog.splice(0).filter((b) => b.type !== 'tick');
    if (timersFirst) this.input(n, { type: 'tick' });
    for (const body of backlog) this.input(n, body);
    if (!timersFirst) this.input(n, { type: 'tick' });
    this.unstall();
  }

  /** The backup keeps dialling the master every reconnectPeriod, as the daemon's dialer does. */
  autoDial(): void {
    const dial = (): void => {
      this.connect();
      this.at(this.now + this.reconnectPeriod, dial);
    };
    this.at(this.now, dial);
  }

  changesOf(n: SimNode): string[] {
    return n.changes.map((c) => `${c.from}->${c.to}:${c.reason}`);
  }

  eventsOf(n: SimNode, type: MachineEvent['type']): MachineEvent[] {
    return n.events.filter((e) => e.event.type === type).map((e) => e.event);
  }
}
