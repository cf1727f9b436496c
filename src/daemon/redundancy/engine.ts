import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { promises as fsp } from 'node:fs';

import { GwError } from '../../core/errors.js';
import {
  disconnectOf,
  isRefusedRedial,
  RedundancyMachine,
  type Decision,
  type MachineInput,
  type MachineSettings,
  type MachineView,
  type PersistedRedundancy,
  type RedundancyMessage,
  type StateReport,
  type Step,
} from '../../core/redundancy/index.js';
import type { Activity } from '../../core/wire.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';
import type { HookResult, HookRunner } from './hook-runner.js';
import { WitnessService } from './witness-service.js';
import type { WitnessSettings } from '../../core/settings/types.js';

/** What the engine needs of the Gateway Network link (the PeerLink of src/daemon/gan fits it). */
export interface RedundancyLinkPort {
  on(event: 'connecting', listener: () => void): unknown;
  on(event: 'up', listener: (peer: { uuid: string; address: string; hello: Record<string, unknown> }) => void): unknown;
  on(
    event: 'down',
    listener: (down: { error: { code: string }; byeReason: string | null; byeActive: boolean | null; selfBye: boolean }) => void,
  ): unknown;
  on(event: 'message', listener: (message: { type: string }) => void): unknown;
  on(event: 'alive', listener: () => void): unknown;
  on(event: 'acked', listener: (sentAt: number) => void): unknown;
  on(event: 'dialFailed', listener: (failure: { errno: string | null }) => void): unknown;
  send(message: { type: string }): boolean;
  abort(error: GwError): void;
  setHelloExtra(provider: () => Record<string, unknown>): void;
  setActiveProvider(provider: () => boolean): void;
}

export const REDUNDANCY_STATE_FILE = 'redundancy-state.json';

export interface EngineOptions {
  nodeId: string;
  /** This run of the process, in failover ids (default: random, new at every start). */
  bootId?: string;
  /** Validates the peer's hello state report (the link validates only its own hello fields). */
  validateState: (state: unknown) => boolean;
  varDir: string;
  settings: MachineSettings;
  events: EventLog;
  hooks: HookRunner;
  logger: Logger;
}

/**
 * The I/O shell around the pure RedundancyMachine: feeds it inputs with a monotonic clock, applies
 * its decisions in order (persisting the epoch before the activation it guards), runs hooks, keeps
 * the one timer, and maps link events to machine inputs. Inputs are processed one at a time so
 * decisions are applied in the order the machine made them.
 */
export class RedundancyEngine {
  readonly machine: RedundancyMachine;
  private timer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  private link: RedundancyLinkPort | null = null;
  private stopped = false;
  private readonly stateFile: string;
  private settings: MachineSettings;
  private published: MachineView | null = null;
  /** A peerAlive is queued and not yet stepped. */
  private alivePending = false;
  /** Section 9: the witness client, while one is configured. */
  private witness: WitnessService | null = null;

  private constructor(
    private readonly options: EngineOptions,
    persisted: PersistedRedundancy | null,
  ) {
    this.stateFile = path.join(options.varDir, REDUNDANCY_STATE_FILE);
    this.settings = options.settings;
    // A random token per run: with the persisted epoch, failover ids never repeat across restarts.
    const bootId = options.bootId ?? randomBytes(3).toString('hex');
    this.machine = new RedundancyMachine({ nodeId: options.nodeId, bootId, settings: options.settings, persisted });
    this.syncWitness(options.settings);
  }

  /** The witness client follows the settings: made, replaced (the old lease revoked) or dropped. */
  private syncWitness(settings: MachineSettings): void {
    // The daemon passes redundancy.json's settings, whose witness is the whole WitnessSettings.
    const next = ((settings as { witness?: WitnessSettings | null }).witness ?? null);
    const current = this.witness;
    if (current !== null && next !== null && JSON.stringify(current.settings) === JSON.stringify(next)) return;
    this.witness = null;
    if (current !== null) void current.close();
    if (next === null) return;
    this.witness = new WitnessService(
      next,
      this.options.nodeId,
      (id, result) => void this.feed({ type: 'witnessResult', now: 0, id, result }),
      this.options.logger,
    );
  }

  /** Section 9: the witness as the hello shows it to the peer (same prefix on the same cluster). */
  witnessHello(): { prefix: string; clusterId: string | null } | null {
    const w = this.witness;
    return w === null ? null : { prefix: w.settings.prefix, clusterId: w.clusterId };
  }

