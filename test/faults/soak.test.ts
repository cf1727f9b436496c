import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { GwClient } from '../../src/cli/client.js';
import { freePort, okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor, type GwdProcess } from '../helpers/processes.js';
import { Prng } from '../helpers/prng.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Soak: random config changes on the master, restarts (clean and kill -9) and failovers, for a
 * bounded time (GWD_SOAK_SECS; `npm run soak` runs 10 minutes, CI a short one). At the end the two
 * configurations are equal, exactly one node is Active, and no acknowledged change is missing.
 */
const SECS = Number(process.env.GWD_SOAK_SECS ?? '20');

interface Node {
  name: string;
  dir: string;
  socket: string;
  port: number;
  proc: GwdProcess | null;
}

const nodes: Node[] = [];
const temps: Array<() => void> = [];

afterAll(async () => {
  for (const n of nodes) if (n.proc) await n.proc.stop(3000);
  temps.forEach((c) => c());
});

async function launch(n: Node): Promise<void> {
  n.proc = spawnOnPort(n.dir, n.name, n.port);
  await okOn(n, 'wait', '--ready', '--timeout', '20');
}

describe('soak', () => {
  it(`${SECS} s of config changes, restarts and failovers: equal configurations, one Active, nothing acknowledged lost`, async () => {
    const mk = async (name: string): Promise<Node> => {
      const t = makeTempDir(`gwd-soak-${name}-`);
      temps.push(t.cleanup);
      const n = { name, dir: t.dir, socket: path.join(t.dir, 'gwd.sock'), port: await freePort(), proc: null };
      nodes.push(n);
      return n;
    };
    const [master, backup] = [await mk('m'), await mk('b')];
    await Promise.all([launch(master), launch(backup)]);
    const timing = ['--failover-timeout', '1000', '--ping-rate', '200', '--join-wait', '2000'];
    await okOn(master, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
    await okOn(master, 'redundancy', 'configure', '--mode', 'master', ...timing);
    await okOn(backup, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${master.port}`, '--no-ssl', '--reconnect-period', '100', ...timing);
    await okOn(backup, 'wait', '--peer-connected', '--synced', '--timeout', '30');

    const rng = new Prng(7);
    /** What the master acknowledged last for each resource: its content, or null for a delete. */
    const acked = new Map<string, string | null>();
    const counts = { changes: 0, refused: 0, restarts: 0, kills: 0, failovers: 0 };
    const deadline = Date.now() + SECS * 1000;
    while (Date.now() < deadline) {
      const r = rng.next();
      if (r < 0.8) {
        const address = `opc-connection/soak-${rng.int(40)}`;
        const client = new GwClient(master.socket);
        try {
          if (rng.next() < 0.15) {
            await client.configDelete(address);
            acked.set(address, null);
          } else {
            const content = { endpointUrl: `opc.tcp://10.0.${rng.int(255)}.${rng.int(255)}:4840` };
            await client.configSet(address, content);
            acked.set(address, content.endpointUrl);
          }
          counts.changes++;
        } catch {
          // Not acknowledged (master restarting, resource already gone): nothing to remember.
          counts.refused++;
        } finally {
          await client.close();
        }
      } else if (r < 0.9) {
        const active = (await statusOf(master).catch(() => null))?.redundancy.activity === 'Active' ? master : backup;
        const res = await okOn(active, 'redundancy', 'failover', '--wait', '--timeout', '10').catch(() => null);
        if (res !== null) counts.failovers++;
      } else {
        const victim = rng.next() < 0.5 ? master : backup;
        if (rng.next() < 0.5) {
          victim.proc!.child.kill('SIGKILL');
          counts.kills++;
        } else {
          victim.proc!.child.kill('SIGTERM');
          counts.restarts++;
        }
        await victim.proc!.exited;
        await launch(victim);
      }
    }

    // Settle: both up, connected, synced, exactly one Active.
    await okOn(backup, 'wait', '--peer-connected', '--synced', '--timeout', '60');
    await waitFor('exactly one Active', async () => {
      const [m, b] = await Promise.all([statusOf(master), statusOf(backup)]);
      return (m.redundancy.activity === 'Active') !== (b.redundancy.activity === 'Active') ? true : undefined;
    }, 30_000, 100);

    const mc = new GwClient(master.socket);
    const bc = new GwClient(backup.socket);
    try {
      const list = async (c: GwClient) => (await c.configList()).resources.filter((x) => x.collections.includes('core')).map((x) => x.resource).sort();
      const [ml, bl] = await Promise.all([list(mc), list(bc)]);
      expect(bl).toEqual(ml);
      for (const address of ml) {
        const [a, b] = await Promise.all([mc.configGet(address, 'primary'), bc.configGet(address, 'primary')]);
        expect(b.content, address).toEqual(a.content);
      }
      for (const [address, endpoint] of acked) {
        if (endpoint === null) expect(ml, `${address} was deleted and acknowledged`).not.toContain(address);
        else expect(((await mc.configGet(address, 'primary')).content as { endpointUrl: string }).endpointUrl, address).toBe(endpoint);
      }
    } finally {
      await mc.close();
      await bc.close();
    }
    expect(counts.changes).toBeGreaterThan(0);
    process.stdout.write(`soak: ${JSON.stringify(counts)}\n`);
  }, (SECS + 180) * 1000);
});
