import { describe, expect, it } from 'vitest';

import { sslMismatchHint } from '../../src/core/gan/ssl-mismatch.js';

describe('sslMismatchHint', () => {
  it('plain WebSocket answered by gwd SSL listener: suggests --ssl', () => {
    expect(sslMismatchHint({ ssl: false, code: null, message: null, gwdPort: 'ssl' })).toMatch(/is an SSL port.*--ssl/);
  });

  it("TLS answered in plain text ('wrong version number', or gwd's plain port header): suggests --no-ssl", () => {
    const message = 'write EPROTO 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:';
    expect(sslMismatchHint({ ssl: true, code: 'EPROTO', message, gwdPort: null })).toMatch(/without TLS.*--no-ssl/);
    expect(sslMismatchHint({ ssl: true, code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number', gwdPort: null })).toMatch(/--no-ssl/);
    expect(sslMismatchHint({ ssl: true, code: null, message: null, gwdPort: 'plain' })).toMatch(/--no-ssl/);
  });

  it('says nothing otherwise: a reset, a refusal, the right kind of port, another TLS failure', () => {
    expect(sslMismatchHint({ ssl: false, code: 'ECONNRESET', message: 'socket hang up', gwdPort: null })).toBeNull();
    expect(sslMismatchHint({ ssl: true, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED', gwdPort: null })).toBeNull();
    expect(sslMismatchHint({ ssl: true, code: null, message: null, gwdPort: 'ssl' })).toBeNull();
    expect(sslMismatchHint({ ssl: false, code: null, message: null, gwdPort: 'plain' })).toBeNull();
    expect(sslMismatchHint({ ssl: true, code: 'EPROTO', message: 'unsupported protocol', gwdPort: null })).toBeNull();
  });
});
