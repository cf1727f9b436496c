import { randomUUID } from 'node:crypto';

import WebSocket, { WebSocketServer } from 'ws';

import { encodeBinaryFrame, GAN_PATH, MAX_FRAME_BYTES } from '../../src/core/gan/protocol.js';
import { PROTOCOL_VERSION, PRODUCT_VERSION } from '../../src/core/version.js';
import type { Prng } from './prng.js';

export interface FuzzFrame {
  kind: string;
  data: string | Buffer;
  binary: boolean;
}

const REDUNDANCY_TYPES = [
  'redundancy.state', 'redundancy.stateQuery', 'redundancy.standDownRequest', 'redundancy.standDownConfirm',
  'redundancy.standDownReject', 'redundancy.standDownCancel', 'redundancy.failoverRequest', 'redundancy.failoverReject',
  'redundancy.steppingDown',
];

/** Well-formed redundancy messages: what a peer that speaks the protocol could send. */
export function validRedundancyMessage(rng: Prng): Record<string, unknown> {
  const id = `f-${rng.int(1e9)}`;
  const epoch = rng.pick([0, 1, 2, 1000, 2 ** 31, Number.MAX_SAFE_INTEGER]);
  switch (rng.int(10)) {
    case 0: return { type: 'redundancy.state', ...stateReport(rng), replyTo: rng.next() < 0.5 ? null : id };
    case 1: return { type: 'redundancy.stateQuery', id };
    case 2: return { type: 'redundancy.standDownRequest', id, reason: 'operator', epoch, operator: rng.next() < 0.5, failoverIds: [id] };
    case 3: return { type: 'redundancy.standDownConfirm', id, epoch, activity: rng.pick(['Warm', 'Cold']) };
    case 4: return { type: 'redundancy.standDownReject', id, reason: rng.pick(['contended', 'stopping', 'not-redundant']) };
    case 5: return { type: 'redundancy.standDownCancel', id };
    case 6: return { type: 'redundancy.failoverRequest', id };
    case 7: return { type: 'redundancy.failoverReject', id, reason: rng.pick(['already-active', 'vetoed', 'aborted', 'stopping', 'not-redundant']) };
    default: return { type: 'redundancy.steppingDown', epoch };
  }
}

const hex64 = (rng: Prng): string => rng.bytes(32).toString('hex');

/** A journal entry that passes the sync schema, for a resource no daemon under test has; its signature is random. */
function journalEntry(rng: Prng, revision: number): Record<string, unknown> {
  const name = `fz${rng.int(1000)}`;
  const deleted = rng.next() < 0.3;
  const meta = { uuid: `u-${rng.int(1e6)}`, enabled: true, lastModification: { actor: 'fuzz', timestamp: 't' }, signature: hex64(rng), backupSignature: null };
  return {
    revision, op: deleted ? 'delete' : rng.pick(['create', 'update']), collection: 'core', address: `opc-connection/${name}`, module: 'opcua',
    type: 'opc-connection', name, version: rng.pick(['primary', 'backup']), content: deleted ? null : { endpointUrl: 'opc.tcp://10.66.0.1:4840' },
    signature: deleted ? null : hex64(rng), deleted, meta: deleted && rng.next() < 0.5 ? null : meta, actor: 'fuzz', timestamp: '1970-01-01T00:00:00.000Z',
  };
}

/**
 * Well-formed sync messages of both sides: what a backup sends (request, ack) and what a master
 * sends (begin, entries, whole and streamed snapshots). Hashes and signatures are random, so a snapshot or an entry
 * that reaches a backup is refused for its content, never applied.
 */
export function validSyncMessage(rng: Prng): Record<string, unknown> {
  const revision = rng.pick([0, 1, 2, 7, 1000, Number.MAX_SAFE_INTEGER]);
  const id = rng.next() < 0.5 ? `fz-${rng.int(1e6)}` : rng.pick(['a', '0-0', 'x'.repeat(64)]);
  const files = (): Array<Record<string, unknown>> =>
    Array.from({ length: rng.int(3) }, (_, i) => ({ path: rng.pick([`opcua/opc-connection/fz${i}/config.json`, '../x', '/etc/passwd', 'a//b']), size: rng.int(100), sha256: hex64(rng) }));
  switch (rng.int(10)) {
    case 0: return { type: 'sync.request', holder: rng.next() < 0.5 ? null : rng.pick(['0', 'abc-def', '00000000-0000-0000-0000-000000000000']), revision, full: rng.next() < 0.5 };
    case 1: return { type: 'sync.ack', revision };
    case 2: return { type: 'sync.begin', op: rng.int(100), kind: rng.pick(['full', 'incremental']), revision };
    case 3: {
      const from = rng.pick([0, 1, 5, 1000]);
      const entries = Array.from({ length: rng.int(3) }, (_, i) => journalEntry(rng, from + 1 + i));
      return { type: 'sync.entries', from, upTo: from + entries.length + rng.int(2), latest: from + entries.length + rng.int(3), entries };
    }
    case 4:
    case 5:
    case 6: return { type: 'sync.snapshotStream', op: rng.int(100), id, revision };
    case 7: return { type: 'sync.snapshotFiles', id, files: files() };
    case 8: return { type: 'sync.snapshotAbort', id, reason: rng.pick(['EIO', '', 'é'.repeat(100)]) };
    default: return { type: 'sync.snapshotEnd', id, totals: { files: rng.int(3), totalBytes: rng.int(300), totalSha256: hex64(rng) } };
  }
}

