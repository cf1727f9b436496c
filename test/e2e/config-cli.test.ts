import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConfigListResponse } from '../../src/core/config-wire.js';
import { freePort } from '../helpers/free-port.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GWD = path.join(ROOT, 'bin', 'gwd');
const GWCTL = path.join(ROOT, 'bin', 'gwctl');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run gwctl to completion (bounded), optionally feeding standard input. */
function gwctl(env: NodeJS.ProcessEnv, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GWCTL, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gwctl ${args.join(' ')} did not finish in 15 s`));
    }, 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

class Gwd {
  child: ChildProcess | null = null;
  log = '';
  constructor(readonly dataDir: string) {}

  async start(env: NodeJS.ProcessEnv): Promise<void> {
    const args = ['--data-dir', this.dataDir, '--port', String(await freePort()), '--ssl-port', String(await freePort()), '--bind', '127.0.0.1'];
    const child = spawn(process.execPath, [GWD, ...args, '--system-name', 'plant-a', '--log-level', 'info'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (this.log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    this.child = child;
    const ready = await gwctl(env, ['wait', '--ready', '--timeout', '15']);
    if (ready.code !== 0) throw new Error(`gwd did not become ready: ${ready.stderr}\n${this.log}`);
  }

  /** SIGTERM by PID, SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

describe('gwctl config against a real gwd', () => {
  const temp = makeTempDir('gwd-e2e-');
  const dataDir = temp.dir;
  const env = { ...process.env, GWD_DATA_DIR: dataDir, GWD_SOCKET: '', NO_COLOR: '1' };
  const gwd = new Gwd(dataDir);
  const primaryFile = path.join(dataDir, 'primary.json');
  let failed = false;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'daemon', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    writeFileSync(primaryFile, JSON.stringify({ endpointUrl: 'opc.tcp://10.0.1.5:4840' }));
    await gwd.start(env);
  });
  afterAll(async () => {
    if (failed) process.stderr.write(gwd.log);
    await gwd.stop();
    temp.cleanup();
  });

  const check = (r: Run, code: number): void => {
    if (r.code !== code) failed = true;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(code);
  };

  it('set from a file, backup add from stdin, get --version effective answers the Primary endpoint', async () => {
    const set = await gwctl(env, ['config', 'set', 'opc-connection/plc1', '--file', primaryFile]);
    check(set, 0);
    expect(set.stdout).toContain('opc-connection/plc1: Primary version created in core');

    const add = await gwctl(env, ['config', 'backup', 'add', 'opc-connection/plc1', '--file', '-'], '{"endpointUrl": "opc.tcp://10.0.2.5:4840"}');
    check(add, 0);
    expect(add.stdout).toContain('Backup version created');

    const get = await gwctl(env, ['config', 'get', 'opc-connection/plc1', '--version', 'effective']);
    check(get, 0);
    expect(JSON.parse(get.stdout).endpointUrl).toBe('opc.tcp://10.0.1.5:4840');
    expect(get.stderr).toContain('# opc-connection/plc1: primary version from core, in effect on this node');

    const list = await gwctl(env, ['config', 'list']);
    check(list, 0);
    const row = list.stdout.split('\n').find((l) => l.startsWith('opc-connection/plc1'))!;
    expect(row.split(/\s{2,}/).slice(0, 5)).toEqual(['opc-connection/plc1', 'opcua', 'core', 'yes', 'primary']);

    const json = await gwctl(env, ['--json', 'config', 'list']);
    const parsed = JSON.parse(json.stdout) as ConfigListResponse;
    expect(parsed.resources.find((r) => r.resource === 'opc-connection/plc1')).toMatchObject({ hasBackup: true, effective: 'primary' });
  });

  it('a Backup version of gateway-settings is stored and the CLI says it will not be applied', async () => {
    const r = await gwctl(env, ['config', 'backup', 'add', 'gateway-settings']);
    check(r, 0);
    expect(r.stdout).toContain('# gateway-settings is a protected type: its Backup version is stored but never applied');
  });

  it('set gateway-settings from stdin changes the system name in status', async () => {
    check(await gwctl(env, ['config', 'set', 'gateway-settings', '--file', '-'], '{"systemName": "plant-renamed"}'), 0);
    const status = await gwctl(env, ['--json', 'status']);
    expect(JSON.parse(status.stdout).node.systemName).toBe('plant-renamed');
  });

  it('refusals exit 1 with the code; usage errors exit 2', async () => {
    const invalid = await gwctl(env, ['config', 'set', 'opc-connection/plc1', '--file', '-'], '{"endpointUrl": 5}');
    check(invalid, 1);
    expect(invalid.stderr).toContain('GW_ERR_CONFIG_INVALID');
    expect(invalid.stderr).toContain('/endpointUrl');
    const unknown = await gwctl(env, ['config', 'get', 'modbus/x']);
    check(unknown, 1);
    expect(unknown.stderr).toContain('GW_ERR_CONFIG_UNKNOWN_TYPE');
    check(await gwctl(env, ['config', 'set', 'opc-connection/plc1']), 2);
    check(await gwctl(env, ['config', 'set', 'opc-connection/plc1', '--file', '-'], 'not json'), 2);
    check(await gwctl(env, ['config', 'get', 'opc-connection/plc1', '--version', 'newest']), 2);
    const version = await gwctl(env, ['--version']);
    check(version, 0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rescan reports a corrupt file by path and exits 1; check does the same', async () => {
    const file = path.join(dataDir, 'config', 'resources', 'core', 'opcua', 'opc-connection', 'plc1', 'config.json');
    check(await gwctl(env, ['config', 'check']), 0);
    writeFileSync(file, '{"endpointUrl": "opc.tcp://10.0.1.5:4840", "securityMode": "Loud"}');
    const rescan = await gwctl(env, ['config', 'rescan']);
    check(rescan, 1);
    expect(rescan.stdout).toContain(file);
    expect(rescan.stdout).toContain('/securityMode');
    check(await gwctl(env, ['config', 'check']), 1);
    writeFileSync(file, '{"endpointUrl": "opc.tcp://10.0.1.5:4840"}');
    const fixed = await gwctl(env, ['config', 'rescan']);
    check(fixed, 0);
    expect(fixed.stdout).toMatch(/update\s+opc-connection\/plc1/);
  });

  it('once the node is a Backup, effective is the Backup endpoint and core writes are refused naming the master', async () => {
    await gwd.stop();
    writeFileSync(path.join(dataDir, 'redundancy.json'), JSON.stringify({ role: 'Backup', master: { host: '10.0.0.5' } }));
    await gwd.start(env);
    const get = await gwctl(env, ['config', 'get', 'opc-connection/plc1', '--version', 'effective']);
    check(get, 0);
    expect(JSON.parse(get.stdout).endpointUrl).toBe('opc.tcp://10.0.2.5:4840');
    const set = await gwctl(env, ['config', 'set', 'opc-connection/plc1', '--file', primaryFile]);
    check(set, 1);
    expect(set.stderr).toContain('GW_ERR_CONFIG_READ_ONLY');
    expect(set.stderr).toContain('10.0.0.5:8060');
    check(await gwctl(env, ['config', 'set', 'opc-connection/plc1', '--local', '--file', primaryFile]), 0);
  });
});
