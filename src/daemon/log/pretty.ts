/**
 * The log for a person at a terminal: one line per entry, `HH:MM:SS.mmm LEVEL message key=value`,
 * made from the JSON line pino writes. The journal and log shippers get the JSON itself
 * (`--log-format json`, the default when stdout is not a terminal).
 */
const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every line has, shown in their own place or not at all. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'object' && v !== null && 'message' in v && 'stack' in v) {
    // A serialised error: its message on the line, its stack below it.
    return JSON.stringify((v as { message: unknown }).message);
  }
  return JSON.stringify(v);
}

/** One pino JSON line as a readable line (a line that is not JSON is passed on as it is). */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const level = LEVEL_NAMES[entry.level as number] ?? String(entry.level);
  const fields = Object.entries(entry)
    .filter(([k]) => !OMITTED.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  let out = `${time} ${level} ${String(entry.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
  const err = entry.err as { stack?: unknown } | undefined;
  if (err && typeof err.stack === 'string') out += `${err.stack.replace(/^/gm, '    ')}\n`;
  return out;
}
