import path from 'node:path';

/** Every path of the data directory (DESIGN.md section 2), named once. */
export class DataDir {
  constructor(readonly root: string) {}

  get nodeFile(): string { return path.join(this.root, 'node.json'); }
  get redundancyFile(): string { return path.join(this.root, 'redundancy.json'); }
  get gatewayNetworkFile(): string { return path.join(this.root, 'gateway-network.json'); }
  get connectionsFile(): string { return path.join(this.root, 'connections.json'); }
  get pkiDir(): string { return path.join(this.root, 'pki'); }
  get keyFile(): string { return path.join(this.root, 'pki', 'gwd.key'); }
  get certFile(): string { return path.join(this.root, 'pki', 'gwd.crt'); }
  get configDir(): string { return path.join(this.root, 'config'); }
  get resourcesDir(): string { return path.join(this.root, 'config', 'resources'); }
  get varDir(): string { return path.join(this.root, 'var'); }
  get eventLogFile(): string { return path.join(this.root, 'var', 'events.ndjson'); }
  get defaultSocket(): string { return path.join(this.root, 'gwd.sock'); }
}

/**
 * var/archive/<time>: where a full sync keeps what it replaced (the previous core, and the journal
 * that led to it). The time is the folder name, with `:` and `.` made safe for every file system.
 */
export function archiveFolder(varDir: string, at: Date): string {
  return path.join(varDir, 'archive', at.toISOString().replace(/[:.]/g, '-'));
}