export function stateReport(rng: Prng | null): Record<string, unknown> {
  return {
    role: rng ? rng.pick(['Backup', 'Master', 'Independent']) : 'Backup',
    activity: rng ? rng.pick(['Active', 'Warm', 'Cold']) : 'Cold',
    epoch: rng ? rng.int(5) : 0,
    recoveryMode: 'Automatic',
    reason: 'startup',
    failoverIds: [],
  };
}

export function hello(uuid: string, systemName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'hello', protocol: PROTOCOL_VERSION, uuid, systemName, edition: 'standard', role: 'Backup', version: PRODUCT_VERSION, ...extra };
}

/** Replace one field of a message with a random JSON value, or add a stray one. */
function mangle(rng: Prng, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...msg };
  const keys = Object.keys(out).filter((k) => k !== 'type');
  const what = rng.int(4);
  if (what === 0 && keys.length > 0) out[rng.pick(keys)] = rng.json(2);
  else if (what === 1 && keys.length > 0) delete out[rng.pick(keys)];
  else if (what === 2) out[rng.pick(['extra', '__proto__', 'constructor', 'content', 'x'])] = rng.json(2);
  else out[keys.length > 0 ? rng.pick(keys) : 'id'] = rng.pick([null, -1, 1.5, '', 'x'.repeat(300), [], {}, true, 2 ** 64]);
  return out;
}

/**
 * mangle(), at the top level or inside one nested object of the message (a sync message carries
 * its fields in a manifest, a chunk, parts or entries).
 */
function mangleDeep(rng: Prng, msg: Record<string, unknown>): Record<string, unknown> {
  const nested: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => (x && typeof x === 'object' ? (nested.push([v, i]), walk(x)) : undefined));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (x && typeof x === 'object') (nested.push([v as Record<string, unknown>, k]), walk(x));
  };
  const out = structuredClone(msg);
  walk(out);
  if (nested.length === 0 || rng.next() < 0.4) return mangle(rng, out);
  const [parent, key] = rng.pick(nested);
  const target = (parent as Record<string | number, unknown>)[key];
  (parent as Record<string | number, unknown>)[key] = Array.isArray(target) ? rng.pick([[], [null], target.concat(target), rng.json(1)]) : mangle(rng, target as Record<string, unknown>);
  return out;
}

/**
 * A snapshot chunk in a binary frame: well-formed (a header saying where its payload begins), or
 * with its header mangled, a position no snapshot is at, or a header length that does not fit the
 * frame.
 */
function binarySyncChunk(rng: Prng, valid: boolean): FuzzFrame {
  const id = `fz-${rng.int(1e6)}`;
  const payload = rng.bytes(rng.int(40));
  const header = { type: 'sync.snapshotChunk', chunk: { id, seq: rng.int(3), file: rng.int(3), offset: rng.int(2) * 10 } };
  if (valid) return { kind: 'sync-valid-binary', data: encodeBinaryFrame(header, [payload]), binary: true };
  const what = rng.int(4);
  if (what === 0) return { kind: 'sync-bad-fields-binary', data: encodeBinaryFrame(mangleDeep(rng, header) as { type: string }, [payload]), binary: true };
  if (what === 1) {
    header.chunk.file = rng.pick([1e6, 2 ** 31, Number.MAX_SAFE_INTEGER]);
    return { kind: 'sync-bad-position-binary', data: encodeBinaryFrame(header, [payload]), binary: true };
  }
  const frame = encodeBinaryFrame(header, [payload]);
  frame.writeUInt32BE(rng.pick([frame.length, 0xffffffff, 2 * 1024 * 1024, 0]), 0);
  return { kind: 'sync-bad-header-length-binary', data: frame, binary: true };
}

/**
 * A sync.* frame: well-formed, or with a field replaced, removed or added (at any depth); one in
 * five is a snapshot chunk in a binary frame.
 */
