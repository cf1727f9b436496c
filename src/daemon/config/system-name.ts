import { createHash, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError } from '../../core/errors.js';
import type { DataDir } from '../data-dir.js';
import { describeFsError, writeJsonAtomic } from '../storage/atomic-write.js';

/** Where the shared gateway-settings singleton lives (DESIGN.md sections 2 and 5). */
export function gatewaySettingsDir(dataDir: DataDir): string {
  return path.join(dataDir.resourcesDir, 'core', 'platform', 'gateway-settings');
}

/**
 * The system name lives in the shared gateway-settings resource, so a backup shows its master's name
 * after a sync. `--system-name` only seeds it when the resource does not exist yet.
 */
export async function seedAndReadSystemName(dataDir: DataDir, seed: string): Promise<string> {
  const dir = gatewaySettingsDir(dataDir);
  const configFile = path.join(dir, 'config.json');
  let text: string | undefined;
  try {
    text = await fsp.readFile(configFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new GwError('GW_ERR_SETTINGS_UNREADABLE', { file: configFile, detail: describeFsError(err) });
    }
  }
  if (text === undefined) {
    await fsp.mkdir(dir, { recursive: true });
    const config = { systemName: seed };
    const content = JSON.stringify(config);
    await writeJsonAtomic(configFile, config);
    await writeJsonAtomic(path.join(dir, 'resource.json'), {
      uuid: randomUUID(),
      enabled: true,
      lastModification: { actor: 'gwd:first-start', timestamp: new Date().toISOString() },
      signature: createHash('sha256').update(content).digest('hex'),
    });
    return seed;
  }
  try {
    const parsed = JSON.parse(text) as { systemName?: unknown };
    if (typeof parsed.systemName === 'string' && parsed.systemName.length > 0) return parsed.systemName;
  } catch {
    // Reported below; the file is left as it is.
  }
  throw new GwError('GW_ERR_SETTINGS_INVALID', {
    file: configFile,
    field: '/systemName',
    detail: 'must be a non-empty string',
  });
}
