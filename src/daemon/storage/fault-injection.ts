/**
 * A test-only hook at the file layer: tests set an injector that makes chosen writes fail (ENOSPC,
 * EIO, EROFS) for chosen paths, which chmod cannot do when the tests run as root. No injector is set
 * in production; the check is then one null comparison. `rename` is checked only where a rename is
 * a step of its own that can fail after the writes (the two renames of a snapshot swap), with the
 * rename's target as the path.
 */
export type StorageOp = 'write' | 'append' | 'rename';
export type FaultInjector = (op: StorageOp, file: string) => NodeJS.ErrnoException | null | undefined;

let injector: FaultInjector | null = null;

/** Set (or clear, with null) the injector; returns the previous one. */
export function setFaultInjector(next: FaultInjector | null): FaultInjector | null {
  const previous = injector;
  injector = next;
  return previous;
}

/** An injector is set (callers with many paths to build skip building them when not). */
export function faultsArmed(): boolean {
  return injector !== null;
}

/** Throw the injected error for this operation, if any. Called before the real I/O. */
export function checkFault(op: StorageOp, file: string): void {
  if (injector === null) return;
  const err = injector(op, file);
  if (err) throw err;
}

/** An errno-style error as fs would raise it, for injectors. */
export function fsError(code: 'ENOSPC' | 'EIO' | 'EROFS' | 'EACCES', file: string): NodeJS.ErrnoException {
  const messages = { ENOSPC: 'no space left on device', EIO: 'i/o error', EROFS: 'read-only file system', EACCES: 'permission denied' };
  const err = new Error(`${code}: ${messages[code]}, open '${file}'`) as NodeJS.ErrnoException;
  err.code = code;
  err.path = file;
  return err;
}
