import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError } from '../../core/errors.js';
import { findCertificates, MIN_CERT_PREFIX } from '../../core/gan/peer-lookup.js';
import type { TrustRecordLike } from '../../core/gan/trust-decision.js';
import type { CertEntry, PeerRef, TrustDirection, TrustState } from '../../core/wire.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { writeFileAtomic, writeJsonAtomic } from '../storage/atomic-write.js';
import { readPeerCertificate, type PeerCertificate } from './peer-certificate.js';
import { SerialQueue } from '../storage/serial-queue.js';

export const DIRECTIONS: readonly TrustDirection[] = ['incoming', 'outgoing'];
export const STATES: readonly TrustState[] = ['pending', 'approved', 'denied'];

interface Meta {
  version: 1;
  fingerprint: string;
  peer: PeerRef | null;
  flag: 'CertificateChanged' | null;
  firstSeen: string;
  updatedAt: string;
}

interface Entry {
  direction: TrustDirection;
  state: TrustState;
  cert: PeerCertificate;
  meta: Meta;
}

/**
 * The certificate trust stores, one per direction (incoming: clients that dial us; outgoing: servers
 * we dial), each with pending/approved/denied: `pki/trust/<direction>/<state>/<fingerprint>.pem`
 * plus `<fingerprint>.json` (peer, flag, times). A state change writes the new files before it
 * removes the old ones; should both survive a crash, the newer `updatedAt` wins at load.
 */
export class TrustStore {
  private readonly entries = new Map<string, Entry>();
  private readonly queue = new SerialQueue();

  constructor(
    private readonly root: string,
    private readonly schemas: SchemaRegistry,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async load(): Promise<void> {
    for (const direction of DIRECTIONS) {
      for (const state of STATES) {
        const dir = this.dir(direction, state);
        await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
        for (const name of await fsp.readdir(dir)) {
          if (!name.endsWith('.pem')) continue;
          const base = name.slice(0, -4);
          try {
            const cert = readPeerCertificate(await fsp.readFile(path.join(dir, name), 'utf8'));
            const meta = await this.readMeta(path.join(dir, `${base}.json`), cert);
            const key = keyOf(direction, cert.fingerprint);
            const seen = this.entries.get(key);
            if (seen && seen.meta.updatedAt >= meta.updatedAt) continue;
            this.entries.set(key, { direction, state, cert, meta });
          } catch (err) {
            // One unreadable file must not hide the others or stop the daemon; it is left in place.
            this.logger.warn({ file: path.join(dir, name), err: (err as Error).message }, 'trust store file skipped');
          }
        }
      }
    }
  }

  list(filter: { state?: TrustState; direction?: TrustDirection } = {}): CertEntry[] {
    return [...this.entries.values()]
      .filter((e) => (!filter.state || e.state === filter.state) && (!filter.direction || e.direction === filter.direction))
      .sort((a, b) => a.direction.localeCompare(b.direction) || a.meta.firstSeen.localeCompare(b.meta.firstSeen))
      .map(toEntry);
  }

  records(direction: TrustDirection): TrustRecordLike[] {
    return [...this.entries.values()]
      .filter((e) => e.direction === direction)
      .map((e) => ({ fingerprint: e.cert.fingerprint, state: e.state, peerUuid: e.meta.peer?.uuid ?? null }));
  }

  /** Record a certificate seen on a connection; returns the entry (existing entries keep their state). */
  remember(
    direction: TrustDirection,
    cert: PeerCertificate,
    peer: PeerRef | null,
    opts: { state?: TrustState; flag?: 'CertificateChanged' | null } = {},
  ): Promise<CertEntry> {
    return this.serial(async () => {
      const existing = this.entries.get(keyOf(direction, cert.fingerprint));
      const time = this.now().toISOString();
      const entry: Entry = {
        direction,
        state: opts.state ?? existing?.state ?? 'pending',
        cert,
        meta: {
          version: 1,
          fingerprint: cert.fingerprint,
          peer: peer ?? existing?.meta.peer ?? null,
          flag: opts.flag !== undefined ? opts.flag : (existing?.meta.flag ?? null),
          firstSeen: existing?.meta.firstSeen ?? time,
          updatedAt: time,
        },
      };
      await this.write(entry, existing?.state);
      return toEntry(entry);
    });
  }

  setState(direction: TrustDirection, fingerprint: string, state: TrustState): Promise<CertEntry> {
    return this.serial(async () => {
      const existing = this.entries.get(keyOf(direction, fingerprint));
      if (!existing) throw new GwError('GW_ERR_GAN_CERT_NOT_FOUND', { input: fingerprint });
      // An explicit decision clears the "changed" flag: the operator has looked at it.
      const entry: Entry = { ...existing, state, meta: { ...existing.meta, flag: null, updatedAt: this.now().toISOString() } };
      await this.write(entry, existing.state);
      return toEntry(entry);
    });
  }

  remove(direction: TrustDirection, fingerprint: string): Promise<CertEntry> {
    return this.serial(async () => {
      const existing = this.entries.get(keyOf(direction, fingerprint));
      if (!existing) throw new GwError('GW_ERR_GAN_CERT_NOT_FOUND', { input: fingerprint });
      await this.unlink(direction, existing.state, fingerprint);
      this.entries.delete(keyOf(direction, fingerprint));
      return toEntry(existing);
    });
  }

  /**
   * The label a peer's hello gave, kept with its certificates (a certificate does not carry it), so
   * lists and lookups know it after a restart too.
   */
  relabel(uuid: string, label: string | null): Promise<void> {
    return this.serial(async () => {
      for (const e of [...this.entries.values()]) {
        const peer = e.meta.peer;
        if (!peer || peer.uuid !== uuid || (peer.label ?? null) === label) continue;
        const meta: Meta = { ...e.meta, peer: { ...peer, label } };
        await writeJsonAtomic(path.join(this.dir(e.direction, e.state), `${e.cert.fingerprint}.json`), meta);
        this.entries.set(keyOf(e.direction, e.cert.fingerprint), { ...e, meta });
      }
    });
  }

  /**
   * What an operator's word names (a fingerprint or prefix, the peer's label, UUID or UUID prefix:
   * core/gan/peer-lookup.ts) among `candidates` (default: this store's entries, in `direction`):
   * every entry with that one fingerprint. Coded errors for none, too short and ambiguous.
   */
  resolve(input: string, direction?: TrustDirection, candidates: CertEntry[] = this.list(direction ? { direction } : {})): CertEntry[] {
    const m = findCertificates(candidates, input);
    switch (m.kind) {
      case 'one':
        return m.items;
      case 'none':
        throw new GwError('GW_ERR_GAN_CERT_NOT_FOUND', { input });
      case 'too-short':
        throw new GwError('GW_ERR_GAN_ID_TOO_SHORT', { input, min: MIN_CERT_PREFIX });
      case 'ambiguous':
        throw new GwError('GW_ERR_GAN_CERT_AMBIGUOUS', { input, matches: m.keys.join(', ') }, { matches: m.keys });
    }
  }

  private async write(entry: Entry, previousState: TrustState | undefined): Promise<void> {
    const dir = this.dir(entry.direction, entry.state);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(dir, `${entry.cert.fingerprint}.pem`), entry.cert.pem);
    await writeJsonAtomic(path.join(dir, `${entry.cert.fingerprint}.json`), entry.meta);
    if (previousState && previousState !== entry.state) await this.unlink(entry.direction, previousState, entry.cert.fingerprint);
    this.entries.set(keyOf(entry.direction, entry.cert.fingerprint), entry);
  }

