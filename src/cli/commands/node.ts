import type { Command } from 'commander';

import { namingFlags } from '../flag-refusal.js';
import { keyValues } from '../format.js';
import type { ContextFactory } from '../context.js';
import type { NodeInfo } from '../../core/wire.js';

export function registerNodeCommands(program: Command, context: ContextFactory): void {
  const node = program.command('node').description("this node's identity and certificate");

  node
    .command('show')
    .description('UUID, label, system name, edition, version and certificate fingerprint')
    .addHelpText('after', '\nExample:\n  gwctl node show\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const info = await ctx.client.node();
      if (ctx.json) return ctx.printJson(info);
      ctx.out(formatNode(info));
    });

  node
    .command('configure')
    .description("change this node's local settings: its label, the name of this machine (never synced)")
    .requiredOption('--label <name>', '1 to 64 printable characters; shown beside the shared system name, and accepted wherever a node is named')
    .addHelpText(
      'after',
      '\nThe system name is the pair\'s (a backup takes the master\'s on sync); the label stays this machine\'s.\n' +
        '\nExample:\n  gwctl node configure --label plant-b\n',
    )
    .action(async (opts: { label: string }, cmd: Command) => {
      const ctx = context(cmd);
      // A refused label is a usage error naming --label (exit 2), as for every settings flag.
      const info = await namingFlags({ '/label': '--label' }, () => ctx.client.configureNode({ label: opts.label }));
      if (ctx.json) return ctx.printJson(info);
      ctx.out(formatNode(info));
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

function formatNode(info: NodeInfo): string {
  return keyValues([
    ['UUID', info.uuid],
    ['Label', info.label],
    ['System name', info.systemName],
    ['Edition', info.edition],
    ['Version', info.version],
    ['Created', info.createdAt],
    ['Certificate', `sha256 ${info.certFingerprint}`],
  ]);
}
