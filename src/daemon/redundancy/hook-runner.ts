import { spawn } from 'node:child_process';

import { SerialQueue } from '../storage/serial-queue.js';

export type HookKind = 'preActivate' | 'onActivityChange';

export interface HookResult {
  kind: HookKind;
  path: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** Last bytes of the hook's stdout+stderr, for the log and the hook.failed event. */
  output: string;
  /** Set when the hook could not be started at all (ENOENT, EACCES, ...). */
  spawnError: string | null;
}

const OUTPUT_TAIL_BYTES = 4096;

/**
 * Runs hook executables one at a time, in the order they were asked for (rule 9): a later
 * onActivityChange never overtakes an earlier one. Each run has a timeout after which the hook's
 * whole process group is killed. A hook that fails or cannot start is a result, never an exception:
 * a broken hook must not stop the daemon.
 */
export class HookRunner {
  private readonly queue = new SerialQueue();
  private readonly running = new Set<number>();

  run(kind: HookKind, path: string, env: Readonly<Record<string, string>>, timeoutMs: number): Promise<HookResult> {
    return this.queue.run(() => this.runOne(kind, path, env, timeoutMs));
  }

  /** Resolves once every hook asked for so far has finished (each is bounded by its timeout). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Kill whatever hook is running (daemon shutdown). */
  killAll(): void {
    for (const pid of this.running) killGroup(pid);
  }

  private runOne(kind: HookKind, path: string, env: Readonly<Record<string, string>>, timeoutMs: number): Promise<HookResult> {
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    return new Promise((resolve) => {
      let output = '';
      let timedOut = false;
      let settled = false;
      const finish = (partial: Pick<HookResult, 'exitCode' | 'signal' | 'spawnError'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          kind,
          path,
          ok: partial.spawnError === null && !timedOut && partial.exitCode === 0,
          timedOut,
          durationMs: Math.round(elapsed()),
          output,
          ...partial,
        });
      };
      const child = spawn(path, [], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Own process group, so a timeout kills the hook's children too.
        detached: true,
      });
      const collect = (chunk: Buffer): void => {
        output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid) killGroup(child.pid);
      }, timeoutMs);
      if (child.pid) this.running.add(child.pid);
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (child.pid) this.running.delete(child.pid);
        finish({ exitCode: null, signal: null, spawnError: `${err.code ?? 'ERROR'}: ${err.message}` });
      });
      child.once('close', (code, signal) => {
        if (child.pid) this.running.delete(child.pid);
        finish({ exitCode: code, signal: signal ?? null, spawnError: null });
      });
    });
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
