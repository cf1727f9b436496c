import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

const DIST = pathToFileURL(path.resolve('dist/daemon/storage/worker-calls.js')).href;

describe('WorkerCalls (a worker thread never keeps gwd alive)', () => {
  it('a call waiting for its answer holds the process (it gets the answer), and the thread, open and idle after it, does not (the process exits)', () => {
    // The thread waits for messages for ever. Its 'message' listener, added after an unref, used to
    // ref it again (the process never ended); unref'd for good, a process awaiting a call ended
    // before the answer (the benchmark's in-process store stopped mid-run, exit code 13).
    const script = `import(${JSON.stringify(DIST)}).then(async (m) => {
      const calls = new m.WorkerCalls("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (q) => parentPort.postMessage({ id: q.id, ok: true }));", 'idle');
      // Nothing else holds the process: the call waiting for its answer does (an idle thread would not).
      const answer = await calls.call({ op: 'ping' });
      process.stdout.write(answer.ok ? 'done' : 'no answer');
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
