import { describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { parseDaemonArgs } from '../../src/daemon/options.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseDaemonArgs(argv, env, '/srv');
  if (parsed.kind !== 'run') throw new Error(parsed.kind);
  return parsed.options;
}

function refused(argv: string[], env: NodeJS.ProcessEnv = {}): GwError {
  try {
    parseDaemonArgs(argv, env, '/srv');
  } catch (err) {
    if (err instanceof GwError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('gwd options', () => {
  it('defaults to ./gwd-data and a socket inside it', () => {
    const o = run([]);
    expect(o.dataDir).toBe('/srv/gwd-data');
    expect(o.socketPath).toBe('/srv/gwd-data/gwd.sock');
    expect(o.port).toBeNull();
    expect(o.edition).toBe('standard');
  });

  it('env is used when the flag is absent, and the flag wins over env', () => {
    const env = { GWD_DATA_DIR: '/var/lib/gwd', GWD_PORT: '9088', GWD_SOCKET: '/run/gwd/gwd.sock' };
    expect(run([], env)).toMatchObject({ dataDir: '/var/lib/gwd', port: 9088, socketPath: '/run/gwd/gwd.sock' });
    expect(run(['--data-dir', 'd', '--port', '7000'], env)).toMatchObject({ dataDir: '/srv/d', port: 7000 });
  });

  it('refuses a port that is not a number in range, naming the flag', () => {
    expect(refused(['--port', '70000']).message).toContain('--port');
    expect(refused(['--ssl-port', 'abc']).code).toBe('GW_ERR_DAEMON_BAD_OPTION');
    expect(refused([], { GWD_PORT: '-1' }).message).toContain('--port');
  });

  it('refuses unknown flags, editions and log levels', () => {
    expect(refused(['--colour']).code).toBe('GW_ERR_DAEMON_BAD_OPTION');
    expect(refused(['--edition', 'pro']).message).toContain('--edition');
    expect(refused(['--log-level', 'loud']).message).toContain('--log-level');
    expect(refused(['--log-format', 'xml']).message).toContain('--log-format');
    expect(refused([], { GWD_LOG_FORMAT: 'yaml' }).message).toContain('"yaml" is not one of json, pretty');
  });

  it('--log-format is left to the terminal test unless given (flag over env)', () => {
    expect(run([]).logFormat).toBeUndefined();
    expect(run(['--log-format', 'pretty']).logFormat).toBe('pretty');
    expect(run(['--log-format', 'json'], { GWD_LOG_FORMAT: 'pretty' }).logFormat).toBe('json');
  });

  it('--help and --version are answered without starting', () => {
    expect(parseDaemonArgs(['--help'], {}, '/').kind).toBe('help');
    expect(parseDaemonArgs(['-V'], {}, '/').kind).toBe('version');
  });
});

describe('redundancy bootstrap from env', () => {
  it('is null without GWD_ROLE, GWD_MASTER_ADDRESS or GWD_MASTER_SSL', () => {
    expect(run([]).bootstrap).toBeNull();
  });

  it('reads role, master address with port, and SSL', () => {
    expect(run([], { GWD_ROLE: 'backup', GWD_MASTER_ADDRESS: '10.0.0.5:8088', GWD_MASTER_SSL: 'false' }).bootstrap).toEqual({
      role: 'Backup',
      master: { host: '10.0.0.5', port: 8088, enableSsl: false },
    });
  });

  it('refuses a bad value naming the variable', () => {
    expect(refused([], { GWD_ROLE: 'boss' }).message).toContain('GWD_ROLE');
    expect(refused([], { GWD_MASTER_ADDRESS: 'http://x' }).message).toContain('GWD_MASTER_ADDRESS');
    expect(refused([], { GWD_MASTER_SSL: 'maybe' }).message).toContain('GWD_MASTER_SSL');
  });
});
