/**
 * Network settings through gwctl on real gwd processes (issue 19): a change whose listeners cannot
 * bind is refused and rolled back (the old listeners keep running, gateway-network.json keeps the
 * settings that work, also after a restart); a change shadowed by gwd's --port/--bind is refused
 * naming the override; `gwctl status` shows a listener that is down; a dial to the wrong kind of
 * port (plain to SSL, TLS to plain) is named, with the flag to use.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { ConnectionEntry, NetworkView, StatusResponse } from '../../src/core/wire.js';
import { freePort } from '../helpers/fixed-port-node.js';
import { gwctl, spawnGwd, waitFor, type CliResult, type GwdProcess } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const running: GwdProcess[] = [];
const cleanups: Array<() => void> = [];
const blockers: Server[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const p of running) process.stderr.write(`\n----- gwd ${p.dataDir} -----\n${p.output()}`);
  await Promise.all(running.splice(0).map((p) => p.stop()));
  await Promise.all(blockers.splice(0).map((s) => new Promise((r) => s.close(r))));
  while (cleanups.length > 0) cleanups.pop()!();
});

function dataDir(): string {
  const t = makeTempDir('gwd-net-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A gwd with its ports in gateway-network.json (no --port/--bind: the file is in effect). */
async function startFromFile(dir: string, network: Record<string, unknown>, extra: string[] = []): Promise<GwdProcess> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'gateway-network.json'), JSON.stringify({ version: 1, bindAddress: '127.0.0.1', ...network }));
  return start(dir, ['--system-name', path.basename(dir), ...extra]);
}

async function start(dir: string, args: string[]): Promise<GwdProcess> {
  const p = spawnGwd(dir, args);
  running.push(p);
  const up = await ctl(p, 'wait', '--ready', '--timeout', '15');
  if (up.code !== 0) throw new Error(`gwd did not start: ${up.stderr}\n${p.output()}`);
  return p;
}

function ctl(p: GwdProcess, ...args: string[]): Promise<CliResult> {
  return gwctl(['--socket', p.socket, ...args], { timeoutMs: 20_000 });
}

