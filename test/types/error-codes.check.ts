/**
 * What the compiler must refuse in coded errors (issue 18). Compiled by test/unit/error-types.test.ts:
 * each `@ts-expect-error` must meet an error, or tsc fails on the unused directive, so the test
 * fails as soon as the typing of codes or params weakens. The lines without one must compile.
 */
import { GwError, type ErrorSpec, type ParamsOf } from '../../src/core/errors.js';

// Right: every placeholder of the message, values that print.
new GwError('GW_ERR_API_NOT_FOUND', { method: 'GET', path: '/v0/status' });
new GwError('GW_ERR_GAN_PING_TIMEOUT', { missed: 3, peer: 'b (10.0.0.2)', timeout: 500 });
new GwError('GW_ERR_CONFIG_INVALID', { resource: 'opc-connection/plc1', version: 'shared', detail: 'x' }, { problems: [] });
// A message without placeholders takes no params.
new GwError('GW_ERR_API_SHUTTING_DOWN');
new GwError('GW_ERR_API_SHUTTING_DOWN', {});
GwError.from({ code: 'GW_ERR_REDUNDANCY_NO_PEER', params: { activity: 'Active' } });
export const params: ParamsOf<'GW_ERR_GAN_UNREACHABLE'> = { address: '10.0.0.1:8060', detail: 'ECONNREFUSED' };

// @ts-expect-error a misspelt code
new GwError('GW_ERR_API_NOT_FUOND', { method: 'GET', path: '/' });

// @ts-expect-error a code that is not in the catalogue at all
new GwError('ENOENT');

// @ts-expect-error a missing placeholder ({path})
new GwError('GW_ERR_API_NOT_FOUND', { method: 'GET' });

// @ts-expect-error a misspelt placeholder ({path} given as {pth})
new GwError('GW_ERR_API_NOT_FOUND', { method: 'GET', pth: '/' });

// @ts-expect-error a param the message does not name
new GwError('GW_ERR_API_NOT_FOUND', { method: 'GET', path: '/', verb: 'GET' });

// @ts-expect-error no params for a message with placeholders
new GwError('GW_ERR_API_NOT_FOUND');

// @ts-expect-error null would leave {detail} in the message
new GwError('GW_ERR_DAEMON_INTERNAL', { detail: null });

// @ts-expect-error undefined, the same
new GwError('GW_ERR_DAEMON_INTERNAL', { detail: undefined });

// @ts-expect-error a param for a message without placeholders
new GwError('GW_ERR_API_SHUTTING_DOWN', { detail: 'x' });

// @ts-expect-error a machine's spec is checked against its code's message
export const wrongSpec: ErrorSpec = { code: 'GW_ERR_REDUNDANCY_NO_PEER', params: { to: 'peer' } };

// @ts-expect-error a spec with a misspelt code
export const typoSpec: ErrorSpec = { code: 'GW_ERR_REDUNDANCY_NO_PER', params: { activity: 'Active' } };

export function branch(err: unknown): boolean {
  if (!(err instanceof GwError)) return false;
  // @ts-expect-error a caught GwError's code is the catalogue's union: a misspelt comparison fails
  return err.code === 'GW_ERR_CLI_WAIT_TIMOUT';
}
