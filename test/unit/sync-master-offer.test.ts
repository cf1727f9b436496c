import { describe, expect, it } from 'vitest';

import { offerFor } from '../../src/core/sync/master-offer.js';

const SELF = '11111111-1111-1111-1111-111111111111';
const OTHER = '22222222-2222-2222-2222-222222222222';

describe("the master's answer to a sync request", () => {
  const master = { nodeId: SELF, revision: 50, journalFirst: 20 };

  it('a catch-up from the journal when the backup holds this master and the journal reaches back to it', () => {
    expect(offerFor({ holder: SELF, revision: 19, full: false }, master)).toBe('incremental');
    expect(offerFor({ holder: SELF, revision: 40, full: false }, master)).toBe('incremental');
    // Up to date: an empty catch-up (the backup learns it is in sync).
    expect(offerFor({ holder: SELF, revision: 50, full: false }, master)).toBe('incremental');
    expect(offerFor({ holder: SELF, revision: 50, full: false }, { ...master, journalFirst: null })).toBe('incremental');
  });

  it('a full snapshot when asked, for another holder or none, a backup ahead of the master, or behind the journal tail', () => {
    expect(offerFor({ holder: SELF, revision: 40, full: true }, master)).toBe('full');
    expect(offerFor({ holder: OTHER, revision: 40, full: false }, master)).toBe('full');
    expect(offerFor({ holder: null, revision: 0, full: false }, master)).toBe('full');
    expect(offerFor({ holder: SELF, revision: 51, full: false }, master)).toBe('full');
    expect(offerFor({ holder: SELF, revision: 18, full: false }, master)).toBe('full');
    expect(offerFor({ holder: SELF, revision: 40, full: false }, { ...master, journalFirst: null })).toBe('full');
  });
});
