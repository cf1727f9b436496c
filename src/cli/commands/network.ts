import { type Command, Option } from 'commander';

import type { NetworkUpdate, SecurityPolicy } from '../../core/settings/types.js';
import type { NetworkView } from '../../core/wire.js';
import { clientError } from '../client.js';
import { namingFlags, type FlagMap } from '../flag-refusal.js';
import { hint, keyValues } from '../format.js';
import { parseBool, parseList, parsePort, pascal } from '../option-parsers.js';
import type { ContextFactory } from '../context.js';

interface ConfigureOptions {
  enabled?: boolean;
  bind?: string;
  port?: number;
  sslPort?: number;
  requireSsl?: boolean;
  twoWayAuth?: boolean;
  allowIncoming?: boolean;
  policy?: string;
  whitelist?: string[];
}

export function registerNetworkCommands(program: Command, context: ContextFactory): void {
  const network = program.command('network').description('Gateway Network settings: ports, SSL, security policy');

  network
    .command('show')
    .description('the settings, what this process uses, and the listeners')
    .addHelpText('after', '\nExample:\n  gwctl network show\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const view = await ctx.client.network();
      if (ctx.json) return ctx.printJson(view);
      ctx.out(formatNetwork(view));
    });

  network
    .command('configure')
    .description('change Gateway Network settings; listeners are rebound at once, and a change they cannot bind is refused and undone')
    .option('--enabled <bool>', 'listen at all', parseBool)
    .option('--bind <addr>', 'bind address of both listeners')
    .option('--port <n>', 'plain port (default 8088)', parsePort)
    .option('--ssl-port <n>', 'SSL port (default 8060)', parsePort)
    .option('--require-ssl <bool>', 'refuse peers on the plain port', parseBool)
    .option('--two-way-auth <bool>', 'require and check the client certificate on the SSL port', parseBool)
    .option('--allow-incoming <bool>', 'accept incoming connections', parseBool)
    .addOption(new Option('--policy <policy>', 'incoming connection policy').choices(['approved-only', 'unrestricted', 'specified-list']))
    .option('--whitelist <names>', 'system names accepted under specified-list, comma separated', parseList)
    .addHelpText(
      'after',
      '\nThe listeners are rebound before gateway-network.json is written: if one cannot listen on its new\n' +
        'address or port (in use, not an address of this host), the old listeners keep running, the file\n' +
        'keeps the settings that work, and the change is refused with GW_ERR_GAN_LISTEN_FAILED naming the\n' +
        'address and port. --bind takes an IP address (0.0.0.0, 127.0.0.1, ::), not a host name.\n' +
        'On a gwd started with --port, --ssl-port or --bind (or GWD_PORT, GWD_SSL_PORT, GWD_BIND), the flag\n' +
        'wins over the file for that process, so a change to the same setting is refused (exit 2,\n' +
        'GW_ERR_GAN_SETTING_OVERRIDDEN, naming the override): restart gwd without it to use the file.\n' +
        '\nExamples:\n  gwctl network configure --require-ssl false\n  gwctl network configure --policy specified-list --whitelist plant-a-backup\n',
    )
    .action(async (opts: ConfigureOptions, cmd: Command) => {
      const ctx = context(cmd);
      const update: NetworkUpdate = {};
      if (opts.enabled !== undefined) update.enabled = opts.enabled;
      if (opts.bind !== undefined) update.bindAddress = opts.bind;
      if (opts.port !== undefined) update.port = opts.port;
      if (opts.sslPort !== undefined) update.sslPort = opts.sslPort;
      if (opts.requireSsl !== undefined) update.requireSsl = opts.requireSsl;
      if (opts.twoWayAuth !== undefined) update.requireTwoWayAuth = opts.twoWayAuth;
      if (opts.allowIncoming !== undefined) update.allowIncoming = opts.allowIncoming;
      if (opts.policy !== undefined) update.securityPolicy = pascal(opts.policy) as SecurityPolicy;
      if (opts.whitelist !== undefined) update.whitelist = opts.whitelist;
      if (Object.keys(update).length === 0) {
        throw clientError('GW_ERR_CLI_USAGE', { detail: 'nothing to change: give at least one option (see gwctl network configure --help)' });
      }
      const view = await namingFlags(CONFIGURE_FLAGS, () => ctx.client.configureNetwork(update));
      if (ctx.json) return ctx.printJson(view);
      ctx.out(formatNetwork(view));
    });
}

/** gateway-network.json fields (as the daemon names them in a refusal) and the flag that sets each. */
const CONFIGURE_FLAGS: FlagMap = {
  '/enabled': '--enabled',
  '/bindAddress': '--bind',
  '/port': '--port',
  '/sslPort': '--ssl-port',
  '/requireSsl': '--require-ssl',
  '/requireTwoWayAuth': '--two-way-auth',
  '/allowIncoming': '--allow-incoming',
  '/securityPolicy': '--policy',
  '/whitelist': '--whitelist',
};

export function formatNetwork(v: NetworkView): string {
  const s = v.settings;
  const listener = (name: 'plain' | 'ssl', setting: number, key: string): string => {
    const l = v.listeners[name];
    const state = l.listening ? `listening on ${l.address}:${l.port}` : l.error ? `not listening: ${l.error}` : 'not listening';
    const over = v.overridden.includes(key) ? `, overridden by gwd: file says ${setting}` : '';
    return `${v.effective[key as 'port' | 'sslPort']} (${state}${over})`;
  };
  let out = keyValues([
    ['Enabled', s.enabled],
    ['Bind address', v.overridden.includes('bindAddress') ? `${v.effective.bindAddress} (overridden by gwd: file says ${s.bindAddress})` : s.bindAddress],
    ['Port', listener('plain', s.port, 'port')],
    ['SSL port', listener('ssl', s.sslPort, 'sslPort')],
    ['Require SSL', s.requireSsl],
    ['Two-way auth', s.requireTwoWayAuth],
    ['Allow incoming', s.allowIncoming],
    ['Security policy', s.securityPolicy],
    ['Whitelist', s.whitelist.join(', ')],
  ]);
  if (s.securityPolicy === 'SpecifiedList' && s.whitelist.length === 0) out += hint('SpecifiedList with an empty whitelist accepts no incoming connection');
  if (v.overridden.length > 0) {
    out += hint(`gwd was started with ${v.overridden.map(flagOf).join(', ')}: for this process the flag wins over the file`);
  }
  return out;
}

function flagOf(field: string): string {
  return field === 'port' ? '--port' : field === 'sslPort' ? '--ssl-port' : '--bind';
}
