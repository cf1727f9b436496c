import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { readStoreState, storeStateChunks, writeStoreState, type StoreState } from '../../src/daemon/config/store-state.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function stateOf(resources: number, syncedRevision?: number): StoreState {
  const index: StoreState['index'] = {};
  for (let i = 0; i < resources; i++) {
    index[`core/opc-connection/plc-${i}`] = { primary: i.toString(16).padStart(64, 'a'), backup: i % 3 === 0 ? null : 'b'.repeat(64), enabled: i % 7 !== 0 };
  }
  // Keys that JSON must escape, and one that looks like an array index (ordered first by JS).
  index['local/gateway-settings'] = { primary: 'c'.repeat(64), backup: null, enabled: true };
  index['core/opc-connection/"quoted"\\'] = { primary: 'd'.repeat(64), backup: null, enabled: true };
  index['7'] = { primary: 'e'.repeat(64), backup: null, enabled: false };
  return syncedRevision === undefined ? { version: 1, revision: 42, index } : { version: 1, revision: 42, syncedRevision, index };
}

describe('the config state file, written in pieces', () => {
  it('is JSON.stringify of the state and a newline, for any size (in several pieces past 500 entries)', () => {
    for (const state of [stateOf(0), stateOf(1, 3), stateOf(499, 5), stateOf(4500, 9), stateOf(4500)]) {
      const pieces = [...storeStateChunks(state)];
      expect(pieces.join('')).toBe(`${JSON.stringify(state)}\n`);
      expect(pieces.length).toBe(Math.floor(Object.keys(state.index).length / 500) + 1);
    }
  });

  it('reads back as written', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const file = path.join(temp.dir, 'config-state.json');
    const state = stateOf(4500, 9);
    await writeStoreState(file, state);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(state)}\n`);
    expect(await readStoreState(file)).toEqual(state);
  });
});