  private async unlink(direction: TrustDirection, state: TrustState, fingerprint: string): Promise<void> {
    const dir = this.dir(direction, state);
    await fsp.rm(path.join(dir, `${fingerprint}.pem`), { force: true });
    await fsp.rm(path.join(dir, `${fingerprint}.json`), { force: true });
  }

  private async readMeta(file: string, cert: PeerCertificate): Promise<Meta> {
    const fallback = (): Meta => ({
      version: 1,
      fingerprint: cert.fingerprint,
      peer: cert.claimedUuid ? { uuid: cert.claimedUuid, systemName: cert.claimedName, address: null } : null,
      flag: null,
      firstSeen: new Date(0).toISOString(),
      updatedAt: new Date(0).toISOString(),
    });
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return fallback(); // a PEM dropped in by hand has no metadata: that is fine
    }
    try {
      const parsed: unknown = JSON.parse(text);
      const r = this.schemas.validate<Meta>('gwd:settings/trust-entry', parsed);
      if (r.ok && r.value.fingerprint === cert.fingerprint) {
        return { ...fallback(), ...r.value };
      }
    } catch {
      // fall through
    }
    this.logger.warn({ file }, 'trust store metadata invalid; using what the certificate says');
    return fallback();
  }

  private dir(direction: TrustDirection, state: TrustState): string {
    return path.join(this.root, direction, state);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }
}

function keyOf(direction: TrustDirection, fingerprint: string): string {
  return `${direction}/${fingerprint}`;
}

function toEntry(e: Entry): CertEntry {
  return {
    fingerprint: e.cert.fingerprint,
    direction: e.direction,
    state: e.state,
    subject: e.cert.subject,
    notAfter: e.cert.notAfter,
    peer: e.meta.peer,
    flag: e.meta.flag,
    firstSeen: e.meta.firstSeen,
    updatedAt: e.meta.updatedAt,
  };
}
