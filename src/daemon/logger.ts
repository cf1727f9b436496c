import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

import { prettyLine } from './log/pretty.js';
import { RepeatFilter } from './log/repeat-filter.js';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  format?: LogFormat;
  /** Where the lines go (default: stdout, written synchronously so a crash loses none). */
  destination?: DestinationStream;
  /** The clock repeated warnings are counted on (tests). */
  now?: () => number;
}

const WARN = 40;

/** A line's identity for the repeat filter: its level and arguments, errors by their message. */
function repeatKey(level: number, args: unknown[]): string {
  return `${level}:${JSON.stringify(args, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`;
}

/**
 * pino lines on stdout: JSON (one object a line, what journald and log shippers take) or, for a
 * person at a terminal, `pretty`. Keys, PEM and passwords are redacted wherever they appear in a log
 * object: a log shipped to a central store must not leak them. The same warning said again within a
 * minute is held back and counted (`repeated` on its next line).
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const stdout = options.destination ?? pino.destination({ dest: 1, sync: true });
  const destination: DestinationStream =
    options.format === 'pretty' ? { write: (line: string) => stdout.write(prettyLine(line)) } : stdout;
  const repeats = new RepeatFilter(options.now ?? Date.now);
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['keyPem', 'certPem', 'password', '*.keyPem', '*.certPem', '*.password', '*.privateKey', 'privateKey'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method, lvl) {
          // Info lines are state changes, each of which matters: only warnings and worse are held back.
          if (lvl < WARN) return method.apply(this, args);
          const verdict = repeats.check(repeatKey(lvl, args));
          if (verdict.kind === 'drop') return;
          if (verdict.repeated === 0) return method.apply(this, args);
          // The count goes with the line's fields (an error is the field `err`); a line that had none gets them.
          const [first, ...rest] = args as unknown[];
          const hasFields = typeof first === 'object' && first !== null;
          const fields = first instanceof Error ? { err: first } : hasFields ? first : {};
          const withCount = [{ ...fields, repeated: verdict.repeated }, ...(hasFields ? rest : args)];
          return method.apply(this, withCount as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
