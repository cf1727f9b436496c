import { afterEach, describe, expect, it } from 'vitest';

import { watchStatus } from '../../src/cli/commands/status-watch.js';
import { formatStatus } from '../../src/cli/commands/status.js';
import { CommandContext } from '../../src/cli/context.js';
import { NO_COLORS } from '../../src/cli/io.js';
import { GwError } from '../../src/core/errors.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';

/**
 * `gwctl status --watch` on a terminal, against a real daemon in this process: a redraw (clear
 * screen, cursor home) at each change and at most once per interval; the end when gwd stops. The
 * pipe form, kill -9 and SIGINT through the real binary are in test/e2e/status-pair.test.ts.
 */
let d: TestDaemon | null = null;

afterEach(async () => {
  await d?.stop();
  d = null;
});

const CLEAR = '\u001b[H\u001b[2J';

describe('gwctl status --watch on a terminal', () => {
  it('redraws the view at each change, never twice within the interval, and says so when gwd goes away', async () => {
    d = await startTestDaemon();
    const draws: Array<{ at: number; text: string }> = [];
    const io = {
      stdout: { isTTY: true, write: (t: string) => draws.push({ at: Date.now(), text: t }) },
      stderr: { write: () => true },
      env: {},
      cwd: '/',
    };
    const ctx = new CommandContext(io, d.socketPath, false, NO_COLORS);
    const intervalMs = 400;
    const watching = watchStatus(ctx, { intervalMs, render: (s) => formatStatus(s, ctx) });
    await waitFor('the first view', () => (draws.length > 0 ? true : undefined), 10_000);
    expect(draws[0]!.text.startsWith(`${CLEAR}System name`)).toBe(true);
    expect(draws[0]!.text).toMatch(/^Label\s+test-node$/m);

    // A change (node.settings.changed) shows within the interval.
    await d.client.configureNode({ label: 'line-3-a' });
    const changed = await waitFor('a view with the new label', () => draws.find((x) => /^Label\s+line-3-a$/m.test(x.text)), 5000);
    expect(changed.text.startsWith(CLEAR)).toBe(true);
    // Then a burst of changes: still at most one view per interval (the ticker's included).
    for (let i = 0; i < 10; i++) await d.client.configureNode({ label: `burst-${i}` });
    await waitFor('the last label drawn', () => (draws.some((x) => /^Label\s+burst-9$/m.test(x.text)) ? true : undefined), 5000);
    const gaps = draws.slice(1).map((x, i) => x.at - draws[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(intervalMs - 25);
    expect(draws.every((x) => x.text.startsWith(CLEAR) && /^Process\s+pid \d+, up \d+ s$/m.test(x.text))).toBe(true);

    // gwd stops: the watch ends with the unreachable code (exit 3), saying it went away.
    const stopped = d.stop();
    d = null;
    const err = await watching.then(() => null, (e: unknown) => e);
    await stopped;
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_CLI_DAEMON_UNREACHABLE');
    expect((err as GwError).message).toContain('gwd went away while watched');
  }, 60_000);
});
