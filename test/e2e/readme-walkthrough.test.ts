/**
 * The README's pairing walkthrough, run as written: every command between the README's
 * `walkthrough:start` and `walkthrough:end` markers, in order, on two real gwd processes on loopback
 * (the README's ports replaced by free ones, its sample fingerprints and UUIDs by this run's), each
 * answer checked against the output the README shows. Then what the README says of labels, checked
 * beyond it: the backup restarted after the first sync (its connection id now starts with the
 * master's system name) is still approved by its label, which survived the restart and the sync.
 *
 * Matching an answer: each line the README shows must be a line of the output, after both are
 * normalised (UUIDs, hex, times, dates, loopback addresses and ping times stand for any such value,
 * spaces collapse, `...` inside a line matches anything, a line `...` stands for lines left out, and
 * the system-name part of a connection id is any name: it changes when the link is next set up,
 * as the README says). A command whose answer does not match yet is asked again for up to 15 s
 * ("within a second the backup redials"); one that never matches fails the test with its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { CertEntry, ConnectionEntry, EventRecord, NodeInfo, StatusResponse } from '../../src/core/wire.js';
import { freePort } from '../helpers/fixed-port-node.js';
import { ROOT } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const temp = makeTempDir('gwd-readme-');
const daemons = new Map<string, ChildProcess>();
let logs = '';

afterAll(async () => {
  for (const child of daemons.values()) await stopDaemon(child);
  temp.cleanup();
});

interface Step {
  /** `daemon`: a ```sh line starting gwd; `command`: a `$ ` line of a ```console block. */
  kind: 'daemon' | 'command';
  line: string;
  expected: string[];
}

/** The walkthrough's steps, in README order. */
function walkthrough(): Step[] {
  const start = README.indexOf('<!-- walkthrough:start');
  const end = README.indexOf('<!-- walkthrough:end');
  expect(start, 'README has the walkthrough:start marker').toBeGreaterThan(0);
  expect(end, 'README has the walkthrough:end marker').toBeGreaterThan(start);
  const steps: Step[] = [];
  let block: 'sh' | 'console' | null = null;
  for (const raw of README.slice(start, end).split('\n')) {
    if (raw.startsWith('```')) {
      block = block ? null : raw === '```sh' ? 'sh' : raw === '```console' ? 'console' : null;
      continue;
    }
    if (block === 'sh' && raw.trim() !== '') steps.push({ kind: 'daemon', line: raw.trim(), expected: [] });
    else if (block === 'console') {
      if (raw.startsWith('$ ')) steps.push({ kind: 'command', line: raw.slice(2), expected: [] });
      else if (raw.trim() !== '') steps.at(-1)!.expected.push(raw);
    }
  }
  return steps;
}

/** What the README's sample values stand for in this run (filled as the nodes come up). */
const samples: Record<string, () => string> = {};

function substitute(line: string, ports: Record<string, number>): string {
  let out = line.replace(/\b(8088|8060|8089|8061)\b/g, (p) => String(ports[p]));
  for (const [sample, actual] of Object.entries(samples)) if (out.includes(sample)) out = out.split(sample).join(actual().slice(0, sample.length));
  return out;
}

function normalise(line: string): string {
  return line
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/\b[0-9a-f]{8}-\.\.\./g, 'U')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, 'U')
    .replace(/\b[0-9a-f]{8,}\b/g, 'H')
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, 'T')
    .replace(/\b\d{4}-\d{2}-\d{2}\b/g, 'D')
    .replace(/127\.0\.0\.1:\d+/g, 'A')
    .replace(/\b\d+ ms\b/g, 'N ms')
    .replace(/[\w.-]+\|U/g, 'ID|U')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The README lines the output lacks (none: it matches). */
function missing(expected: string[], stdout: string): string[] {
  const actual = stdout.split('\n').map(normalise);
  return expected
    .filter((l) => l.trim() !== '...')
    .filter((l) => {
      const pattern = normalise(l)
        .split('...')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      const re = new RegExp(`^${pattern}$`);
      return !actual.some((a) => re.test(a));
    });
}

function sh(line: string, timeoutMs = 20_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', line], { cwd: temp.dir, env: { ...process.env, GWD_SOCKET: '', GWD_DATA_DIR: '', NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, out });
    });
  });
}

