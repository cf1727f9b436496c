import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import type { JournalEntry } from '../../src/core/config-model.js';

/** Where a resource lives on disk, as DESIGN section 2 lays it out. */
export function resourcePath(dataDir: string, collection: string, module: string, type: string, name: string | null, file?: string): string {
  const dir = path.join(dataDir, 'config', 'resources', collection, module, type, ...(name === null ? [] : [name]));
  return file ? path.join(dir, file) : dir;
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function journal(dataDir: string): JournalEntry[] {
  const text = readFileSync(path.join(dataDir, 'var', 'config-journal.ndjson'), 'utf8');
  // The base line of a journal restarted by a snapshot adoption is not an entry.
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry & { base?: true })
    .filter((e) => e.base !== true);
}

/** Every file under dir with its content, for comparing two stores byte for byte. */
export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[path.relative(dir, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(dir);
  return out;
}

export const PLC1_PRIMARY = { endpointUrl: 'opc.tcp://10.0.1.5:4840' };
export const PLC1_BACKUP = { endpointUrl: 'opc.tcp://10.0.2.5:4840' };
