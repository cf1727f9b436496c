import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { type Command, Option } from 'commander';

import type { Collection, VersionName, VersionQuery } from '../../core/config-model.js';
import type { ConfigArchivesResponse, ConfigCheckResponse, ConfigFileProblem, ConfigListResponse, ConfigWriteResponse } from '../../core/config-wire.js';
import { GwError } from '../../core/errors.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { hint, table } from '../format.js';
import { writeDrained } from '../output.js';

interface WriteOpts {
  file?: string;
  version?: VersionName;
  local?: boolean;
}

export function registerConfigCommands(program: Command, context: ContextFactory): void {
  const config = program
    .command('config')
    .description('the configuration store: resources, their Primary and Backup versions, hand edits');

  config
    .command('list')
    .description('every resource, whether it has a Backup version and which version applies on this node')
    .addHelpText('after', '\nExamples:\n  gwctl config list\n  gwctl config list --json | jq -r \'.resources[] | select(.hasBackup) | .resource\'\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const list = await ctx.client.configList();
      if (ctx.json) return ctx.printJson(list);
      ctx.out(formatList(list));
    });

  config
    .command('get <resource>')
    .description('print one version of a resource as JSON (default: the version in effect on this node)')
    .addOption(new Option('--version <version>', 'which version').choices(['primary', 'backup', 'effective']).default('effective'))
    .addOption(new Option('--collection <collection>', 'read core or local only (default: local over core)').choices(['core', 'local']))
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl config get opc-connection/plc1 --version effective\n' +
        '  gwctl config get gateway-settings > gateway-settings.json\n',
    )
    .action(async (resource: string, opts: { version: VersionQuery; collection?: Collection }, cmd: Command) => {
      const ctx = context(cmd);
      const r = await ctx.client.configGet(resource, opts.version, opts.collection);
      if (ctx.json) return ctx.printJson(r);
      // Only the content on stdout, so `get > f.json` then `set --file f.json` round-trips.
      ctx.out(`${JSON.stringify(r.content, null, 2)}\n`);
      const which = opts.version === 'effective' ? ', in effect on this node' : '';
      ctx.io.stderr.write(hint(`${r.resource}: ${r.version} version from ${r.collection}${which} (revision ${r.revision})`));
    });

  config
    .command('export')
    .description('every resource in one document, streamed: one JSON line per resource (NDJSON); --json: one JSON object')
    .addOption(new Option('--version <version>', 'which version of each resource').choices(['primary', 'backup', 'effective']).default('effective'))
    .addOption(new Option('--collection <collection>', 'export core or local only (default: local over core)').choices(['core', 'local']))
    .addHelpText(
      'after',
      '\nEach line is {"resource", "type", "name", "collection", "version", "content"}: the fields of\n' +
        '`gwctl --json config get <resource> --version V` that differ from one resource to the next, in\n' +
        'the order of config list. "version" says which version the content is:\n' +
        '  effective  every resource, in the version this node applies: on a node whose role is Backup its\n' +
        '             Backup version where it has one (never for a protected type), everywhere else Primary\n' +
        '  primary    every resource, its Primary version\n' +
        '  backup     only the resources that have a Backup version (those of protected types too: stored,\n' +
        '             never applied); a resource without one is left out, as config get refuses it\n' +
        'Where a local resource overrides core, the local one is exported (as config get does), unless\n' +
        '--collection says which. The export is the store at one revision: a change made while it is\n' +
        'written is not in it.\n' +
        '\n' +
        '--json: one object {"revision", "role", "requested", "resources": [...]}, one resource a line;\n' +
        '"requested" is the --version asked for, "role" the role "effective" was resolved for.\n' +
        '\nExamples:\n' +
        '  gwctl config export > config.ndjson\n' +
        '  gwctl config export --version backup | jq -r .resource\n' +
        '  gwctl config export --json | jq \'.resources | length\'\n' +
        '  jq -c \'select(.resource == "opc-connection/plc1") | .content\' config.ndjson |\n' +
        '    gwctl config set opc-connection/plc1 --file -\n',
    )
    .action(async (opts: { version: VersionQuery; collection?: Collection }, cmd: Command) => {
      const ctx = context(cmd);
      await ctx.client.configExport(
        { version: opts.version, collection: opts.collection, format: ctx.json ? 'json' : 'ndjson' },
        (text) => writeDrained(ctx.io.stdout, text),
      );
    });

  config
    .command('set <resource>')
    .description('create or replace the Primary (or Backup) version of a resource from a JSON file')
    .requiredOption('--file <file>', 'JSON file with the content; - reads standard input')
    .addOption(new Option('--version <version>', 'which version to write').choices(['primary', 'backup']).default('primary'))
    .option('--local', 'write to the local collection: this node only, never synced, allowed on a backup')
    .addHelpText(
      'after',
      '\nExamples:\n  gwctl config set opc-connection/plc1 --file primary.json\n' +
        '  echo \'{"systemName": "plant-a"}\' | gwctl config set gateway-settings --file -\n',
    )
    .action(async (resource: string, opts: WriteOpts, cmd: Command) => {
      const ctx = context(cmd);
      const content = await readContent(ctx, opts.file!);
      const r = await ctx.client.configSet(resource, content, { version: opts.version, collection: collectionOf(opts) });
      printWrite(ctx, r);
    });

  config
    .command('delete <resource>')
    .description('delete a resource, both its versions')
    .option('--local', 'delete from the local collection (the core resource, if any, applies again)')
    .addHelpText('after', '\nExample:\n  gwctl config delete opc-connection/plc1\n')
    .action(async (resource: string, opts: WriteOpts, cmd: Command) => {
      const ctx = context(cmd);
      printWrite(ctx, await ctx.client.configDelete(resource, collectionOf(opts)));
    });

  config
    .command('check')
    .description(
      'read the store and the settings files from disk, changing nothing: every bad file (path, field, problem) ' +
        'and the changes a rescan would journal (exit 1 if any file is bad)',
    )
    .addHelpText(
      'after',
      '\nChecks what a rescan or the next start would read: config/resources, node.json, redundancy.json,\n' +
        'gateway-network.json, connections.json, pki/gwd.key, pki/gwd.crt and the trust stores (pki/trust).\n' +
        '\nExamples:\n  gwctl config check && gwctl config rescan\n' +
        '  gwctl --json config check | jq -r \'.invalid[].path\'\n',
    )
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const r = await ctx.client.configCheck();
      if (ctx.json) ctx.printJson(r);
      else ctx.out(formatCheck(r));
      if (!r.ok) throw new ExitError(EXIT.FAILED);
    });

  config
    .command('rescan')
    .description('pick up files edited by hand (after a git pull): journal the changes, report bad files (exit 1 if any)')
    .addHelpText('after', '\nExample:\n  git -C /var/lib/gwd/config pull && gwctl config rescan\n')
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const r = await ctx.client.configRescan();
      if (ctx.json) {
        ctx.printJson(r);
      } else {
        if (r.changes.length === 0) ctx.out(`no changes on disk; revision ${r.revision}\n`);
        else {
          ctx.out(table(
            ['REVISION', 'OP', 'RESOURCE', 'COLLECTION', 'VERSION'],
            r.changes.map((c) => [c.revision, c.op, c.resource, c.collection, c.version]),
          ));
        }
        if (r.invalid.length > 0) ctx.out(formatProblems(r.invalid));
      }
      if (r.invalid.length > 0) throw new ExitError(EXIT.FAILED);
    });

  config
    .command('archives')
    .description('what full syncs replaced on this node (var/archive/<time>/), oldest first: time, why, files, bytes')
    .addHelpText(
      'after',
      '\nA backup keeps the newest syncArchiveKeep (default 5; 0 keeps all) after each full sync:\n' +
        '  gwctl redundancy configure --sync-archive-keep 10\n' +
        '\nExamples:\n  gwctl config archives\n  gwctl --json config archives | jq -r \'.archives[-1].path\'\n',
    )
    .action(async (_opts, cmd: Command) => {
      const ctx = context(cmd);
      const r = await ctx.client.configArchives();
      if (ctx.json) return ctx.printJson(r);
      ctx.out(formatArchives(r));
    });

  const backup = config.command('backup').description('Backup versions: used instead of Primary on a node whose role is Backup');

  backup
    .command('add <resource>')
    .description('create the Backup version of a resource (a copy of its Primary version without --file)')
    .option('--file <file>', 'JSON file with the content; - reads standard input')
    .option('--local', 'in the local collection')
    .addHelpText('after', '\nExample:\n  gwctl config backup add opc-connection/plc1 --file backup.json\n')
    .action(async (resource: string, opts: WriteOpts, cmd: Command) => {
      const ctx = context(cmd);
      const content = opts.file === undefined ? undefined : await readContent(ctx, opts.file);
      printWrite(ctx, await ctx.client.configBackupAdd(resource, content, collectionOf(opts)));
    });

  backup
    .command('remove <resource>')
    .description('remove the Backup version of a resource; its Primary version then applies everywhere')
    .option('--local', 'in the local collection')
    .addHelpText('after', '\nExample:\n  gwctl config backup remove opc-connection/plc1\n')
    .action(async (resource: string, opts: WriteOpts, cmd: Command) => {
      const ctx = context(cmd);
      printWrite(ctx, await ctx.client.configBackupRemove(resource, collectionOf(opts)));
    });
}