  static async create(options: EngineOptions): Promise<RedundancyEngine> {
    const file = path.join(options.varDir, REDUNDANCY_STATE_FILE);
    let persisted: PersistedRedundancy | null = null;
    try {
      const raw = JSON.parse(await fsp.readFile(file, 'utf8')) as PersistedRedundancy;
      if (Number.isSafeInteger(raw.epoch) && raw.epoch >= 0) {
        const activated = Number.isSafeInteger(raw.activatedEpoch) && (raw.activatedEpoch ?? -1) >= 0 ? raw.activatedEpoch : undefined;
        persisted = { epoch: raw.epoch, pairedMaster: raw.pairedMaster ?? null, ...(activated === undefined ? {} : { activatedEpoch: activated }) };
      }
      else options.logger.warn({ file }, 'redundancy state file has no valid epoch; starting from 0');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // A damaged file must not stop the node; the epoch restarts from what the peer reports.
        options.logger.warn({ file, err: (err as Error).message }, 'redundancy state file unreadable; starting from epoch 0');
      }
    }
    return new RedundancyEngine(options, persisted);
  }

  /** The wall-clock ISO time of the last activity change. */
  sinceIso(fallback: Date): string {
    const since = this.view().since;
    if (since === null) return fallback.toISOString();
    return this.isoOf(since);
  }

  /** A time on the machine's (monotonic) clock as wall-clock ISO time, for status. */
  isoOf(machineTime: number): string {
    return new Date(Date.now() - (performance.now() - machineTime)).toISOString();
  }

  /**
   * What status, /health and gwinfo show: the machine's view as of the last step whose decisions
   * were all applied. An activation becomes visible only after its epoch is persisted and its
   * events are out, never in between.
   */
  view(): MachineView {
    return this.published ?? this.machine.view();
  }

  get activity(): Activity {
    return this.view().activity;
  }

  /** Connect the link's events to machine inputs. Call before start(). */
  attachLink(link: RedundancyLinkPort): void {
    this.link = link;
    link.setHelloExtra(() => ({ state: this.machine.report(), witness: this.witnessHello() }));
    link.on('connecting', () => this.feed({ type: 'linkConnecting', now: 0 }));
    link.on('up', (peer) => {
      const state = peer.hello.state as StateReport | undefined;
      if (!state || !this.options.validateState(state)) {
        // Such a peer is never counted as present: it cannot make this node stand down.
        this.options.logger.warn({ peer: peer.uuid }, 'peer hello carries no valid redundancy state; ignoring the peer');
        return;
      }
      this.feed({ type: 'peerConnected', now: 0, peer: { uuid: peer.uuid, address: peer.address, state } });
    });
    // Every frame, whatever its type, also arrives as 'alive': that is the proof of life.
    link.on('message', (message) => {
      if (message.type.startsWith('redundancy.')) this.feed({ type: 'peerMessage', now: 0, message: message as RedundancyMessage });
    });
    link.on('alive', () => {
      // One queued proof of life is enough: the step stamps the clock when it runs, after every
      // frame that arrived meanwhile (a burst of sync frames queued one full step each).
      if (this.alivePending) return;
      this.alivePending = true;
      this.feed({ type: 'peerAlive', now: 0 });
    });
    // Section 9: the peer's vote rests on proof that it hears us (a pong), on the engine's clock.
    link.on('acked', (sentAt) => this.feed({ type: 'peerAck', now: 0, sentAt }));
    // The goodbyes of this node's connections say whether it is Active as it leaves (rule 10): the
    // machine's own state, current even between a settings step and the close that follows it.
    link.setActiveProvider(() => this.machine.view().activity === 'Active');
    link.on('down', (down) => this.feed({ type: 'peerDisconnected', now: 0, ...disconnectOf(down) }));
    link.on('dialFailed', ({ errno }) => {
      if (isRefusedRedial(errno)) this.feed({ type: 'redialRefused', now: 0 });
    });
  }

  start(): Promise<void> {
    return this.feed({ type: 'started', now: 0 });
  }

  async settingsChanged(settings: MachineSettings): Promise<void> {
    this.settings = settings;
    this.syncWitness(settings);
    await this.feed({ type: 'settingsChanged', now: 0, settings });
    // Section 9: an Active node that now has a witness asks for the key in that step. The link is
    // closed next (the peer must check the new witness in a hello): without the key by then, the
    // node would have neither vote and stand down. Wait for etcd's answer (bounded by its request
    // timeout) and for the step that takes it in.
    if (this.witness !== null && this.machine.view().activity === 'Active') {
      await this.witness.idle();
      await this.queue;
    }
  }

  /** Rule 12: the pair's pause began or ended (the pause service owns the record and its expiry). */
  setPaused(paused: boolean): Promise<void> {
    return this.feed({ type: 'pauseChanged', now: 0, paused });
  }

  /** `gwctl redundancy failover`: resolves with the failover id, or rejects with the coded refusal. */
  requestFailover(force: boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      void this.enqueue(async () => {
        const step = await this.step({ type: 'failoverRequested', now: 0, force });
        if (step.error) reject(GwError.from(step.error));
        else resolve(step.failoverId ?? '');
      });
    });
  }

  /** Stand down and tell the peer, before the link closes (SIGTERM). */
  async stop(): Promise<void> {
    await this.feed({ type: 'stopRequested', now: 0 });
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // The key was released in that step, before the goodbye; this ends the client (and its lease).
    await this.witness?.close();
  }

  private feed(input: MachineInput): Promise<void> {
    return this.enqueue(async () => {
      if (!this.stopped) await this.step(input);
    });
  }

  /** One input, stamped with the clock: decide, apply in order, publish the view, re-arm the timer. */
  private async step(input: MachineInput): Promise<Step> {
    if (input.type === 'peerAlive') this.alivePending = false;
    const step = this.machine.handle({ ...input, now: performance.now() });
    await this.apply(step.decisions);
    this.published = this.machine.view();
    this.arm(step.nextDeadline);
    return step;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch((err: unknown) => {
      this.options.logger.error({ err }, 'redundancy engine step failed');
    });
    this.queue = next;
    return next;
  }

  private arm(deadline: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (deadline === null || this.stopped) return;
    const delay = Math.max(0, deadline - performance.now());
    // The tick waits one turn of the event loop (setImmediate runs after the poll phase): after a
    // stall, frames and closes already in the sockets are read before the machine judges the peer.
    this.timer = setTimeout(() => setImmediate(() => void this.feed({ type: 'tick', now: 0 })), delay);
  }

  private async apply(decisions: Decision[]): Promise<void> {
    const { events, logger, hooks } = this.options;
    // A peer judged lost by silence has its link dropped first: a connection that still looks up
    // must not outlive that judgment (nor overlap the takeover that follows it).
    for (const d of decisions) {
      if (d.type === 'emit' && d.event.type === 'peer.lost' && d.event.data.how === 'silent') {
        this.link?.abort(new GwError('GW_ERR_GAN_PEER_SILENT', { peer: d.event.data.uuid ?? 'the peer', timeout: this.settings.failoverTimeout }));
      }
    }
    // A clean stop releases the key before its steppingDown goes out, so that the peer can take it
    // at once (section 9); other releases (a handover) need not hold up the step.
    const stopping = decisions.some((x) => x.type === 'send' && x.message.type === 'redundancy.steppingDown');
    for (const d of decisions) {
      switch (d.type) {
        case 'persist':
          await writeJsonAtomic(this.stateFile, d.persisted);
          break;
        case 'setActivity':
          logger.info({ from: d.from, to: d.to, reason: d.reason, epoch: d.epoch }, 'activity changed');
          break;
        case 'emit': {
          // role.changed is announced by the settings change itself (settings-update.ts).
          if (d.event.type === 'role.changed') break;
          if (d.event.type === 'process.stalled') {
            logger.warn(d.event.data, 'this process did not run for a while (frozen or starved); the peer was not judged on that time');
          }
          const data = { ...(d.event.data as unknown as Record<string, unknown>) };
          if (d.event.type === 'activity.changed' && (data.reason === 'master-lost' || data.reason === 'backup-lost')) {
            // How long the peer had been silent when the takeover ran: failoverTimeout plus the
            // overshoot (timer and event-loop delay), measured on the clock the decision used.
            const lastHeard = this.machine.state.peer.lastHeard;
            if (lastHeard !== null) data.silenceMs = Math.round(performance.now() - lastHeard);
          }
          events.emit(d.event.type, data);
          break;
        }
        case 'send':
          if (this.link && !this.link.send(d.message)) logger.debug({ type: d.message.type }, 'redundancy message not sent: no link');
          break;
        case 'witness': {
          // The machine asks only with a witness in its settings, and syncWitness made the service
          // from the same settings first.
          const done = this.witness?.run(d);
          if (d.op === 'release' && stopping) await done;
          break;
        }
        case 'runHook':
          // Not awaited: hooks run one at a time in the runner's own queue, the machine goes on.
          void hooks.run('onActivityChange', d.path, d.env, d.timeoutMs).then((r) => {
            if (!r.ok) this.hookFailed(r);
          });
          break;
        case 'runPreActivate':
          void hooks.run('preActivate', d.path, d.env, d.timeoutMs).then((r) => {
            if (!r.ok) this.hookFailed(r);
            const detail = r.ok ? undefined : r.timedOut ? 'timed out' : r.spawnError ?? `exit ${r.exitCode ?? r.signal}`;
            void this.feed({ type: 'preActivateResult', now: 0, id: d.id, ok: r.ok, ...(detail ? { detail } : {}) });
          });
          break;
      }
    }
  }

  private hookFailed(r: HookResult): void {
    const data = {
      hook: r.kind,
      path: r.path,
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      error: r.spawnError,
      durationMs: r.durationMs,
      output: r.output.slice(-512),
    };
    this.options.logger.warn(data, 'hook failed');
    this.options.events.emit('hook.failed', data);
  }
}
