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
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
