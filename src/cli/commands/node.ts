import type { Command } from 'commander';

import { keyValues } from '../format.js';
import type { ContextFactory } from '../context.js';

export function registerNodeCommands(program: Command, context: ContextFactory): void {
  const node = program.command('node').description("this node's identity and certificate");

  node
    .command('show')
    .description('UUID, system name, edition, version and certificate fingerprint')
    .addHelpText('after', '\nExample:\n  gwctl node show\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const info = await ctx.client.node();
      if (ctx.json) return ctx.printJson(info);
      ctx.out(
        keyValues([
          ['UUID', info.uuid],
          ['System name', info.systemName],
          ['Edition', info.edition],
          ['Version', info.version],
          ['Created', info.createdAt],
          ['Certificate', `sha256 ${info.certFingerprint}`],
        ]),
      );
    });

  node
    .command('cert')
    .description("this node's certificate (PEM) and its sha256 fingerprint, to give to the peer's operator")
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl node cert > node-a.pem\n  gwctl node cert | openssl x509 -noout -fingerprint -sha256\n',
    )
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const cert = await ctx.client.nodeCert();
      if (ctx.json) return ctx.printJson(cert);
      // Comment lines before the PEM block: the output is still a valid PEM file for openssl.
      ctx.out(
        `# fingerprint (sha256): ${cert.fingerprint}\n` +
          `# subject: ${cert.subject}\n` +
          `# valid: ${cert.notBefore} to ${cert.notAfter}\n` +
          `# file: ${cert.path}\n` +
          cert.pem,
      );
    });
}