function collectionOf(opts: WriteOpts): Collection {
  return opts.local ? 'local' : 'core';
}

async function readContent(ctx: CommandContext, file: string): Promise<unknown> {
  let text: string;
  try {
    if (file === '-') {
      if (!ctx.io.readStdin) throw new Error('no standard input to read');
      text = await ctx.io.readStdin();
    } else {
      text = await readFile(path.resolve(ctx.io.cwd, file), 'utf8');
    }
  } catch (err) {
    throw new GwError('GW_ERR_CLI_USAGE', { detail: `cannot read --file ${file}: ${(err as Error).message}` });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const source = file === '-' ? 'standard input' : file;
    throw new GwError('GW_ERR_CLI_USAGE', { detail: `${source} is not valid JSON: ${(err as Error).message}` });
  }
}

function printWrite(ctx: CommandContext, r: ConfigWriteResponse): void {
  if (ctx.json) return ctx.printJson(r);
  const what = r.version === 'backup' ? 'Backup version' : r.op === 'delete' ? 'resource' : 'Primary version';
  const done = !r.changed ? 'unchanged (same content)' : r.op === 'create' ? 'created' : r.op === 'update' ? 'updated' : 'deleted';
  ctx.out(`${r.resource}: ${what} ${done} in ${r.collection}; revision ${r.revision}\n`);
  if (r.note) ctx.out(hint(r.note));
}

