/**
 * The error catalogue: every coded error the daemon or the CLI can report.
 *
 * Codes are `GW_ERR_<AREA>_<WHAT>`, never reused once retired. docs/errors.md mirrors this table and
 * test/unit/error-catalogue.test.ts keeps the two equal in both directions. Messages say what
 * happened, to what, and what to do; `{name}` placeholders are filled from the error's params.
 */
export interface CatalogueEntry {
  readonly statusCode: number;
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // Local API transport
  GW_ERR_API_NOT_FOUND: { statusCode: 404, message: 'no route for {method} {path}; see docs/api.md for the routes' },
  GW_ERR_API_METHOD_NOT_ALLOWED: { statusCode: 405, message: '{method} is not allowed on {path}; allowed: {allowed}' },
  GW_ERR_API_BODY_TOO_LARGE: { statusCode: 413, message: 'request body exceeds the limit of {limit} bytes' },
  GW_ERR_API_MALFORMED_REQUEST: { statusCode: 400, message: 'the request is not valid HTTP/1.1 ({detail})' },
  GW_ERR_API_MALFORMED_JSON: { statusCode: 400, message: 'request body is not valid JSON: {detail}' },
  GW_ERR_API_INVALID_BODY: { statusCode: 400, message: 'request body is invalid: {detail}' },
  GW_ERR_API_BAD_PATH: { statusCode: 400, message: 'request path {path} is not valid: {detail}' },
  GW_ERR_API_INVALID_QUERY: { statusCode: 400, message: 'query parameter {name} is invalid: {detail}' },
  GW_ERR_API_ORIGIN_REFUSED: {
    statusCode: 403,
    message: 'requests carrying a {header} header are refused: the local API is for gwctl and scripts, not browsers',
  },
  GW_ERR_API_SHUTTING_DOWN: { statusCode: 503, message: 'gwd is shutting down; retry once it has restarted' },
  GW_ERR_DAEMON_INTERNAL: { statusCode: 500, message: 'internal error: {detail}; the daemon log has the details' },

  // Daemon startup and files on disk
  GW_ERR_DAEMON_SOCKET_IN_USE: {
    statusCode: 409,
    message: 'another gwd is already answering on {socket}; stop it first or start this one with --socket or --data-dir',
  },
  GW_ERR_DAEMON_SOCKET_PATH_INVALID: { statusCode: 400, message: 'cannot use {socket} as the API socket: {detail}' },
  GW_ERR_DAEMON_BAD_OPTION: { statusCode: 400, message: 'invalid option {option}: {detail}' },
  GW_ERR_SETTINGS_INVALID: {
    statusCode: 500,
    message: 'settings file {file} is invalid at {field}: {detail}; fix or remove the file (it was left untouched)',
  },
  GW_ERR_SETTINGS_UNREADABLE: {
    statusCode: 500,
    message: 'settings file {file} could not be read: {detail}; it was left untouched',
  },
  GW_ERR_STORAGE_WRITE_FAILED: {
    statusCode: 507,
    message: 'could not write {file}: {detail}; the previous version was kept',
  },
  GW_ERR_NODE_LABEL_INVALID: {
    statusCode: 400,
    message: 'label {label} refused: {detail}; nothing was changed',
  },

  // Configuration store (config.json, backupConfig.json, resolution): GW_ERR_CONFIG_*
  GW_ERR_CONFIG_INVALID: {
    statusCode: 400,
    message: '{resource} ({version}) is invalid: {detail}; every failing field is listed in details.problems',
  },
  GW_ERR_CONFIG_UNKNOWN_TYPE: {
    statusCode: 400,
    message: 'unknown resource type "{type}"; known types: {known}',
  },
  GW_ERR_CONFIG_NOT_FOUND: {
    statusCode: 404,
    message: '{resource} has no {what}; gwctl config list shows what exists',
  },
  GW_ERR_CONFIG_READ_ONLY: {
    statusCode: 409,
    message: 'shared configuration is read-only on a backup node, {resource} was not changed; edit it on the master at {master}, or use --local for a setting of this node only',
  },
  GW_ERR_CONFIG_BAD_ADDRESS: {
    statusCode: 400,
    message: 'resource address "{address}" is not valid: {detail}',
  },
  GW_ERR_CONFIG_EXISTS: {
    statusCode: 409,
    message: '{resource} already has a {what}; change it with gwctl config set {resource} --version backup --file F.json',
  },
  GW_ERR_CONFIG_FILE_INVALID: {
    statusCode: 409,
    message: '{resource} was not changed: its file {file} is invalid on disk ({detail}); fix the file and run gwctl config rescan, or remove it',
  },
  GW_ERR_CONFIG_FILE_CHANGED: {
    statusCode: 409,
    message: '{resource} cannot be read as gwd loaded it: its file {file} {detail} since; run gwctl config rescan to load the file as it is (gwctl config check shows what changed)',
  },
  GW_ERR_CONFIG_REQUIRED: {
    statusCode: 409,
    message: '{resource} is required in the shared configuration and cannot be deleted; change it with gwctl config set {resource} --file F.json',
  },

