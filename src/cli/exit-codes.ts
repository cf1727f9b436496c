/** gwctl exit codes (DESIGN.md section 8): scripts branch on these. */
export const EXIT = {
  OK: 0,
  /** The daemon refused or the operation failed; the error code is printed. */
  FAILED: 1,
  USAGE: 2,
  /** gwd is not reachable on the socket. */
  UNREACHABLE: 3,
  /** `wait` or `--wait` ran out of time. */
  TIMEOUT: 4,
  /**
   * The reader of standard output went away (`gwctl events | head -1`): gwctl stops quietly with
   * the status `cat` has then (killed by SIGPIPE, 128 + 13), so `set -o pipefail` sees the cut.
   */
  OUTPUT_CLOSED: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Thrown by a command to end with a given exit code after it printed what it had to say. */
export class ExitError extends Error {
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
  }
}
