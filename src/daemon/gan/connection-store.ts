import type { TrustState } from '../../core/wire.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { loadSettingsFile } from '../settings/settings-file.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';
import { SerialQueue } from '../storage/serial-queue.js';

export interface ConnectionRecord {
  uuid: string;
  systemName: string;
  /** The peer's label, as its last hello said; null: none heard. */
  label: string | null;
  state: TrustState;
  address: string | null;
  firstSeen: string;
  updatedAt: string;
}

interface ConnectionsFile {
  version: 1;
  connections: ConnectionRecord[];
}

/**
 * connections.json: the approval of incoming connections, one record per peer UUID (a peer renamed
 * by a sync keeps its approval). Written atomically on every change; writes are serialised.
 */
export class ConnectionStore {
  private readonly byUuid = new Map<string, ConnectionRecord>();
  private readonly queue = new SerialQueue();

  constructor(
    private readonly file: string,
    private readonly schemas: SchemaRegistry,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async load(): Promise<void> {
    const { value } = await loadSettingsFile<ConnectionsFile>(this.file, 'gwd:settings/connections', this.schemas, () => ({}));
    for (const r of value.connections) {
      this.byUuid.set(r.uuid, { ...r, label: r.label ?? null, address: r.address ?? null, firstSeen: r.firstSeen ?? '', updatedAt: r.updatedAt ?? '' });
    }
  }

  get(uuid: string): ConnectionRecord | null {
    return this.byUuid.get(uuid) ?? null;
  }

  all(): ConnectionRecord[] {
    return [...this.byUuid.values()];
  }

  /** Create or update the record of `uuid`; `state` undefined keeps the current one (or pending). */
  upsert(
    uuid: string,
    fields: { systemName: string; label?: string | null; address?: string | null; state?: TrustState },
  ): Promise<ConnectionRecord> {
    return this.serial(async () => {
      const existing = this.byUuid.get(uuid);
      const time = this.now().toISOString();
      const record: ConnectionRecord = {
        uuid,
        systemName: fields.systemName,
        label: fields.label !== undefined ? fields.label : (existing?.label ?? null),
        state: fields.state ?? existing?.state ?? 'pending',
        address: fields.address !== undefined ? fields.address : (existing?.address ?? null),
        firstSeen: existing?.firstSeen || time,
        updatedAt: time,
      };
      const next = new Map(this.byUuid);
      next.set(uuid, record);
      await this.save(next);
      this.byUuid.set(uuid, record);
      return record;
    });
  }

  private async save(map: Map<string, ConnectionRecord>): Promise<void> {
    const file: ConnectionsFile = { version: 1, connections: [...map.values()] };
    await writeJsonAtomic(this.file, file, { mode: 0o600 });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }
}