  // Gateway Network (listeners, trust stores, connections): GW_ERR_GAN_*
  GW_ERR_GAN_SSL_REQUIRED: {
    statusCode: 403,
    message: '{node} requires SSL on the Gateway Network: dial its SSL port {sslPort} (gwctl redundancy configure --ssl), or turn off requireSsl there',
  },
  GW_ERR_GAN_CERT_NOT_APPROVED: {
    statusCode: 403,
    message: 'certificate {fingerprint} of {peer} is not approved in the {direction} trust store of {node}; approve it on {node} with `gwctl certs approve {short}`',
  },
  GW_ERR_GAN_CERT_DENIED: {
    statusCode: 403,
    message: 'certificate {fingerprint} of {peer} is denied in the {direction} trust store of {node}; `gwctl certs remove {short}` on {node} lets it ask again',
  },
  GW_ERR_GAN_CERT_CHANGED: {
    statusCode: 403,
    message: 'peer {peer} shows certificate {fingerprint}, not the approved {known}; refused and flagged on {node}: check that machine, then approve the new certificate explicitly',
  },
  GW_ERR_GAN_CLIENT_CERT_REQUIRED: {
    statusCode: 403,
    message: '{node} requires a client certificate (requireTwoWayAuth) and none was presented',
  },
  GW_ERR_GAN_CONNECTION_NOT_APPROVED: {
    statusCode: 403,
    message: 'connection {id} is waiting for approval on {node}; approve it on {node} with `gwctl connections approve \'{id}\'`',
  },
  GW_ERR_GAN_CONNECTION_DENIED: {
    statusCode: 403,
    message: 'connection {id} is denied on {node}',
  },
  GW_ERR_GAN_NOT_WHITELISTED: {
    statusCode: 403,
    message: 'system name {systemName} is not in the whitelist of {node} (securityPolicy SpecifiedList)',
  },
  GW_ERR_GAN_INCOMING_DISABLED: {
    statusCode: 403,
    message: '{node} does not accept incoming Gateway Network connections (allowIncoming is false)',
  },
  GW_ERR_GAN_INCOMPATIBLE_PROTOCOL: {
    statusCode: 409,
    message: '{peer} speaks Gateway Network protocol {remote}, this node speaks {local}; run the same gwd version on both nodes',
  },
  GW_ERR_GAN_INCOMPATIBLE_EDITION: {
    statusCode: 409,
    message: '{peer} is {remote} node and {self} is {local} node: an Edge node pairs only with an Edge node',
  },
  GW_ERR_GAN_INCOMPATIBLE_ROLE: {
    statusCode: 409,
    message: '{detail}',
  },
  GW_ERR_GAN_PEER_IN_USE: {
    statusCode: 409,
    message: '{node} already has a connected peer ({current}); one master pairs with one backup',
  },
  GW_ERR_GAN_PROTOCOL_VIOLATION: {
    statusCode: 400,
    message: 'invalid Gateway Network message from {peer}: {detail}; the connection was closed',
  },
  GW_ERR_GAN_FRAME_TOO_LARGE: {
    statusCode: 413,
    message: 'a frame from {peer} is larger than {limit} bytes, the most one Gateway Network message may take; the connection was closed',
  },
  GW_ERR_GAN_HANDSHAKE_TIMEOUT: { statusCode: 408, message: 'no hello from {peer} within {timeout} ms' },
  GW_ERR_GAN_PING_TIMEOUT: { statusCode: 408, message: '{missed} pings to {peer} unanswered within {timeout} ms each; the connection is faulted' },
  GW_ERR_GAN_PEER_SILENT: { statusCode: 408, message: '{peer} sent nothing for {timeout} ms (failoverTimeout); the connection is dropped and redialled' },
  GW_ERR_GAN_UNREACHABLE: { statusCode: 503, message: 'cannot reach {address}: {detail}' },
  GW_ERR_GAN_CONNECTION_CLOSED: { statusCode: 503, message: 'the connection to {peer} closed: {detail}' },
  GW_ERR_GAN_PEER_LEFT: { statusCode: 503, message: '{peer} closed the link ({reason})' },
  GW_ERR_GAN_CERT_NOT_FOUND: { statusCode: 404, message: 'no certificate matches {input}; see `gwctl certs list`' },
  GW_ERR_GAN_CERT_AMBIGUOUS: { statusCode: 409, message: '{input} matches several certificates: {matches}; give more characters' },
  GW_ERR_GAN_CERT_INVALID: { statusCode: 400, message: 'not a usable certificate: {detail}' },
  GW_ERR_GAN_ID_TOO_SHORT: { statusCode: 400, message: '{input} is too short: give at least {min} characters of the fingerprint' },
  GW_ERR_GAN_CONNECTION_NOT_FOUND: { statusCode: 404, message: 'no connection matches {input}; see `gwctl connections list`' },
  GW_ERR_GAN_CONNECTION_AMBIGUOUS: { statusCode: 409, message: '{input} matches several connections: {matches}; give more characters' },
  GW_ERR_GAN_CONNECTION_NOT_INCOMING: {
    statusCode: 409,
    message: 'connection {id} is outgoing: approval is for incoming connections, on the node that is dialled',
  },
  GW_ERR_GAN_SETTINGS_INVALID: { statusCode: 400, message: 'Gateway Network settings refused: {detail}' },
  GW_ERR_GAN_LISTEN_FAILED: {
    statusCode: 409,
    message: 'the {listener} listener cannot listen on {address}: {detail}; nothing was changed (gateway-network.json keeps the settings that work)',
  },
  GW_ERR_GAN_SETTING_OVERRIDDEN: {
    statusCode: 400,
    message:
      "gwd {override} overrides gateway-network.json's {field} for this process, so the change would be saved but not used; nothing was changed: restart gwd without it to use the file, or leave {field} out",
  },

