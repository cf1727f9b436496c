import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { EventLog } from '../../src/daemon/events/event-log.js';
import { createLogger } from '../../src/daemon/logger.js';
import { RedundancyEngine } from '../../src/daemon/redundancy/engine.js';
import { HookRunner } from '../../src/daemon/redundancy/hook-runner.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import type { RedundancySettings } from '../../src/daemon/settings/node-settings.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/processes.js';

/** The engine's mapping of link events to machine inputs, with a fake link. */
class FakeLink extends EventEmitter {
  sent: Array<{ type: string }> = [];
  aborted: string[] = [];
  send(m: { type: string }): boolean {
    this.sent.push(m);
    return true;
  }
  abort(code: string): void {
    this.aborted.push(code);
  }
  setHelloExtra(): void {}
  active: (() => boolean) | null = null;
  setActiveProvider(provider: () => boolean): void {
    this.active = provider;
  }
}

const temps: Array<() => void> = [];
afterEach(() => temps.splice(0).forEach((c) => c()));

async function backupEngine() {
  const t = makeTempDir('gwd-engine-');
  temps.push(t.cleanup);
  const schemas = new SchemaRegistry();
  const settings = schemas.validate<RedundancySettings>('gwd:settings/redundancy', {
    role: 'Backup',
    joinWaitTime: 0,
    master: { host: '127.0.0.1', port: 1 },
  });
  if (!settings.ok) throw new Error('settings');
  const events = await EventLog.open({ file: null });
  const logger = createLogger('silent', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const engine = await RedundancyEngine.create({
    nodeId: '00000000-0000-4000-8000-00000000000b',
    validateState: () => true,
    varDir: t.dir,
    settings: settings.value,
    events,
    hooks: new HookRunner(),
    logger,
  });
  const link = new FakeLink();
  engine.attachLink(link as never);
  await engine.start();
  const masterUp = () =>
    link.emit('up', {
      uuid: '00000000-0000-4000-8000-00000000000a',
      address: '127.0.0.1:1',
      hello: { state: { role: 'Master', activity: 'Active', epoch: 1, recoveryMode: 'Automatic', reason: 'startup-alone', failoverIds: [] } },
    });
  return { engine, link, events, masterUp };
}

describe('redundancy engine: link events to machine inputs', () => {
  it('a link closed without a bye and a redial reset before the handshake means the master is gone (regression: 1 in 20 kill -9 runs waited reconnectPeriod)', async () => {
    const { engine, link, events, masterUp } = await backupEngine();
    link.emit('connecting', { address: '127.0.0.1:1' });
    masterUp();
    await waitFor('standing by', () => (engine.activity !== 'Active' && engine.view().peer?.connected ? true : undefined), 2000, 5);
    link.emit('down', { error: { code: 'GW_ERR_GAN_CONNECTION_CLOSED' }, byeReason: null, byeActive: null, selfBye: false });
    link.emit('dialFailed', { errno: 'ECONNRESET' });
    // The event follows the epoch's persist (a file write): wait for it, not for the machine's view.
    const takeover = await waitFor('the takeover event', () => events.since(0).find((e) => e.type === 'activity.changed' && e.data.to === 'Active'), 5000, 5);
    expect(takeover.data.reason).toBe('master-gone');
    await engine.stop();
  });

  it('a socket error on a running link is a close, not a bye: no takeover before the redial says so', async () => {
    const { engine, link, masterUp } = await backupEngine();
    link.emit('connecting', { address: '127.0.0.1:1' });
    masterUp();
    await waitFor('standing by', () => (engine.view().peer?.connected ? true : undefined), 2000, 5);
    link.emit('down', { error: { code: 'GW_ERR_GAN_CONNECTION_CLOSED' }, byeReason: null, byeActive: null, selfBye: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.activity).not.toBe('Active');
    await engine.stop();
  });

  it('rule 10: a goodbye from a peer that stood down hands over at once (master-stopped)', async () => {
    const { engine, link, events, masterUp } = await backupEngine();
    link.emit('connecting', { address: '127.0.0.1:1' });
    masterUp();
    await waitFor('standing by', () => (engine.view().peer?.connected ? true : undefined), 2000, 5);
    link.emit('down', { error: { code: 'GW_ERR_GAN_PEER_LEFT' }, byeReason: 'shutdown', byeActive: false, selfBye: false });
    const takeover = await waitFor('the takeover event', () => events.since(0).find((e) => e.type === 'activity.changed' && e.data.to === 'Active'), 5000, 5);
    expect(takeover.data.reason).toBe('master-stopped');
    await engine.stop();
  });

  it('rule 10: a peer that leaves while Active stays the Active node: no takeover, peer.lost how=left-active, hold peer-left-active', async () => {
    const { engine, link, events, masterUp } = await backupEngine();
    link.emit('connecting', { address: '127.0.0.1:1' });
    masterUp();
    await waitFor('standing by', () => (engine.view().peer?.connected ? true : undefined), 2000, 5);
    link.emit('down', { error: { code: 'GW_ERR_GAN_PEER_LEFT' }, byeReason: 'role-changed', byeActive: true, selfBye: false });
    const lost = await waitFor('peer.lost', () => events.since(0).find((e) => e.type === 'peer.lost' && e.data.how !== 'never'), 2000, 5);
    expect(lost.data).toMatchObject({ how: 'left-active', uuid: '00000000-0000-4000-8000-00000000000a' });
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.activity).not.toBe('Active');
    expect(engine.view().hold).toBe('peer-left-active');
    await engine.stop();
  });

  it("rule 10: this node's own goodbye is no evidence about its peer (was: read as the master stopping, and the backup took over)", async () => {
    const { engine, link, events, masterUp } = await backupEngine();
    link.emit('connecting', { address: '127.0.0.1:1' });
    masterUp();
    await waitFor('standing by', () => (engine.view().peer?.connected ? true : undefined), 2000, 5);
    // What LinkConnection reports after this node said bye: its own PEER_LEFT, no bye from the peer.
    link.emit('down', { error: { code: 'GW_ERR_GAN_PEER_LEFT' }, byeReason: null, byeActive: null, selfBye: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.activity).not.toBe('Active');
    expect(events.since(0).filter((e) => e.type === 'activity.changed')).toEqual([]);
    await engine.stop();
  });

  it("the goodbye carries this node's activity as the machine has it", async () => {
    const { engine, link } = await backupEngine();
    expect(link.active?.()).toBe(false);
    await engine.stop();
  });
});
