import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

const DIST = pathToFileURL(path.resolve('dist/daemon/storage/worker-calls.js')).href;

describe('WorkerCalls (a worker thread never keeps gwd alive)', () => {
  it('a process whose thread is still open and listening, after a call answered, exits when its own work is done', () => {
    // The thread waits for messages for ever; only an unref'd thread lets the process end. (Its
    // 'message' listener, added after an unref, used to ref it again: gwd would not exit on its own.)
    const script = `import(${JSON.stringify(DIST)}).then(async (m) => {
      const calls = new m.WorkerCalls("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (q) => parentPort.postMessage({ id: q.id, ok: true }));", 'idle');
      // The process's own work (here a timer) keeps it alive while it waits for the answer.
      const work = setTimeout(() => undefined, 10_000);
      await calls.call({ op: 'ping' });
      clearTimeout(work);
      process.stdout.write('done');
    });`;
    // A file, not `--input-type=module -e`: a worker inherits that flag and would take its CommonJS source for a module.
    const dir = mkdtempSync(path.join(tmpdir(), 'gwd-worker-exit-'));
    const file = path.join(dir, 'script.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 15_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.error?.message).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('done');
    expect(r.status).toBe(0);
  });
});
