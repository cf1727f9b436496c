import { readFileSync } from 'node:fs';
import path from 'node:path';

import { type Command, Option } from 'commander';

import type { CertEntry, TrustDirection, TrustState } from '../../core/wire.js';
import { clientError } from '../client.js';
import type { CommandContext } from '../context.js';
import { hint, table } from '../format.js';
import type { ContextFactory } from '../context.js';

export function registerCertCommands(program: Command, context: ContextFactory): void {
  const certs = program.command('certs').description('peer certificates: trust stores per direction (incoming, outgoing)');
  const directionOption = (): Option =>
    new Option('--direction <direction>', 'only this trust store').choices(['incoming', 'outgoing']);

  certs
    .command('list')
    .description('certificates seen or trusted, with their state')
    .addOption(new Option('--state <state>', 'only this state').choices(['pending', 'approved', 'denied']))
    .addOption(directionOption())
    .addHelpText('after', '\nExamples:\n  gwctl certs list --state pending\n  gwctl --json certs list | jq -r .[].fingerprint\n')
    .action(async (opts: { state?: TrustState; direction?: TrustDirection }, cmd: Command) => {
      const ctx = context(cmd);
      const list = await ctx.client.certs(opts);
      if (ctx.json) return ctx.printJson(list);
      ctx.out(formatCerts(list, ctx));
    });

  for (const [name, decision, what] of [
    ['approve', 'approve', 'trust this certificate; the next redial uses it'],
    ['deny', 'deny', 'refuse this certificate for good'],
  ] as const) {
    certs
      .command(`${name} <fingerprint>`)
      .description(`${what}; <fingerprint> is the fingerprint, a unique prefix of 8 or more characters of it, or the peer's label or UUID (prefix)`)
      .addOption(directionOption())
      .addHelpText('after', `\nExamples:\n  gwctl certs ${name} 3f2a9c0e\n  gwctl certs ${name} plant-b\n`)
      .action(async (id: string, opts: { direction?: TrustDirection }, cmd: Command) => {
        const ctx = context(cmd);
        const entries = await ctx.client.decideCert(id, decision, opts.direction);
        if (ctx.json) return ctx.printJson(entries);
        for (const e of entries) ctx.out(`${e.state} ${e.fingerprint} (${e.direction}, ${peerName(e)})\n`);
      });
  }

  certs
    .command('remove <fingerprint>')
    .description("forget this certificate (a peer showing it again is pending again); the fingerprint or a prefix, or the peer's label or UUID")
    .addOption(directionOption())
    .addHelpText('after', '\nExample:\n  gwctl certs remove 3f2a9c0e\n')
    .action(async (id: string, opts: { direction?: TrustDirection }, cmd: Command) => {
      const ctx = context(cmd);
      const entries = await ctx.client.removeCert(id, opts.direction);
      if (ctx.json) return ctx.printJson(entries);
      for (const e of entries) ctx.out(`removed ${e.fingerprint} (${e.direction}, ${peerName(e)})\n`);
    });

  certs
    .command('trust')
    .description('pre-approve a peer certificate from a PEM file (automation: no pending step)')
    .addOption(new Option('--direction <direction>', 'incoming: a peer that dials us; outgoing: a master we dial').choices(['incoming', 'outgoing']).makeOptionMandatory())
    .requiredOption('--file <cert.pem>', 'PEM certificate file (- for stdin), e.g. from `gwctl node cert` on the peer')
    .addHelpText(
      'after',
      '\nExample:\n  gwctl --socket /a/gwd.sock node cert > a.pem\n  gwctl --socket /b/gwd.sock certs trust --direction outgoing --file a.pem\n',
    )
    .action(async (opts: { direction: TrustDirection; file: string }, cmd: Command) => {
      const ctx = context(cmd);
      let pem: string;
      try {
        pem = opts.file === '-' ? readFileSync(0, 'utf8') : readFileSync(path.resolve(ctx.io.cwd, opts.file), 'utf8');
      } catch (err) {
        throw clientError('GW_ERR_CLI_USAGE', { detail: `cannot read ${opts.file}: ${(err as Error).message}` });
      }
      const entry = await ctx.client.trustCert(opts.direction, pem);
      if (ctx.json) return ctx.printJson(entry);
      ctx.out(`${entry.state} ${entry.fingerprint} (${entry.direction}, ${peerName(entry)})\n`);
    });
}

function peerName(e: CertEntry): string {
  return e.peer?.label ?? e.peer?.systemName ?? e.subject;
}

export function formatCerts(list: CertEntry[], ctx: CommandContext): string {
  const c = ctx.colors;
  const paint = (s: TrustState): string => (s === 'approved' ? c.green(s) : s === 'denied' ? c.red(s) : c.yellow(s));
  let out = table(
    ['FINGERPRINT', 'DIRECTION', 'STATE', 'LABEL', 'PEER', 'UUID', 'ADDRESS', 'NOT AFTER', 'FLAG'],
    list.map((e) => [
      e.fingerprint.slice(0, 16),
      e.direction,
      paint(e.state),
      e.peer?.label,
      e.peer?.systemName,
      e.peer?.uuid,
      e.peer?.address,
      e.notAfter.slice(0, 10),
      e.flag ? c.red(e.flag) : null,
    ]),
  );
  if (list.some((e) => e.state === 'pending')) out += hint('approve with: gwctl certs approve <fingerprint> (16 characters shown, 8 are enough)');
  if (list.some((e) => e.flag)) out += hint('CertificateChanged: a known peer showed this instead of its approved certificate; check that machine');
  return out;
}
