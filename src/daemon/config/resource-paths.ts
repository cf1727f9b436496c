import path from 'node:path';

import type { Collection, VersionName } from '../../core/config-model.js';

export const PRIMARY_FILE = 'config.json';
export const BACKUP_FILE = 'backupConfig.json';
export const META_FILE = 'resource.json';

export function versionFile(version: VersionName): string {
  return version === 'primary' ? PRIMARY_FILE : BACKUP_FILE;
}

/** config/resources/<collection>/<module>/<type>/[<name>/] */
export function resourceDir(
  resourcesDir: string,
  collection: Collection,
  module: string,
  type: string,
  name: string | null,
): string {
  const typeDir = path.join(resourcesDir, collection, module, type);
  return name === null ? typeDir : path.join(typeDir, name);
}
