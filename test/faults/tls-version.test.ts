import { spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';

/** The TLS listener refuses anything below TLS 1.2, even from a client that offers only 1.0 or 1.1. */
let t: TestDaemon;
let port: number;

beforeAll(async () => {
  t = await startTestDaemon({ logLevel: 'warn' });
  port = (await t.client.network()).listeners.ssl.port!;
});
afterAll(async () => {
  await t.stop();
});

/** openssl s_client, asynchronously: the daemon under test runs in this process and must keep answering. */
function handshake(flag: string): Promise<{ output: string }> {
  // SECLEVEL=0 lets this client offer the old protocols at all (OpenSSL 3 disables them by default),
  // so the refusal seen is the server's.
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, flag, '-cipher', 'DEFAULT:@SECLEVEL=0', '-brief']);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ output });
    });
    child.stdin.end();
  });
}

describe('TLS versions on the Gateway Network port', () => {
  it('refuses TLS 1.1 and TLS 1.0', async () => {
    for (const flag of ['-tls1_1', '-tls1']) {
      const r = await handshake(flag);
      expect(r.output, flag).not.toMatch(/Protocol version: TLSv1(\.1)?\s*$/m);
      // Alert 70 (protocol_version) comes from the server: it refused the version the client offered.
      expect(r.output, flag).toMatch(/alert protocol version/i);
    }
  });

  it('accepts TLS 1.2 and 1.3 (the same client, so the refusals above are about the version)', async () => {
    for (const [flag, version] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']] as const) {
      const r = await handshake(flag);
      expect(r.output, flag).toContain(`Protocol version: ${version}`);
    }
  });
});
