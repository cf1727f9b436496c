import { hostname } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { GwError } from '../core/errors.js';
import { parseHostPort } from '../core/gan/address.js';
import type { RedundancyUpdate } from '../core/settings/types.js';
import type { Edition } from '../core/wire.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';

export interface DaemonOptions {
  dataDir: string;
  socketPath: string;
  /** Overrides of gateway-network.json for this process (two nodes on one host). */
  port: number | null;
  sslPort: number | null;
  bind: string | null;
  systemName: string;
  edition: Edition;
  logLevel: LogLevel;
  /** json or pretty; absent: pretty when stdout is a terminal, json otherwise (journald, shippers). */
  logFormat?: LogFormat;
  /**
   * Seed of redundancy.json from env (GWD_ROLE, GWD_MASTER_ADDRESS, GWD_MASTER_SSL), used only when
   * the file does not exist yet: containers and provisioning. Absent or null: none.
   */
  bootstrap?: RedundancyUpdate | null;
  /** Prometheus /metrics (and /health/*) on TCP at this port, on metricsBind; null: off. */
  metricsPort?: number | null;
  metricsBind?: string;
}

export const GWD_USAGE = `Usage: gwd [options]

Gateway redundancy daemon: one node of a master/backup pair, driven by gwctl over a local socket.

Options:
  --data-dir DIR        data directory (env GWD_DATA_DIR, default ./gwd-data)
  --socket PATH         local API socket (env GWD_SOCKET, default <data-dir>/gwd.sock)
  --port N              plain Gateway Network port, overrides gateway-network.json (env GWD_PORT)
  --ssl-port N          TLS Gateway Network port, overrides gateway-network.json (env GWD_SSL_PORT)
  --bind ADDR           Gateway Network bind address (env GWD_BIND)
  --system-name NAME    system name seeded on first start only (default: host name)
  --edition E           standard | edge, recorded on first start (default standard)
  --log-level LEVEL     fatal | error | warn | info | debug | trace | silent (env GWD_LOG_LEVEL, default info)
  --log-format F        json | pretty (env GWD_LOG_FORMAT; default pretty on a terminal, json otherwise)
  --metrics-port N      serve Prometheus /metrics over TCP on this port (env GWD_METRICS_PORT, default off)
  --metrics-bind ADDR   address for --metrics-port (env GWD_METRICS_BIND, default 127.0.0.1)

First start only (no redundancy.json yet): env GWD_ROLE (independent|master|backup),
GWD_MASTER_ADDRESS (host[:port]) and GWD_MASTER_SSL (true|false) seed redundancy.json.
  -h, --help            show this help
  -V, --version         show the version

Example:
  gwd --data-dir /var/lib/gwd --socket /run/gwd/gwd.sock
`;

export type ParsedCommandLine = { kind: 'run'; options: DaemonOptions } | { kind: 'help' } | { kind: 'version' };

/** Flags win over env, env over defaults. Every bad value is a GW_ERR_DAEMON_BAD_OPTION naming it. */
export function parseDaemonArgs(argv: string[], env: NodeJS.ProcessEnv, cwd: string): ParsedCommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        socket: { type: 'string' },
        port: { type: 'string' },
        'ssl-port': { type: 'string' },
        bind: { type: 'string' },
        'system-name': { type: 'string' },
        edition: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-bind': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    }));
  } catch (err) {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: 'command line', detail: (err as Error).message });
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const str = (flag: string, envName?: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    return envName ? nonEmpty(env[envName]) : undefined;
  };

  const dataDir = path.resolve(cwd, str('data-dir', 'GWD_DATA_DIR') ?? 'gwd-data');
  const socketPath = path.resolve(cwd, str('socket', 'GWD_SOCKET') ?? path.join(dataDir, 'gwd.sock'));
  const edition = str('edition') ?? 'standard';
  if (edition !== 'standard' && edition !== 'edge') {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: '--edition', detail: `"${edition}" is not standard or edge` });
  }
  const logLevel = str('log-level', 'GWD_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', {
      option: '--log-level',
      detail: `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`,
    });
  }
  const logFormat = str('log-format', 'GWD_LOG_FORMAT');
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', {
      option: '--log-format',
      detail: `"${logFormat}" is not one of ${LOG_FORMATS.join(', ')}`,
    });
  }
  const systemName = str('system-name') ?? hostname();
  if (systemName.trim() === '' || systemName.length > 128) {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: '--system-name', detail: 'must be 1 to 128 characters' });
  }
  return {
    kind: 'run',
    options: {
      dataDir,
      socketPath,
      port: port('--port', str('port', 'GWD_PORT')),
      sslPort: port('--ssl-port', str('ssl-port', 'GWD_SSL_PORT')),
      bind: str('bind', 'GWD_BIND') ?? null,
      systemName,
      edition,
      logLevel: logLevel as LogLevel,
      ...(logFormat !== undefined ? { logFormat: logFormat as LogFormat } : {}),
      bootstrap: redundancyBootstrap(env),
      metricsPort: port('--metrics-port', str('metrics-port', 'GWD_METRICS_PORT')),
      metricsBind: str('metrics-bind', 'GWD_METRICS_BIND') ?? '127.0.0.1',
    },
  };
}

/** GWD_ROLE (independent|master|backup), GWD_MASTER_ADDRESS (host[:port]), GWD_MASTER_SSL (true|false). */
export function redundancyBootstrap(env: NodeJS.ProcessEnv): RedundancyUpdate | null {
  const role = nonEmpty(env.GWD_ROLE);
  const address = nonEmpty(env.GWD_MASTER_ADDRESS);
  const ssl = nonEmpty(env.GWD_MASTER_SSL);
  if (role === undefined && address === undefined && ssl === undefined) return null;
  const out: RedundancyUpdate = {};
  if (role !== undefined) {
    const r = role.toLowerCase();
    if (r !== 'independent' && r !== 'master' && r !== 'backup') {
      throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: 'GWD_ROLE', detail: `"${role}" is not independent, master or backup` });
    }
    out.role = r === 'independent' ? 'Independent' : r === 'master' ? 'Master' : 'Backup';
  }
  const master: NonNullable<RedundancyUpdate['master']> = {};
  if (address !== undefined) {
    const hp = parseHostPort(address);
    if (!hp) throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: 'GWD_MASTER_ADDRESS', detail: `"${address}" is not host or host:port` });
    master.host = hp.host;
    if (hp.port !== null) master.port = hp.port;
  }
  if (ssl !== undefined) {
    const v = ssl.toLowerCase();
    if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v)) {
      throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: 'GWD_MASTER_SSL', detail: `"${ssl}" is not true or false` });
    }
    master.enableSsl = v === 'true' || v === '1' || v === 'yes';
  }
  if (Object.keys(master).length > 0) out.master = master;
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function port(option: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option, detail: `"${value}" is not a port number (0-65535)` });
  }
  return n;
}
