import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ctlOn, freePort, okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor, type GwdProcess } from '../helpers/processes.js';
import { Prng } from '../helpers/prng.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * kill -9 of either node at random moments of pairing and of a failover (fixed seed): every time
 * the pair converges to exactly one Active node with both connected, and both stores check clean.
 */
const FULL = process.env.GWD_FAULTS_FULL === '1';
const TRIALS = FULL ? 50 : 6;

interface Node {
  name: string;
  dir: string;
  socket: string;
  port: number;
  proc: GwdProcess | null;
}

const temps: Array<() => void> = [];
let master: Node;
let backup: Node;


const run = ctlOn;

const ok = okOn;

async function launch(n: Node): Promise<void> {
  n.proc = spawnOnPort(n.dir, n.name, n.port);
  await ok(n, 'wait', '--ready', '--timeout', '15');
}

async function kill(n: Node): Promise<void> {
  const p = n.proc!;
  p.child.kill('SIGKILL');
  await p.exited;
}

const status = statusOf;

async function converged(): Promise<void> {
  await waitFor('exactly one Active with both connected', async () => {
    const [m, b] = await Promise.all([status(master), status(backup)]);
    const oneActive = (m.redundancy.activity === 'Active') !== (b.redundancy.activity === 'Active');
    return oneActive && m.redundancy.peer?.connected && b.redundancy.peer?.connected ? true : undefined;
  }, 20_000, 100);
  for (const n of [master, backup]) {
    const check = await run(n, 'config', 'check');
    expect(check.code, `${n.name}: ${check.stdout}${check.stderr}`).toBe(0);
  }
}

beforeAll(async () => {
  const mk = async (name: string): Promise<Node> => {
    const t = makeTempDir(`gwd-kill-${name}-`);
    temps.push(t.cleanup);
    return { name, dir: t.dir, socket: path.join(t.dir, 'gwd.sock'), port: await freePort(), proc: null };
  };
  [master, backup] = await Promise.all([mk('m'), mk('b')]);
  await Promise.all([launch(master), launch(backup)]);
  const timing = ['--failover-timeout', '1000', '--ping-rate', '200', '--join-wait', '1000'];
  await ok(master, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
  await ok(master, 'redundancy', 'configure', '--mode', 'master', ...timing);
  await ok(backup, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${master.port}`, '--no-ssl', '--reconnect-period', '100', ...timing);
  await converged();
}, 60_000);

afterAll(async () => {
  for (const n of [master, backup]) {
    if (n?.proc) await n.proc.stop(2000);
  }
  temps.splice(0).forEach((c) => c());
});

describe('kill -9 at random moments', () => {
  it(`${TRIALS} trials during pairing and failover: the pair always converges`, async () => {
    const rng = new Prng(42);
    for (let trial = 0; trial < TRIALS; trial++) {
      const victim = rng.next() < 0.5 ? master : backup;
      const moment = rng.int(400);
      if (rng.next() < 0.5) {
        // During pairing: the backup leaves and rejoins, and the kill lands somewhere in the handshake.
        await ok(backup, 'redundancy', 'configure', '--mode', 'independent', '--force'); // rule 11: the master may be Active
        await ok(backup, 'redundancy', 'configure', '--mode', 'backup');
      } else {
        // During a failover requested on the Active node.
        const active = (await status(master)).redundancy.activity === 'Active' ? master : backup;
        await run(active, 'redundancy', 'failover');
      }
      await new Promise((r) => setTimeout(r, moment));
      await kill(victim);
      await launch(victim);
      try {
        await converged();
      } catch (err) {
        throw new Error(`trial ${trial} (kill ${victim.name} after ${moment} ms): ${(err as Error).message}\n--- m ---\n${master.proc!.output().slice(-4000)}\n--- b ---\n${backup.proc!.output().slice(-4000)}`);
      }
    }
  }, 600_000);
});
