import { GwError } from '../../core/errors.js';
import { describeProblems } from '../../core/schema-errors.js';
import { checkRedundancySettings, mergeRedundancyUpdate } from '../../core/settings/redundancy-rules.js';
import type { GatewayNetworkSettings, RedundancySettings } from '../../core/settings/types.js';
import type { DaemonOptions } from '../options.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';
import { SerialQueue } from '../storage/serial-queue.js';
import { loadSettingsFile } from './settings-file.js';

/** The node's own settings, one file each (redundancy.json, gateway-network.json). */
export interface NodeSettings {
  redundancy: RedundancySettings;
  network: GatewayNetworkSettings;
}
export type SettingsKey = keyof NodeSettings;

export interface SettingsChange<K extends SettingsKey> {
  previous: NodeSettings[K];
  next: NodeSettings[K];
}
export type SettingsListener<K extends SettingsKey> = (change: SettingsChange<K>) => void | Promise<void>;

/**
 * A subscriber that must succeed for a change to stand (the Gateway Network's listeners: a node must
 * never be left deaf). It runs with the new value in effect but before the file is written; if it
 * throws, it and the gates before it are called again with the change reversed, the old value is
 * back in effect, nothing is written or announced, and the caller gets its error.
 */
export interface SubscribeOptions {
  gate?: boolean;
}

/** What readers of the live settings get: the values in effect now, replaced (never edited) on change. */
export interface SettingsReader {
  readonly redundancy: RedundancySettings;
  readonly network: GatewayNetworkSettings;
}

/** A change the caller decided: the value to write, and what the caller answers. */
export interface SettingsDecision<K extends SettingsKey, R> {
  next: NodeSettings[K];
  result: R;
}

/**
 * The node's settings in effect. Changes go through one queue, so two operators racing get a
 * consistent file: each change is decided from the value the one before it left, written atomically,
 * swapped in, then announced to the subscribers (the engine, the Gateway Network, the store's journal
 * limit), in the order they subscribed, each awaited. A decision that throws writes nothing.
 */
export class SettingsStore implements SettingsReader {
  private readonly queue = new SerialQueue();
  private readonly current: NodeSettings;
  private readonly listeners: { [K in SettingsKey]: SettingsListener<K>[] } = { redundancy: [], network: [] };
  private readonly gates: { [K in SettingsKey]: SettingsListener<K>[] } = { redundancy: [], network: [] };

  constructor(
    private readonly files: Readonly<Record<SettingsKey, string>>,
    initial: NodeSettings,
  ) {
    this.current = { ...initial };
  }

  /**
   * Read both files (a missing one is created: redundancy.json from the defaults or the env seed,
   * gateway-network.json from the defaults). A redundancy.json that breaks a rule of DESIGN.md
   * section 4 stops the start, named by file and field.
   */
  static async open(
    files: Readonly<Record<SettingsKey, string>>,
    schemas: SchemaRegistry,
    options: Pick<DaemonOptions, 'bootstrap'>,
  ): Promise<SettingsStore> {
    const redundancy = (
      await loadSettingsFile<RedundancySettings>(files.redundancy, 'gwd:settings/redundancy', schemas, () =>
        redundancySeed(schemas, options),
      )
    ).value;
    const rules = checkRedundancySettings(redundancy);
    if (rules.length > 0) {
      throw new GwError(
        'GW_ERR_SETTINGS_INVALID',
        { file: files.redundancy, field: rules[0]!.pointer, detail: describeProblems(rules) },
        { file: files.redundancy, problems: rules },
      );
    }
    const network = (
      await loadSettingsFile<GatewayNetworkSettings>(files.network, 'gwd:settings/gateway-network', schemas, () => ({}))
    ).value;
    return new SettingsStore(files, { redundancy, network });
  }

  get redundancy(): RedundancySettings {
    return this.current.redundancy;
  }

  get network(): GatewayNetworkSettings {
    return this.current.network;
  }

  /** The file a setting lives in (answered by GET /v0/redundancy). */
  file(key: SettingsKey): string {
    return this.files[key];
  }

  subscribe<K extends SettingsKey>(key: K, listener: SettingsListener<K>, options: SubscribeOptions = {}): () => void {
    const list = (options.gate ? this.gates[key] : this.listeners[key]) as SettingsListener<K>[];
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  /**
   * One change, in turn with every other. `decide` gets the value in effect and returns the next one
   * (or throws: nothing is written). `announce` runs once the value is swapped in, before the
   * subscribers: the change's own events come before the ones its effects cause. A subscriber that
   * throws rejects the change's caller (the file and value stay changed) and skips the ones after it.
   * Gates (SubscribeOptions) run first, before the write: a gate that throws undoes the change.
   */
  update<K extends SettingsKey, R>(
    key: K,
    decide: (current: NodeSettings[K]) => SettingsDecision<K, R>,
    announce?: (change: SettingsChange<K>, result: R) => void,
  ): Promise<R> {
    return this.queue.run(async () => {
      const previous = this.current[key];
      const { next, result } = decide(previous);
      await this.passGates(key, previous, next);
      try {
        await writeJsonAtomic(this.files[key], next);
      } catch (err) {
        await this.undo(key, previous, next, this.gates[key].length);
        throw err;
      }
      this.current[key] = next;
      const change: SettingsChange<K> = { previous, next };
      announce?.(change, result);
      for (const listener of [...(this.listeners[key] as SettingsListener<K>[])]) await listener(change);
      return result;
    });
  }

  /** Run the gates with `next` in effect; on a refusal, undo and rethrow it. */
  private async passGates<K extends SettingsKey>(key: K, previous: NodeSettings[K], next: NodeSettings[K]): Promise<void> {
    const gates = this.gates[key] as SettingsListener<K>[];
    if (gates.length === 0) return;
    this.current[key] = next;
    for (let i = 0; i < gates.length; i++) {
      try {
        await gates[i]!({ previous, next });
      } catch (err) {
        await this.undo(key, previous, next, i + 1);
        throw err;
      }
    }
  }

  /**
   * Put `previous` back in effect and call the first `count` gates with the change reversed, last
   * first. A gate that fails to restore is not this change's error: the caller still gets the
   * refusal, and the gate reports its own state (a listener shown down in status).
   */
  private async undo<K extends SettingsKey>(key: K, previous: NodeSettings[K], next: NodeSettings[K], count: number): Promise<void> {
    this.current[key] = previous;
    const gates = (this.gates[key] as SettingsListener<K>[]).slice(0, count).reverse();
    for (const gate of gates) {
      try {
        await gate({ previous: next, next: previous });
      } catch {
        // reported by the gate's own state; the refusal the caller gets is the first error
      }
    }
  }
}

/**
 * What a missing redundancy.json starts as: the defaults, or the env seed (GWD_ROLE, ...). A seed that
 * breaks a rule is refused before the file is written, so the next start is not stuck with it.
 */
function redundancySeed(schemas: SchemaRegistry, options: Pick<DaemonOptions, 'bootstrap'>): unknown {
  if (!options.bootstrap) return {};
  const defaults = {};
  schemas.validate<RedundancySettings>('gwd:settings/redundancy', defaults);
  const seeded = mergeRedundancyUpdate(defaults as RedundancySettings, options.bootstrap);
  const problems = checkRedundancySettings(seeded);
  if (problems.length > 0) {
    throw new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: 'GWD_ROLE/GWD_MASTER_ADDRESS/GWD_MASTER_SSL', detail: describeProblems(problems) });
  }
  return seeded;
}
