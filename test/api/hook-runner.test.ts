import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { HookRunner } from '../../src/daemon/redundancy/hook-runner.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const temps: Array<() => void> = [];
afterEach(() => temps.splice(0).forEach((c) => c()));

function script(body: string): { file: string; dir: string } {
  const t = makeTempDir('gwd-hook-');
  temps.push(t.cleanup);
  const file = path.join(t.dir, 'hook.sh');
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return { file, dir: t.dir };
}

describe('hook runner', () => {
  it('passes the env and reports success on exit 0', async () => {
    const { file, dir } = script(`echo "$GWD_ACTIVITY $GWD_EPOCH" > "${'$'}(dirname "$0")/out"`);
    const r = await new HookRunner().run('onActivityChange', file, { GWD_ACTIVITY: 'Active', GWD_EPOCH: '7' }, 5000);
    expect(r.ok).toBe(true);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('Active 7\n');
  });

  it('a non-zero exit is a failure with the exit code and the output tail', async () => {
    const { file } = script('echo "PLC not reachable" >&2; exit 3');
    const r = await new HookRunner().run('preActivate', file, {}, 5000);
    expect(r).toMatchObject({ ok: false, exitCode: 3, timedOut: false, spawnError: null });
    expect(r.output).toContain('PLC not reachable');
  });

  it('a hook that runs past its timeout is killed, with its children, and reported as timed out', async () => {
    const { file } = script('sleep 30 & sleep 30');
    const r = await new HookRunner().run('preActivate', file, {}, 200);
    expect(r.ok).toBe(false);
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(5000);
  });

  it('a missing or non-executable hook is a failure, not an exception', async () => {
    const missing = await new HookRunner().run('onActivityChange', '/nonexistent/hook', {}, 1000);
    expect(missing.ok).toBe(false);
    expect(missing.spawnError).toMatch(/ENOENT/);
    const { file } = script('exit 0');
    chmodSync(file, 0o644);
    const notExec = await new HookRunner().run('onActivityChange', file, {}, 1000);
    expect(notExec.ok).toBe(false);
    expect(notExec.spawnError).toMatch(/EACCES/);
  });

  it('runs hooks one at a time in the order asked, even when an earlier one is slower', async () => {
    const { file, dir } = script(`sleep "$DELAY"; echo "$N" >> "${'$'}(dirname "$0")/order"`);
    const runner = new HookRunner();
    const runs = [
      runner.run('onActivityChange', file, { N: '1', DELAY: '0.3' }, 5000),
      runner.run('onActivityChange', file, { N: '2', DELAY: '0' }, 5000),
      runner.run('onActivityChange', file, { N: '3', DELAY: '0.1' }, 5000),
    ];
    await Promise.all(runs);
    expect(readFileSync(path.join(dir, 'order'), 'utf8')).toBe('1\n2\n3\n');
  });
});