async function json<T>(p: GwdProcess, ...args: string[]): Promise<T> {
  const r = await ctl(p, '--json', ...args);
  if (r.code !== 0) throw new Error(`gwctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const fileOf = (dir: string): { port: number; sslPort: number; bindAddress: string } =>
  JSON.parse(readFileSync(path.join(dir, 'gateway-network.json'), 'utf8')) as { port: number; sslPort: number; bindAddress: string };

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A port held by another process's listener (this test's), as an operator's mistake would meet it. */
async function busyPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  blockers.push(s);
  return (s.address() as { port: number }).port;
}

describe('network configure: a change whose listeners cannot bind is refused and rolled back', () => {
  it('refuses a port in use, an address not of this host, and a bind that is not an IP; the node keeps listening, also after a restart', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const [port, sslPort] = [await freePort(), await freePort()];
    let node = await startFromFile(dir, { port, sslPort });
    expect(await canConnect(port)).toBe(true);

    // A port in use: refused, named, nothing changed, the old plain listener back.
    const busy = await busyPort();
    const inUse = await ctl(node, 'network', 'configure', '--port', String(busy));
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('GW_ERR_GAN_LISTEN_FAILED');
    expect(inUse.stderr).toContain(`127.0.0.1:${busy}`);
    expect(inUse.stderr).toContain('EADDRINUSE');
    expect(inUse.stderr).toContain('nothing was changed');
    expect(fileOf(dir).port).toBe(port);
    const view = await json<NetworkView>(node, 'network', 'show');
    expect(view.settings.port).toBe(port);
    expect(view.listeners.plain).toMatchObject({ listening: true, port, error: null });
    expect(await canConnect(port)).toBe(true);

    // An IP that is not this host's: both listeners moved, both restored.
    const notHere = await ctl(node, 'network', 'configure', '--bind', '192.0.2.1');
    expect(notHere.code).toBe(1);
    expect(notHere.stderr).toContain('GW_ERR_GAN_LISTEN_FAILED');
    expect(notHere.stderr).toContain(`192.0.2.1:${port}`);
    expect(notHere.stderr).toContain('EADDRNOTAVAIL');
    expect(fileOf(dir).bindAddress).toBe('127.0.0.1');
    const status = await json<StatusResponse>(node, 'status');
    expect(status.listeners.plain).toMatchObject({ address: '127.0.0.1', port, listening: true });
    expect(status.listeners.ssl).toMatchObject({ address: '127.0.0.1', port: sslPort, listening: true });
    const human = await ctl(node, 'status');
    expect(human.stdout).toMatch(new RegExp(`Listeners\\s+plain 127\\.0\\.0\\.1:${port} listening, ssl 127\\.0\\.0\\.1:${sslPort} listening`));

    // Not an IP at all: refused by validation before any bind, as a usage error naming --bind.
    const typo = await ctl(node, 'network', 'configure', '--bind', '999.1.1.1');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('GW_ERR_GAN_SETTINGS_INVALID');
    expect(typo.stderr).toContain('--bind must be an IP address');
    expect(fileOf(dir).bindAddress).toBe('127.0.0.1');

    // A change that binds is applied at once and kept.
    const next = await freePort();
    const moved = await ctl(node, 'network', 'configure', '--port', String(next));
    expect(moved.code).toBe(0);
    expect(await canConnect(next)).toBe(true);
    expect(fileOf(dir).port).toBe(next);

    // The file holds the last settings that worked: a restart listens there.
    await node.stop();
    running.splice(running.indexOf(node), 1);
    node = await start(dir, ['--system-name', 'again']);
    const after = await json<NetworkView>(node, 'network', 'show');
    expect(after.listeners.plain).toMatchObject({ listening: true, port: next });
    expect(after.listeners.ssl).toMatchObject({ listening: true, port: sslPort });
  });

  it('gwctl status shows a listener that failed to bind at start as DOWN, in the JSON and the Listeners line', { timeout: 90_000 }, async () => {
    const busy = await busyPort();
    const port = await freePort();
    const node = await startFromFile(dataDir(), { port, sslPort: busy });
    const status = await json<StatusResponse>(node, 'status');
    expect(status.listeners.enabled).toBe(true);
    expect(status.listeners.plain).toMatchObject({ listening: true, port });
    expect(status.listeners.ssl.listening).toBe(false);
    expect(status.listeners.ssl.error).toContain('EADDRINUSE');
    const human = await ctl(node, 'status');
    expect(human.stdout).toContain(`plain 127.0.0.1:${port} listening, ssl 127.0.0.1:${busy} DOWN (EADDRINUSE)`);

    // A change that leaves the down listener where it was is not refused for it...
    expect((await ctl(node, 'network', 'configure', '--require-ssl', 'false')).code).toBe(0);
    // ...and moving it to a free port brings it up.
    const fixed = await freePort();
    expect((await ctl(node, 'network', 'configure', '--ssl-port', String(fixed))).code).toBe(0);
    expect((await json<StatusResponse>(node, 'status')).listeners.ssl).toMatchObject({ listening: true, port: fixed, error: null });
  });
});

describe('network configure on a node started with --port/--bind', () => {
  it('refuses a change the override shadows, naming it, exit 2; other fields still change', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const [port, sslPort] = [await freePort(), await freePort()];
    const node = await start(dir, ['--port', String(port), '--ssl-port', String(sslPort), '--bind', '127.0.0.1', '--system-name', 'flags']);
    const before = fileOf(dir);

    const r = await ctl(node, 'network', 'configure', '--port', '22');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('GW_ERR_GAN_SETTING_OVERRIDDEN');
    expect(r.stderr).toContain(`--port is overridden by gwd --port ${port}`);
    expect(r.stderr).toContain('restart gwd without --port');
    expect(fileOf(dir)).toEqual(before);

    const both = await ctl(node, '--json', 'network', 'configure', '--bind', '127.0.0.2', '--ssl-port', '9443');
    expect(both.code).toBe(2);
    const body = JSON.parse(both.stderr) as { code: string; details: { problems: Array<{ flag: string | null }> } };
    expect(body.code).toBe('GW_ERR_GAN_SETTING_OVERRIDDEN');
    expect(body.details.problems.map((p) => p.flag).sort()).toEqual(['--bind', '--ssl-port']);
    expect(fileOf(dir)).toEqual(before);

    // The same value as the file's is no change; a field no flag overrides changes as before.
    expect((await ctl(node, 'network', 'configure', '--port', String(before.port), '--require-ssl', 'false')).code).toBe(0);
    expect((await json<NetworkView>(node, 'network', 'show')).settings.requireSsl).toBe(false);
    expect(await canConnect(port)).toBe(true);
  });

  it('names an env override (GWD_PORT) the same way', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const port = await freePort();
    const p = spawnGwd(dir, ['--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', 'env'], { GWD_PORT: String(port) });
    running.push(p);
    expect((await ctl(p, 'wait', '--ready', '--timeout', '15')).code).toBe(0);
    const r = await ctl(p, 'network', 'configure', '--port', '22');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`GWD_PORT=${port}`);
  });
});

describe('the wrong kind of port is named, with the flag to use', () => {
  it('plain WebSocket to the SSL port suggests --ssl; TLS to the plain port suggests --no-ssl', { timeout: 90_000 }, async () => {
    const [mPort, mSsl] = [await freePort(), await freePort()];
    const master = await startFromFile(dataDir(), { port: mPort, sslPort: mSsl, requireSsl: false, securityPolicy: 'Unrestricted' });
    expect((await ctl(master, 'redundancy', 'configure', '--mode', 'master')).code).toBe(0);
    const backup = await startFromFile(dataDir(), { port: await freePort(), sslPort: await freePort() });

    const lastError = (): Promise<string | undefined> =>
      json<ConnectionEntry[]>(backup, 'connections', 'list').then((list) => list.find((c) => c.direction === 'outgoing')?.lastError?.message);

    const plainToSsl = await ctl(backup, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${mSsl}`, '--no-ssl', '--reconnect-period', '200');
    expect(plainToSsl.code).toBe(0);
    const e1 = await waitFor('the plain dial to fail', async () => ((await lastError())?.includes('SSL port') ? lastError() : undefined), 10_000, 100);
    expect(e1).toContain(`cannot reach 127.0.0.1:${mSsl}: it is an SSL port`);
    expect(e1).toContain('--ssl');
    expect(plainToSsl.stderr).toContain('is an SSL port');

    const tlsToPlain = await ctl(backup, 'redundancy', 'configure', '--master-address', `127.0.0.1:${mPort}`, '--ssl');
    expect(tlsToPlain.code).toBe(0);
    const e2 = await waitFor('the TLS dial to fail', async () => ((await lastError())?.includes('without TLS') ? lastError() : undefined), 10_000, 100);
    expect(e2).toContain(`cannot reach 127.0.0.1:${mPort}: it answered without TLS`);
    expect(e2).toContain('--no-ssl');
    expect(tlsToPlain.stderr).toContain('--no-ssl');

    // The right port and flag: the link comes up (the master is reachable all along).
    expect((await ctl(backup, 'redundancy', 'configure', '--master-address', `127.0.0.1:${mPort}`, '--no-ssl')).code).toBe(0);
    await waitFor('the link', async () => ((await json<StatusResponse>(backup, 'status')).redundancy.peer?.connected ? true : undefined), 15_000, 100);
  });
});