async function run(line: string, expected: string[]): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 1; attempt <= 60; attempt += 1) {
    const r = await sh(line);
    const lacking = missing(expected, r.out);
    if (r.code === 0 && lacking.length === 0) return r.out;
    if (Date.now() > deadline) {
      throw new Error(`README command failed: $ ${line}\nexit ${r.code}\n--- output\n${r.out}--- README lines not found\n${lacking.join('\n')}\n--- gwd logs\n${logs.slice(-4000)}`);
    }
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`README command never matched: $ ${line}`);
}

function startDaemon(line: string, dataDir: string): ChildProcess {
  // exec: the PID is gwd's own, so the test ends it by that PID.
  const child = spawn('bash', ['-c', `exec ${line}`], { cwd: temp.dir, env: { ...process.env, GWD_SOCKET: '', GWD_DATA_DIR: '' } });
  child.stdout!.on('data', (c: Buffer) => (logs += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
  daemons.set(dataDir, child);
  return child;
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 6000);
  await exited;
  clearTimeout(timer);
}

async function json<T>(socket: string, ...args: string[]): Promise<T> {
  const r = await sh(`./bin/gwctl --socket ${socket} --json ${args.join(' ')}`);
  expect(r.code, r.out).toBe(0);
  return JSON.parse(r.out) as T;
}

/** `gwctl --json events` answers NDJSON, one event a line. */
async function events(socket: string, type: string): Promise<EventRecord[]> {
  const r = await sh(`./bin/gwctl --socket ${socket} --json events --type ${type}`);
  expect(r.code, r.out).toBe(0);
  return r.out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as EventRecord);
}