  // Redundancy (roles, activity, failover, hooks): GW_ERR_REDUNDANCY_*
  GW_ERR_REDUNDANCY_NO_PEER: {
    statusCode: 409,
    message:
      'no peer is connected, so there is nothing to fail over to (this node is {activity}); check the link with gwctl status, or, on the standing-by node only and if the peer is really down, use --force',
  },
  GW_ERR_REDUNDANCY_NOT_REDUNDANT: {
    statusCode: 409,
    message: 'this node is Independent, so it has no peer to fail over to; set a role with gwctl redundancy configure --mode master|backup',
  },
  GW_ERR_REDUNDANCY_FAILOVER_IN_PROGRESS: {
    statusCode: 409,
    message: 'failover {id} is still in progress; wait for it (gwctl redundancy failover --wait, gwctl events) before asking again',
  },
  GW_ERR_REDUNDANCY_FAILOVER_FAILED: {
    statusCode: 409,
    message: 'failover {id} failed: {reason}; this node and its peer keep the activity they had (see gwctl events)',
  },
  GW_ERR_REDUNDANCY_INVALID_SETTINGS: { statusCode: 400, message: 'redundancy settings refused: {detail}' },
  GW_ERR_REDUNDANCY_FAILOVER_TARGET: {
    statusCode: 409,
    message: 'cannot fail over to "{to}": {detail}',
  },
  GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE: {
    statusCode: 409,
    message:
      'changing the role to {to} would make this node Active while its peer {peer} is Active, so nothing was changed; stand down the peer first (gwctl redundancy failover on it), or repeat with --force',
  },
  GW_ERR_REDUNDANCY_WITNESS_MISMATCH: {
    statusCode: 409,
    message: 'the peer uses witness {peerWitness}, this node {ownWitness}: both nodes must use the same prefix on the same etcd cluster',
  },

