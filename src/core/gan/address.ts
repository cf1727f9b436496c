export interface HostPort {
  host: string;
  port: number | null;
}

/**
 * `HOST[:PORT]`, with IPv6 literals in brackets (`[::1]:8060`). A bare IPv6 literal without brackets
 * is taken as a host. Returns null for what cannot be a host (scheme, path, spaces, bad port).
 */
export function parseHostPort(input: string): HostPort | null {
  const text = input.trim();
  if (text === '' || /[\s/@]/.test(text)) return null;
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text;
  } else {
    const [h, p] = text.split(':');
    host = h!;
    portText = p;
    if (p !== undefined && p === '') return null;
  }
  if (host === '' || !/^[A-Za-z0-9.:_-]+$/.test(host)) return null;
  if (portText === undefined) return { host, port: null };
  if (!/^\d+$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { host, port };
}

/** For URLs and messages: IPv6 literals in brackets. */
export function formatHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