export function syncFuzzFrame(rng: Prng, validShare = 0.5): FuzzFrame {
  if (rng.int(5) === 0) return binarySyncChunk(rng, rng.next() < validShare);
  return rng.next() < validShare
    ? { kind: 'sync-valid', data: JSON.stringify(validSyncMessage(rng)), binary: false }
    : { kind: 'sync-bad-fields', data: JSON.stringify(mangleDeep(rng, validSyncMessage(rng))), binary: false };
}

/** One fuzzed frame; `oversize` frames are rare (they cost 8 MiB each). */
export function fuzzFrame(rng: Prng): FuzzFrame {
  const r = rng.int(100);
  if (r < 10) return { kind: 'random-bytes-text', data: rng.bytes(1 + rng.int(300)), binary: false };
  if (r < 18) return { kind: 'binary', data: rng.bytes(rng.int(300)), binary: true };
  if (r < 28) {
    const text = JSON.stringify(rng.pick([validRedundancyMessage, validSyncMessage, () => hello(randomUUID(), 'x')])(rng));
    return { kind: 'truncated-json', data: text.slice(0, rng.int(text.length)), binary: false };
  }
  if (r < 38) return { kind: 'wrong-types', data: JSON.stringify(rng.next() < 0.5 ? rng.json(3) : { type: rng.json(1), id: rng.json(1) }), binary: false };
  if (r < 46) {
    const type = rng.pick(['sync.snapshot', 'config.get', 'redundancy.unknown', 'Hello', 'x', 'a'.repeat(64), 'admin.exec', 'hello2']);
    return { kind: 'unknown-type', data: JSON.stringify({ type, id: 1, resource: 'opc-connection/plc1' }), binary: false };
  }
  if (r < 56) return { kind: 'redundancy-bad-fields', data: JSON.stringify(mangle(rng, validRedundancyMessage(rng))), binary: false };
  if (r < 66) return syncFuzzFrame(rng, 0);
  if (r < 72) return { kind: 'redundancy-valid', data: JSON.stringify(validRedundancyMessage(rng)), binary: false };
  if (r < 78) return syncFuzzFrame(rng, 1);
  if (r < 90) {
    const link = rng.pick([
      hello(randomUUID(), 'second', { state: stateReport(rng) }),
      { type: 'ping', id: rng.json(0) },
      { type: 'pong', id: rng.int(100) },
      { type: 'refused', code: rng.pick(['GW_ERR_X', 'nope', 'GW_ERR_GAN_PEER_LEFT']), message: 'm' },
      { type: 'bye', reason: rng.pick(['shutdown', 'x'.repeat(500), 1]) },
      { type: 'ping', id: rng.int(1000) },
    ]);
    return { kind: 'link-message', data: JSON.stringify(rng.next() < 0.5 ? link : mangle(rng, link as Record<string, unknown>)), binary: false };
  }
  if (r < 99) return { kind: 'deep-or-long-json', data: rng.next() < 0.5 ? `${'['.repeat(5000)}${']'.repeat(5000)}` : JSON.stringify({ type: 'redundancy.state', reason: 'é'.repeat(20000) }), binary: false };
  if (rng.int(5) === 0) return { kind: 'oversize', data: Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20), binary: false };
  return { kind: 'near-limit', data: JSON.stringify({ type: 'redundancy.stateQuery', id: 'x'.repeat(MAX_FRAME_BYTES - 100) }), binary: false };
}

export interface SessionResult {
  /** Every frame the daemon sent, as received (a binary one as `<binary N>`). */
  received: string[];
  /** Every binary frame the daemon sent. */
  binary: Buffer[];
  closeCode: number | null;
  closeReason: string;
  /** The daemon answered the final probe ping: the connection was still Running. */
  alive: boolean;
  /** The daemon sent its hello (the handshake completed). */
  admitted: boolean;
}

const PROBE_ID = 987654321;

/**
 * One raw peer connection: optionally a hello (waiting for the daemon's, or its refusal), then the
 * frames, then a probe ping. Ends when the daemon answers the probe or closes the connection.
 */
