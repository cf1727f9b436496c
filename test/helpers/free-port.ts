import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A loopback port for a process the test starts later (a node that must keep its port across
 * restarts, an etcd member).
 *
 * Taken below the kernel's ephemeral range, not from `listen(0)`: a port that listen(0) gave and
 * the test released sits in the range the kernel hands to every outgoing connection, and another
 * test's connection (a peer dialing, gwctl's HTTP to a metrics port, etcd's clients) could take it
 * as its local port before the node bound it; a pairing then waited 15 s for a node that never
 * listened (test/e2e/safety-goodbye.test.ts, once in CI). Below the range only another caller of
 * this function can take it: the ports are picked at random in a space of ~20,000, checked
 * bindable, and never given twice by one process.
 */
export async function freePort(): Promise<number> {
  const [low, high] = PICK_RANGE;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (given.has(port)) continue;
    if (await bindable(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no bindable port found in ${low}-${high - 1} after 200 tries`);
}

/** The kernel's range of ephemeral ports (what connect() and listen(0) take), as it reports it. */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    /* not Linux: the IANA range, which other systems use */
  }
  return [49152, 65535];
}

/** [low, high): from 10,000 to the start of the ephemeral range (at least 5,000 ports). */
const PICK_RANGE: [number, number] = (() => {
  const [ephemeralLow] = ephemeralRange();
  return ephemeralLow - 10_000 >= 5_000 ? [10_000, ephemeralLow] : [ephemeralLow - 5_000, ephemeralLow];
})();

const given = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
