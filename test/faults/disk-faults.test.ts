import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { fsError, setFaultInjector, type StorageOp } from '../../src/daemon/storage/fault-injection.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// CI runs a reduced set; GWD_FAULTS_FULL=1 (npm run test:faults:full) runs the full one.
const FULL = process.env.GWD_FAULTS_FULL === '1';
const ERRNOS = ['ENOSPC', 'EIO', 'EROFS'] as const;
const ROUNDS = FULL ? 10 : 2;

/** Where a fault is injected: each predicate matches the paths one kind of broken disk refuses. */
const TARGETS: Record<string, (op: StorageOp, file: string, dataDir: string) => boolean> = {
  'resource content file': (op, f) => op === 'write' && /\/(config|backupConfig)\.json$/.test(f),
  'resource.json': (op, f) => op === 'write' && f.endsWith('/resource.json'),
  'config journal append': (op, f) => op === 'append' && f.endsWith('config-journal.ndjson'),
  'all of var/': (_op, f, d) => f.startsWith(path.join(d, 'var') + path.sep),
  'the whole data dir (read-only disk)': (_op, f, d) => f.startsWith(d + path.sep),
};

const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  setFaultInjector(null);
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop().catch(() => undefined)));
});

/** The configuration on disk, byte for byte: every resource file and the journal. */
function storeBytes(dataDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[path.relative(dataDir, full)] = readFileSync(full).toString('base64');
    }
  };
  walk(path.join(dataDir, 'config'));
  out['var/config-journal.ndjson'] = readFileSync(path.join(dataDir, 'var', 'config-journal.ndjson')).toString('base64');
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  return err instanceof GwError ? String(err.code) : `no coded error (${String(err)})`;
}

type Change = {
  name: string;
  run: (t: TestDaemon, n: number) => Promise<unknown>;
  check: (t: TestDaemon) => Promise<unknown>;
  /** Set up outside the fault (a resource to delete). */
  before?: (t: TestDaemon, n: number) => Promise<unknown>;
  /** Targets this change writes to (default: all); a delete writes no resource file. */
  targets?: string[];
};

const CHANGES: Change[] = [
  {
    name: 'update a Primary version',
    run: (t, n) => t.client.configSet('opc-connection/plc1', { endpointUrl: `opc.tcp://10.0.1.${n % 250}:4840` }),
    check: (t) => t.client.configGet('opc-connection/plc1', 'primary').then((r) => r.content),
  },
  {
    name: 'create a resource',
    run: (t, n) => t.client.configSet(`opc-connection/new${n}`, { endpointUrl: 'opc.tcp://10.9.9.9:4840' }),
    check: (t) => t.client.configList().then((l) => JSON.stringify(l)),
  },
  {
    name: 'add a Backup version',
    run: (t, n) => t.client.configBackupAdd('opc-connection/plc1', { endpointUrl: `opc.tcp://10.0.2.${n % 250}:4840` }),
    check: (t) => t.client.configGet('opc-connection/plc1', 'backup').then((r) => r.content, (e: GwError) => e.code),
  },
  {
    name: 'delete a resource',
    before: (t, n) => t.client.configSet(`opc-connection/del${n}`, { endpointUrl: 'opc.tcp://10.8.8.8:4840' }),
    run: (t, n) => t.client.configDelete(`opc-connection/del${n}`),
    check: (t) => t.client.configList().then((l) => JSON.stringify(l)),
    targets: ['config journal append', 'all of var/', 'the whole data dir (read-only disk)'],
  },
];