  // Witness (the etcd cluster of DESIGN section 9): GW_ERR_WITNESS_*
  GW_ERR_WITNESS_UNREACHABLE: {
    statusCode: 503,
    message: 'no endpoint of the witness answered {operation}: {detail}; check that etcd runs and that this node reaches it (endpoints, firewall, TLS)',
  },
  GW_ERR_WITNESS_REFUSED: {
    statusCode: 502,
    message: 'the witness (etcd at {endpoint}) refused {operation}: {detail}',
  },
  GW_ERR_WITNESS_LEASE_LOST: {
    statusCode: 409,
    message: 'the witness lease {leaseId} is gone (etcd at {endpoint} answered {operation}: {detail}); this node no longer holds the leader key',
  },
  GW_ERR_WITNESS_TLS: {
    statusCode: 400,
    message: 'the witness TLS {what} file {file} cannot be used: {detail}; give PEM files that gwd can read (witness.tls ca, cert, key)',
  },

  // Synchronization: GW_ERR_SYNC_*
  GW_ERR_SYNC_NOT_APPLICABLE: {
    statusCode: 409,
    message: 'this node is {role}, so it has no configuration to synchronize; resync works on a Master or a Backup (gwctl redundancy configure --mode master|backup)',
  },
  GW_ERR_SYNC_NO_PEER: {
    statusCode: 409,
    message: 'no peer is connected, so there is nothing to synchronize with; check the link with gwctl status and gwctl connections list',
  },
  GW_ERR_SYNC_GAP: {
    statusCode: 409,
    message: 'the master sent changes from revision {from} but this backup has applied up to {revision}; a full snapshot is requested instead',
  },
  GW_ERR_SYNC_TIMEOUT: {
    statusCode: 504,
    message: 'synchronization did not finish in time: {detail}; the last complete configuration is kept and the sync is retried (raise syncTimeoutSecs for large configurations)',
  },
  GW_ERR_SYNC_SNAPSHOT_REFUSED: {
    statusCode: 422,
    message: 'the full snapshot from the master was refused: {detail}; the last complete configuration is kept and the sync is retried',
  },
  GW_ERR_SYNC_FAILED: {
    statusCode: 500,
    message: 'synchronization failed: {detail}; the last complete configuration is kept and the sync is retried',
  },

  // Client side (gwctl)
  GW_ERR_CLI_DAEMON_UNREACHABLE: {
    statusCode: 503,
    message: 'gwd is not reachable on {socket} ({detail})',
  },
  GW_ERR_CLI_BAD_RESPONSE: { statusCode: 502, message: 'gwd answered {path} with something that is not the API: {detail}' },
  GW_ERR_CLI_USAGE: { statusCode: 400, message: '{detail}' },
  GW_ERR_CLI_WAIT_TIMEOUT: { statusCode: 408, message: 'timed out after {timeout} s waiting for {what}' },
  GW_ERR_CLI_WAIT_IMPOSSIBLE: {
    statusCode: 409,
    message: 'not waiting for {what}: {detail}; make this node a Master or a Backup first (gwctl redundancy configure --mode)',
  },
} as const satisfies Record<string, CatalogueEntry>;

type Catalogue = typeof ERROR_CATALOGUE;

export type ErrorCode = keyof Catalogue;

/** The `{name}` placeholders of a message template, as a union of names (never: none). */
export type Placeholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/** The placeholders of a code's message. */
export type PlaceholderOf<C extends ErrorCode> = Placeholders<Catalogue[C]['message']>;

/** What fills a placeholder: never null or undefined, which would leave `{name}` in the message. */
export type ParamValue = string | number | boolean;

/** No placeholders: no params (an index signature of never refuses any key a caller adds). */
export type NoParams = { readonly [name: string]: never };

/**
 * The params of a code: exactly the placeholders of its message, each one required. Derived from
 * the catalogue's literal messages, so a missing, misspelt or extra param fails to compile.
 */
export type ParamsOf<C extends ErrorCode> = [PlaceholderOf<C>] extends [never]
  ? NoParams
  : { readonly [Name in PlaceholderOf<C>]: ParamValue };

/** The arguments after the code: params (optional only when the message has no placeholder), details. */
export type ParamsArgs<C extends ErrorCode> = [PlaceholderOf<C>] extends [never]
  ? [params?: NoParams, details?: unknown]
  : [params: ParamsOf<C>, details?: unknown];

/**
 * A coded error as a value, before it is thrown or sent: what the pure machines return (a refused
 * command, an incompatible hello, a trust refusal). A union discriminated by `code`, so `params`
 * are checked against that code's message. `GwError.from(spec)` makes the error.
 */
