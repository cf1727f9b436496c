/**
 * A dial that used the wrong one of the master's two ports, named for the operator. Without this,
 * plain WebSocket to the SSL port and TLS to the plain port both read as an unreachable master
 * (ECONNRESET, EPROTO) although it is up and answering.
 *
 * What each case looks like on Node 20 (measured against real listeners):
 * - plain to a TLS port: Node's TLS server sees an HTTP request (ERR_SSL_HTTP_REQUEST) and closes,
 *   so the client only saw ECONNRESET "socket hang up". gwd's SSL listener now answers it in plain
 *   HTTP, 400 with `X-Gwd-Port: ssl` (listeners.ts): the dialer sees that response. Another TLS
 *   server still resets, which stays unexplained (and is not read as proof: no errno reaches
 *   peer-gone.ts for a response).
 * - TLS to a plain port: the HTTP server answers the ClientHello with a plain 400 (gwd's plain
 *   listener does so on purpose, listeners.ts), so OpenSSL fails with "wrong version number": the
 *   port answered without TLS, whatever server it is. Through ws the error's code is
 *   ERR_SSL_WRONG_VERSION_NUMBER; a bare TLS write sees EPROTO with that text.
 */
export interface DialOutcome {
  /** Whether the dial used TLS (the backup's --ssl / master.enableSsl). */
  ssl: boolean;
  /** The socket error's code (ERR_SSL_WRONG_VERSION_NUMBER, EPROTO, ECONNRESET, ...), or null. */
  code: string | null;
  /** The socket error's message, or null. */
  message: string | null;
  /** The X-Gwd-Port header of an HTTP answer that was not the WebSocket upgrade, or null. */
  gwdPort: string | null;
}

/** The hint for a dial that used the wrong kind of port, or null when nothing says so. */
export function sslMismatchHint(o: DialOutcome): string | null {
  if (!o.ssl && o.gwdPort === 'ssl') {
    return "it is an SSL port (gwd's TLS listener answered the plain connection): dial it with --ssl, or use the master's plain port with --no-ssl";
  }
  const plainAnswer = o.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || (o.code === 'EPROTO' && /wrong version number/i.test(o.message ?? ''));
  if (o.ssl && (o.gwdPort === 'plain' || plainAnswer)) {
    return "it answered without TLS, so it looks like a plain port: dial it with --no-ssl, or use the master's SSL port with --ssl";
  }
  return null;
}