describe('README: pair two nodes on one machine', () => {
  it('runs as written, the approve by label after the first sync included; the label survives a restart and the sync', async () => {
    const ports: Record<string, number> = {};
    for (const p of ['8088', '8060', '8089', '8061']) ports[p] = await freePort();
    // ./bin/gwd and ./bin/gwctl, as in a clone of this repository.
    symlinkSync(path.join(ROOT, 'bin'), path.join(temp.dir, 'bin'));

    const steps = walkthrough();
    expect(steps.filter((s) => s.kind === 'daemon')).toHaveLength(2);
    expect(steps.filter((s) => s.kind === 'command').length).toBeGreaterThan(15);
    // The README's samples, replaced by this run's values before a command runs.
    for (const sample of ['cb3fd448', '70d46d54', '7353d034']) expect(README).toContain(sample);
    const fingerprint = (dir: string) => () => JSON.parse(readFileSync(path.join(temp.dir, dir, 'node-fp.json'), 'utf8')).fingerprint as string;
    samples.cb3fd448 = fingerprint('node-a');
    samples['70d46d54'] = fingerprint('node-b');
    samples['7353d034'] = () => JSON.parse(readFileSync(path.join(temp.dir, 'node-b', 'node.json'), 'utf8')).uuid as string;

    const backupStart = steps.find((s) => s.kind === 'daemon' && s.line.includes('node-b'))!.line;
    for (const step of steps) {
      const line = substitute(step.line, ports);
      if (step.kind === 'daemon') {
        const dir = /--data-dir \.\/(\S+)/.exec(line)![1]!;
        startDaemon(line, dir);
        await run(`./bin/gwctl --socket ${dir}/gwd.sock wait --ready --timeout 15`, []);
        const cert = await json<{ fingerprint: string }>(`${dir}/gwd.sock`, 'node', 'cert');
        writeFileSync(path.join(temp.dir, dir, 'node-fp.json'), JSON.stringify({ fingerprint: cert.fingerprint }));
        continue;
      }
      await run(line, step.expected);
    }

    // The README ends with the backup renamed plant-b-hall2; its system name is the master's.
    const a = 'node-a/gwd.sock';
    const b = 'node-b/gwd.sock';
    const nodeB = await json<NodeInfo>(b, 'node', 'show');
    expect(nodeB).toMatchObject({ label: 'plant-b-hall2', systemName: 'plant-a' });
    expect(JSON.parse(readFileSync(path.join(temp.dir, 'node-b', 'node.json'), 'utf8')).label).toBe('plant-b-hall2');

    // Restarted, the backup keeps its label and says it in its hello: the master's connection id
    // now starts with plant-a, and the label still names it.
    await stopDaemon(daemons.get('node-b')!);
    startDaemon(substitute(backupStart, ports), 'node-b');
    await run(`./bin/gwctl --socket ${b} wait --ready --peer-connected --synced --timeout 20`, []);
    expect(await json<NodeInfo>(b, 'node', 'show')).toMatchObject({ label: 'plant-b-hall2', systemName: 'plant-a' });
    const conns = await json<ConnectionEntry[]>(a, 'connections', 'list');
    const backupConn = conns.find((c) => c.peer.uuid === nodeB.uuid)!;
    expect(backupConn.id).toBe(`plant-a|${nodeB.uuid}`);
    expect(backupConn.peer.label).toBe('plant-b-hall2');
    await run(`./bin/gwctl --socket ${a} connections approve plant-b-hall2`, [`approved plant-a|${nodeB.uuid} (plant-b-hall2)`]);
    await run(`./bin/gwctl --socket ${a} connections approve ${nodeB.uuid.slice(0, 8)}`, [`approved plant-a|${nodeB.uuid} (plant-b-hall2)`]);
    await run(`./bin/gwctl --socket ${a} connections approve 'plant-a|${nodeB.uuid.slice(0, 8)}'`, [`approved plant-a|${nodeB.uuid} (plant-b-hall2)`]);
    const nobody = await sh(`./bin/gwctl --socket ${a} connections approve plant-z`);
    expect(nobody.code).toBe(1);
    expect(nobody.out).toContain('GW_ERR_GAN_CONNECTION_NOT_FOUND');

    // Both nodes by their own labels, in status, the certificate lists and the events.
    const statusA = await json<StatusResponse>(a, 'status');
    expect(statusA.node).toMatchObject({ label: 'plant-a', systemName: 'plant-a' });
    expect(statusA.redundancy.peer).toMatchObject({ connected: true, uuid: nodeB.uuid, label: 'plant-b-hall2' });
    const statusB = await json<StatusResponse>(b, 'status');
    expect(statusB.redundancy.peer).toMatchObject({ connected: true, label: 'plant-a' });
    const certsA = await json<CertEntry[]>(a, 'certs', 'list');
    expect(certsA.find((c) => c.peer?.uuid === nodeB.uuid)?.peer?.label).toBe('plant-b-hall2');
    const certsB = await json<CertEntry[]>(b, 'certs', 'list');
    expect(certsB.find((c) => c.direction === 'outgoing')?.peer?.label).toBe('plant-a');
    await run(`./bin/gwctl --socket ${a} certs approve plant-b-hall2`, ['approved H (incoming, plant-b-hall2)']);
    const eventsA = await events(a, 'peer.connected');
    expect(eventsA.at(-1)?.data).toMatchObject({ uuid: nodeB.uuid, label: 'plant-b-hall2' });
    const eventsB = await events(b, 'node.settings');
    expect(eventsB.at(-1)?.data).toMatchObject({ changed: ['label'], label: 'plant-b-hall2', previous: 'plant-b' });

    // The metrics name both machines by label; promtool finds nothing to say about those families.
    const metricsA = await sh(`curl -s --unix-socket ${a} http://gwd/metrics`);
    expect(metricsA.out).toMatch(/^gwd_node_info\{uuid="[0-9a-f-]{36}",label="plant-a",system_name="plant-a"\} 1$/m);
    expect(metricsA.out).toContain(`gwd_peer_info{uuid="${nodeB.uuid}",label="plant-b-hall2",system_name="plant-a"} 1`);
    const lint = await sh(`curl -s --unix-socket ${a} http://gwd/metrics | promtool check metrics`);
    // As test/api/metrics-names.test.ts says: nothing but prom-client's own nodejs_active_*_total names.
    const remarks = lint.out.split('\n').filter((l) => l.trim() !== '');
    expect(remarks.length, lint.out).toBeGreaterThan(0);
    for (const remark of remarks) expect(remark).toMatch(/nodejs_active_(handles|requests|resources)_total/);

    // failover --to names a node by its label: the master is Active already, so nothing moves.
    await run(`./bin/gwctl --socket ${b} redundancy failover --to plant-a`, []);
    expect((await json<StatusResponse>(a, 'status')).redundancy.activity).toBe('Active');

    // A bad label is a usage error naming --label, with its code; node.json keeps the label it had.
    const bad = await sh(`./bin/gwctl --socket ${b} node configure --label 'a|b'`);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('GW_ERR_NODE_LABEL_INVALID');
    expect(bad.out).toContain('--label');
    expect(JSON.parse(readFileSync(path.join(temp.dir, 'node-b', 'node.json'), 'utf8')).label).toBe('plant-b-hall2');
  }, 150_000);
});