export function peerSession(
  url: string,
  opts: {
    tls?: { key: string; cert: string };
    hello?: Record<string, unknown>;
    frames: FuzzFrame[];
    timeoutMs?: number;
    /** Keep the session open after the probe's pong until a frame starting with this arrives. */
    until?: string;
  },
): Promise<SessionResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...(opts.tls ?? {}), rejectUnauthorized: false, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const result: SessionResult = { received: [], binary: [], closeCode: null, closeReason: '', alive: false, admitted: false };
    let sent = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms from ${url}; got ${JSON.stringify(result).slice(0, 500)}`));
    }, opts.timeoutMs ?? 10_000);
    const sendAll = (): void => {
      if (sent) return;
      sent = true;
      for (const f of opts.frames) if (ws.readyState === ws.OPEN) ws.send(f.data, { binary: f.binary });
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'ping', id: PROBE_ID }));
    };
    ws.on('open', () => {
      if (opts.hello) ws.send(JSON.stringify(opts.hello));
      else sendAll();
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${String((data as Buffer).length)}>` : (data as Buffer).toString('utf8');
      result.received.push(text);
      if (isBinary) result.binary.push(data as Buffer);
      let msg: { type?: string; id?: number } = {};
      try {
        msg = JSON.parse(text) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        result.admitted = true;
        sendAll();
      } else if (msg.type === 'pong' && msg.id === PROBE_ID) {
        result.alive = true;
      }
      if (result.alive && (opts.until === undefined || result.received.some((t) => t.startsWith(opts.until!)))) ws.close(1000, 'done');
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (!result.alive) {
        result.closeCode = code;
        result.closeReason = reason.toString('utf8');
      }
      resolve(result);
    });
  });
}

export function ganUrl(port: number, ssl: boolean): string {
  return `${ssl ? 'wss' : 'ws'}://127.0.0.1:${port}${GAN_PATH}`;
}

interface FakeConnection {
  ws: WebSocket;
  messages: string[];
  onMessage: ((text: string) => void) | null;
  closed: { code: number; reason: string } | null;
  onClose: (() => void) | null;
}

/**
 * A fake master on loopback, for fuzzing what a backup receives: the backup under test dials it
 * (and redials after each session). A session takes the next connection, answers the backup's
 * hello with a master's, sends the frames and a probe ping, and ends like peerSession: when the
 * backup answers the probe (the fake master then closes) or closes the connection itself.
 */
export class FakeMaster {
  readonly uuid = randomUUID();
  private readonly pending: FakeConnection[] = [];
  private waiter: ((c: FakeConnection) => void) | null = null;

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (ws) => {
      const c: FakeConnection = { ws, messages: [], onMessage: null, closed: null, onClose: null };
      // The backup says hello as soon as it is connected: keep what comes before a session takes it.
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? `<binary ${String((data as Buffer).length)}>` : (data as Buffer).toString('utf8');
        c.messages.push(text);
        c.onMessage?.(text);
      });
      ws.on('close', (code, reason) => {
        c.closed = { code, reason: reason.toString('utf8') };
        c.onClose?.();
      });
      ws.on('error', () => undefined);
      if (this.waiter) this.waiter(c);
      else this.pending.push(c);
    });
  }

  static async start(): Promise<FakeMaster> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: GAN_PATH, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new FakeMaster(wss);
  }

  get port(): number {
    return (this.wss.address() as { port: number }).port;
  }

  hello(): Record<string, unknown> {
    return hello(this.uuid, 'fake-master', { role: 'Master', state: { ...stateReport(null), role: 'Master', activity: 'Active', epoch: 1 } });
  }

  private next(timeoutMs: number): Promise<FakeConnection> {
    const ready = this.pending.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`the backup did not connect within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (c) => {
        clearTimeout(timer);
        this.waiter = null;
        resolve(c);
      };
    });
  }

  /** `admitted`: the backup said hello (it dials, so it speaks first). */
  async session(frames: FuzzFrame[], timeoutMs = 10_000): Promise<SessionResult> {
    const c = await this.next(timeoutMs);
    return new Promise((resolve, reject) => {
      const result: SessionResult = { received: [], binary: [], closeCode: null, closeReason: '', alive: false, admitted: false };
      const finish = (): void => {
        clearTimeout(timer);
        if (!result.alive && c.closed) {
          result.closeCode = c.closed.code;
          result.closeReason = c.closed.reason;
        }
        resolve(result);
      };
      const timer = setTimeout(() => {
        c.ws.terminate();
        reject(new Error(`no answer within ${timeoutMs} ms from the backup; got ${JSON.stringify(result).slice(0, 500)}`));
      }, timeoutMs);
      const onText = (text: string): void => {
        result.received.push(text);
        let msg: { type?: string; id?: number } = {};
        try {
          msg = JSON.parse(text) as typeof msg;
        } catch {
          return;
        }
        if (msg.type === 'hello' && !result.admitted) {
          result.admitted = true;
          const send = (data: string | Buffer, binary: boolean): void => {
            if (c.ws.readyState === c.ws.OPEN) c.ws.send(data, { binary });
          };
          send(JSON.stringify(this.hello()), false);
          for (const f of frames) send(f.data, f.binary);
          send(JSON.stringify({ type: 'ping', id: PROBE_ID }), false);
        } else if (msg.type === 'pong' && msg.id === PROBE_ID) {
          result.alive = true;
          c.ws.close(1000, 'done');
        }
      };
      c.onClose = finish;
      c.onMessage = onText;
      for (const text of c.messages.splice(0)) onText(text);
      if (c.closed) finish();
    });
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