export function formatList(list: ConfigListResponse): string {
  const rows = list.resources.map((r) => [
    r.resource,
    r.module,
    r.collections.length > 1 ? `${r.collection} (overrides core)` : r.collection,
    r.hasBackup ? (r.backupApplies ? 'yes' : 'stored, never applied (protected)') : null,
    r.effective,
    r.invalid ? 'invalid on disk' : r.enabled ? 'ok' : 'disabled',
    r.lastModification.timestamp,
    r.lastModification.actor,
  ]);
  let out = table(['RESOURCE', 'MODULE', 'SOURCE', 'BACKUP', 'EFFECTIVE', 'STATE', 'MODIFIED', 'BY'], rows);
  out += hint(
    list.role === 'Backup'
      ? `role Backup, revision ${list.revision}: Backup versions apply on this node, except for protected types`
      : `role ${list.role}, revision ${list.revision}: Primary versions apply on this node; Backup versions apply on a node whose role is Backup`,
  );
  if (list.invalid.length > 0) out += formatProblems(list.invalid);
  return out;
}

export function formatArchives(r: ConfigArchivesResponse): string {
  const kept = r.keep === 0 ? 'all are kept (syncArchiveKeep 0)' : `the newest ${r.keep} are kept after each full sync (syncArchiveKeep)`;
  if (r.archives.length === 0) return `no archives in ${r.dir}\n` + hint(kept);
  const rows = r.archives.map((a) => [a.time ?? a.name, a.reason, a.files, a.bytes, a.sourceRevision, a.path]);
  return table(['TIME', 'REASON', 'FILES', 'BYTES', 'MASTER REVISION', 'PATH'], rows) + hint(kept);
}

export function formatProblems(problems: readonly ConfigFileProblem[]): string {
  const rows = problems.flatMap((p) => p.problems.map((f) => [p.path, f.pointer || '/', f.message]));
  return table(['INVALID FILE', 'FIELD', 'PROBLEM'], rows) + hint('these files are not loaded and were left untouched; fix them and run gwctl config rescan');
}

export function formatCheck(r: ConfigCheckResponse): string {
  let out = '';
  if (r.ok) {
    const settings = r.settings.filter((f) => f.state === 'ok').length;
    out += `configuration OK at revision ${r.revision}: ${r.resources} resources and ${settings} settings files read from disk, no invalid files\n`;
  } else {
    const rows = r.invalid.flatMap((p) => p.problems.map((f) => [p.path, f.pointer || '/', f.message]));
    out += table(['INVALID FILE', 'FIELD', 'PROBLEM'], rows);
    out += hint(
      `${r.invalid.length} bad file${r.invalid.length === 1 ? '' : 's'}, nothing changed: a rescan leaves a bad resource file unloaded, ` +
        'a bad settings file stops the next start (a bad trust store file is skipped); fix them first',
    );
  }
  const missing = r.settings.filter((f) => f.state === 'missing').map((f) => f.file);
  if (missing.length > 0) out += hint(`missing (the next start creates them with defaults): ${missing.join(', ')}`);
  if (r.changes.length === 0) return out + hint('a rescan would journal nothing');
  out += table(['OP', 'RESOURCE', 'COLLECTION', 'VERSION'], r.changes.map((c) => [c.op, c.resource, c.collection, c.version]));
  return out + hint(`a rescan would journal ${r.changes.length === 1 ? 'this change' : `these ${r.changes.length} changes`}: gwctl config rescan`);
}
