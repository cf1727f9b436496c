import { describe, expect, it } from 'vitest';

import {
  disconnectOf,
  isRefusedRedial,
  linkErrorKind,
  redialAtOnce,
  socketErrno,
  type Disconnect,
  type LinkDown,
} from '../../src/core/redundancy/peer-gone.js';

describe('a failed redial', () => {
  // [errno, proof that the process is gone while its host answers]
  const cases: Array<[string | null, boolean]> = [
    ['ECONNREFUSED', true],
    ['ECONNRESET', true],
    ['ETIMEDOUT', false],
    ['EHOSTUNREACH', false],
    ['ENETUNREACH', false],
    ['EHOSTDOWN', false],
    ['EPIPE', false],
    ['EAI_AGAIN', false],
    [null, false],
  ];
  it.each(cases)('%s: gone = %s', (errno, gone) => {
    expect(isRefusedRedial(errno)).toBe(gone);
  });
});

describe('socket errno', () => {
  const cases: Array<[unknown, string | null]> = [
    ['ECONNREFUSED', 'ECONNREFUSED'],
    ['EPIPE', 'EPIPE'],
    ['WS_ERR_INVALID_CLOSE_CODE', null],
    ['ERR_TLS_CERT_ALTNAME_INVALID', null],
    ['econnreset', null],
    ['E', null],
    [undefined, null],
    [104, null],
  ];
  it.each(cases)('%s -> %s', (code, errno) => {
    expect(socketErrno(code)).toBe(errno);
  });
});

describe('an error on an open connection', () => {
  const cases: Array<[unknown, ReturnType<typeof linkErrorKind>]> = [
    ['ECONNRESET', 'lost'],
    ['EPIPE', 'lost'],
    ['ETIMEDOUT', 'lost'],
    ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'tooLarge'],
    ['WS_ERR_INVALID_OPCODE', 'violation'],
    ['WS_ERR_EXPECTED_MASK', 'violation'],
    [undefined, 'violation'],
  ];
  it.each(cases)('%s is %s', (code, kind) => {
    expect(linkErrorKind(code)).toBe(kind);
  });
});

describe('redial at once', () => {
  const cases: Array<[string, boolean, boolean]> = [
    // A close without a goodbye, or for silence, of a running link.
    ['GW_ERR_GAN_CONNECTION_CLOSED', true, true],
    ['GW_ERR_GAN_PEER_SILENT', true, true],
    ['GW_ERR_GAN_PING_TIMEOUT', true, true],
    // An attempt that never ran waits reconnectPeriod, whatever the reason.
    ['GW_ERR_GAN_CONNECTION_CLOSED', false, false],
    ['GW_ERR_GAN_PING_TIMEOUT', false, false],
    // A goodbye, a refusal or a violation: the peer's process answered.
    ['GW_ERR_GAN_PEER_LEFT', true, false],
    ['GW_ERR_GAN_PROTOCOL_VIOLATION', true, false],
    ['GW_ERR_GAN_FRAME_TOO_LARGE', true, false],
    ['GW_ERR_GAN_UNREACHABLE', true, false],
    ['GW_ERR_GAN_HANDSHAKE_TIMEOUT', true, false],
  ];
  it.each(cases)('%s (running %s): %s', (code, wasRunning, atOnce) => {
    expect(redialAtOnce(code, wasRunning)).toBe(atOnce);
  });
});

describe('a link that went down', () => {
  const down = (over: Partial<LinkDown>): LinkDown => ({
    error: { code: 'GW_ERR_GAN_CONNECTION_CLOSED' },
    byeReason: null,
    byeActive: null,
    selfBye: false,
    ...over,
  });
  const peerLeft = { code: 'GW_ERR_GAN_PEER_LEFT' };
  const cases: Array<[string, LinkDown, Disconnect]> = [
    ['closed without a goodbye (process killed)', down({}), { reason: 'closed' }],
    ['missed pings', down({ error: { code: 'GW_ERR_GAN_PING_TIMEOUT' } }), { reason: 'timeout' }],
    ['aborted for silence', down({ error: { code: 'GW_ERR_GAN_PEER_SILENT' } }), { reason: 'timeout' }],
    ['refused by the peer', down({ error: { code: 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL' } }), { reason: 'error' }],
    ['a protocol violation', down({ error: { code: 'GW_ERR_GAN_PROTOCOL_VIOLATION' } }), { reason: 'error' }],
    ['a frame too large', down({ error: { code: 'GW_ERR_GAN_FRAME_TOO_LARGE' } }), { reason: 'error' }],
    ['our own goodbye', down({ selfBye: true, byeReason: 'shutdown', error: peerLeft }), { reason: 'local' }],
    ['our own goodbye, the peer silent', down({ selfBye: true, error: { code: 'GW_ERR_GAN_PING_TIMEOUT' } }), { reason: 'local' }],
    ['the peer stops, standing by', down({ byeReason: 'shutdown', byeActive: false, error: peerLeft }), { reason: 'bye', peerActive: false, peerStopping: true }],
    ['the peer stops, not saying', down({ byeReason: 'shutdown', error: peerLeft }), { reason: 'bye', peerStopping: true }],
    ['the peer leaves Active', down({ byeReason: 'role-changed', byeActive: true, error: peerLeft }), { reason: 'bye', peerActive: true }],
    ['the peer leaves, not saying', down({ byeReason: 'certificate-revoked', error: peerLeft }), { reason: 'bye' }],
    ['replaced by a newer connection', down({ byeReason: 'replaced', byeActive: true, error: peerLeft }), { reason: 'closed' }],
  ];
  it.each(cases)('%s', (_name, d, expected) => {
    expect(disconnectOf(d)).toStrictEqual(expected);
  });
});