export type ErrorSpec<C extends ErrorCode = ErrorCode> = {
  [K in C]: { readonly code: K; readonly params: ParamsOf<K> };
}[C];

/** Loose params, for formatMessage only (it takes any template). */
export type ErrorParams = Readonly<Record<string, ParamValue | null | undefined>>;

/** The one wire body for every error the local API returns. */
export interface ErrorBody {
  statusCode: number;
  /**
   * A string, not ErrorCode: a body is read from the wire, and a newer gwd may send a code this
   * build does not know (codes are only ever added). Errors this process makes have an ErrorCode.
   */
  code: string;
  error: string;
  message: string;
  /** Structured detail for scripts (failing fields, matching ids, ...). Absent when there is none. */
  details?: unknown;
}

/**
 * A GwError as the status JSON keeps it (a connection's `lastError`): its code and message, and
 * when it happened. The code is a string for the reason ErrorBody's is: a peer's `refused` frame
 * is recorded as it came.
 */
export interface ErrorRecord {
  code: string;
  message: string;
  time: string;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

export function statusText(statusCode: number): string {
  return STATUS_TEXT[statusCode] ?? 'Error';
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code);
}

export function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined || value === null ? whole : String(value);
  });
}

/**
 * The one error type: a coded error, made here or rebuilt from a body of the local API. Callers
 * branch on `code`, never on the message text. Exported as `GwError` below, through a construct
 * signature generic in the code (a class constructor cannot have type parameters), so each
 * `new GwError(code, params)` is checked against that code's message.
 */
const GwErrorClass = class GwError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ErrorCode, params: ErrorParams = {}, details?: unknown) {
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    super(formatMessage(entry.message, params));
    this.name = 'GwError';
    this.code = code;
    this.statusCode = entry.statusCode;
    this.details = details;
  }

  /** The error made from a spec a pure machine returned. */
  static from(spec: ErrorSpec, details?: unknown): GwError {
    return new GwErrorClass(spec.code, spec.params, details);
  }

  /**
   * Rebuild an error from a wire body (the client side). A code this build does not know (a newer
   * gwd) becomes a RemoteError that keeps it as it came: `code` of a GwError is always one of ours.
   */
  static fromBody(body: ErrorBody): GwError | RemoteError {
    if (!isErrorCode(body.code)) return new RemoteError(body);
    const err = Object.create(GwErrorClass.prototype) as GwError;
    Object.defineProperties(err, {
      name: { value: 'GwError', writable: true, configurable: true },
      message: { value: body.message, writable: true, configurable: true },
      code: { value: body.code, enumerable: true },
      statusCode: { value: body.statusCode, enumerable: true },
      details: { value: body.details, enumerable: true },
    });
    return err;
  }

  toBody(): ErrorBody {
    return bodyOf(this);
  }

  /** The status JSON's record of this error, dated `time` (the caller's clock). */
  toRecord(time: Date = new Date()): ErrorRecord {
    return { code: this.code, message: this.message, time: time.toISOString() };
  }
};

export interface GwErrorConstructor {
  new <C extends ErrorCode>(code: C, ...args: ParamsArgs<C>): GwError;
  readonly prototype: GwError;
  from(spec: ErrorSpec, details?: unknown): GwError;
  fromBody(body: ErrorBody): GwError | RemoteError;
}

export type GwError = InstanceType<typeof GwErrorClass>;
export const GwError: GwErrorConstructor = GwErrorClass as unknown as GwErrorConstructor;

/**
 * An error body from the local API whose code this build does not know (a newer gwd): only the
 * client makes one, and only in GwError.fromBody. It is shown and serialised as it came.
 */
export class RemoteError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(body: ErrorBody) {
    super(body.message);
    this.name = 'RemoteError';
    this.code = body.code;
    this.statusCode = body.statusCode;
    this.details = body.details;
  }

  toBody(): ErrorBody {
    return bodyOf(this);
  }
}

function bodyOf(err: { statusCode: number; code: string; message: string; details: unknown }): ErrorBody {
  const body: ErrorBody = {
    statusCode: err.statusCode,
    code: err.code,
    error: statusText(err.statusCode),
    message: err.message,
  };
  if (err.details !== undefined) body.details = err.details;
  return body;
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.statusCode === 'number' && typeof v.code === 'string' && typeof v.message === 'string';
}