describe('disk faults during a config change: a coded refusal, the previous configuration intact, recovery', () => {
  it(`${ROUNDS} rounds of ${Object.keys(TARGETS).length} targets x ${ERRNOS.length} errnos x ${CHANGES.length} kinds of change, then a restart loads a consistent store`, async () => {
    const temp = makeTempDir();
    let t = await startTestDaemon({ logLevel: 'warn' }, temp.dir);
    started.push(t);
    const dataDir = t.dataDir;
    await t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.0.1.5:4840' });
    let n = 0;
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [targetName, matches] of Object.entries(TARGETS)) {
        for (const errno of ERRNOS) {
          for (const change of CHANGES) {
            if (change.targets && !change.targets.includes(targetName)) continue;
            n += 1;
            await change.before?.(t, n);
            const where = `round ${round}, ${targetName}, ${errno}, ${change.name}`;
            // Backup add needs none to exist yet.
            if (change.name === 'add a Backup version') await t.client.configBackupRemove('opc-connection/plc1').catch(() => undefined);
            const before = storeBytes(dataDir);
            const revision = t.daemon.config.revision;
            const seen = await change.check(t);
            let hits = 0;
            setFaultInjector((op, file) => (matches(op, file, dataDir) ? (hits++, fsError(errno, file)) : null));
            const code = await codeOf(change.run(t, n));
            setFaultInjector(null);
            expect(hits, `${where}: the fault was never reached`).toBeGreaterThan(0);
            expect(code, where).toBe('GW_ERR_STORAGE_WRITE_FAILED');
            refused += 1;
            expect(storeBytes(dataDir), `${where}: files changed by a refused change`).toEqual(before);
            expect(t.daemon.config.revision, where).toBe(revision);
            expect(await change.check(t), `${where}: config get changed`).toEqual(seen);
            // The fault is gone: the same change goes through.
            await change.run(t, n);
            expect(t.daemon.config.revision, where).toBe(revision + 1);
          }
        }
      }
    }
    const lastRevision = t.daemon.config.revision;
    const list = await t.client.configList();
    const plc1 = await t.client.configGet('opc-connection/plc1', 'primary');
    await t.stop();
    started.splice(0);
    const tempNames = Object.keys(storeBytes(dataDir)).filter((f) => f.includes('.tmp-'));
    expect(tempNames, 'temp files left behind').toEqual([]);

    t = await startTestDaemon({ logLevel: 'warn' }, dataDir);
    started.push(t);
    expect(t.daemon.config.revision).toBe(lastRevision);
    expect(await t.client.configCheck()).toMatchObject({ ok: true, invalid: [] });
    expect(await t.client.configList()).toEqual(list);
    expect((await t.client.configGet('opc-connection/plc1', 'primary')).content).toEqual(plc1.content);
    const journalLines = readFileSync(path.join(dataDir, 'var', 'config-journal.ndjson'), 'utf8').split('\n').filter(Boolean);
    expect(journalLines.length).toBe(lastRevision);
    expect(refused).toBe(n);
    process.stdout.write(`disk faults: ${refused} refused changes, ${refused} recoveries, revision ${lastRevision}\n`);
    await t.stop();
    started.splice(0);
    temp.cleanup();
  }, 120_000);

  it('regression: a change whose resource file cannot be written is not journaled, so it does not come back at the next start', async () => {
    const temp = makeTempDir();
    const t = await startTestDaemon({ logLevel: 'warn' }, temp.dir);
    started.push(t);
    await t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.0.1.5:4840' });
    setFaultInjector((op, f) => (op === 'write' && f.endsWith('plc1/config.json') ? fsError('ENOSPC', f) : null));
    expect(await codeOf(t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.6.6.6:4840' }))).toBe('GW_ERR_STORAGE_WRITE_FAILED');
    setFaultInjector(null);
    expect((await t.client.configGet('opc-connection/plc1')).content).toMatchObject({ endpointUrl: 'opc.tcp://10.0.1.5:4840' });
    await t.stop();
    started.splice(0);
    const again = await startTestDaemon({ logLevel: 'warn' }, temp.dir);
    started.push(again);
    expect((await again.client.configGet('opc-connection/plc1')).content).toMatchObject({ endpointUrl: 'opc.tcp://10.0.1.5:4840' });
    await again.stop();
    started.splice(0);
    temp.cleanup();
  });

  it('a config state file that cannot be written does not refuse a change that is durable', async () => {
    const t = await startTestDaemon({ logLevel: 'warn' });
    started.push(t);
    setFaultInjector((_op, f) => (f.endsWith('config-state.json') ? fsError('EIO', f) : null));
    const res = await t.client.configSet('opc-connection/plc2', { endpointUrl: 'opc.tcp://10.0.1.6:4840' });
    setFaultInjector(null);
    expect(res.revision).toBe(t.daemon.config.revision);
    expect(t.logs.join('')).toContain('could not update the config state file');
  });
});

describe('config journal append failure', () => {
  it('regression: an append whose fsync fails leaves no line behind for the next append to be glued to', async () => {
    const { ConfigJournal } = await import('../../src/daemon/config/journal.js');
    const temp = makeTempDir();
    const file = path.join(temp.dir, 'journal.ndjson');
    const { journal } = await ConfigJournal.open(file);
    const entry = (revision: number) => ({ revision, address: `opc-connection/p${revision}` }) as never;
    await journal.append(entry(1));
    const handle = (journal as unknown as { handle: { datasync: () => Promise<void> } }).handle;
    const real = handle.datasync.bind(handle);
    handle.datasync = () => Promise.reject(fsError('EIO', file));
    expect(await codeOf(journal.append(entry(2)))).toBe('GW_ERR_STORAGE_WRITE_FAILED');
    handle.datasync = real;
    await journal.append(entry(2));
    await journal.close();
    const reopened = await ConfigJournal.open(file);
    expect(reopened.entries.map((e) => e.revision)).toEqual([1, 2]);
    expect(reopened.badLines).toEqual([]);
    await reopened.journal.close();
    temp.cleanup();
  });
});
