import path from 'node:path';
import { Writable } from 'node:stream';

import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { DaemonOptions } from '../../src/daemon/options.js';
import { GwClient } from '../../src/cli/client.js';
import { makeTempDir } from './temp-dir.js';

export interface TestDaemon {
  daemon: Daemon;
  client: GwClient;
  dataDir: string;
  socketPath: string;
  logs: string[];
  stop(): Promise<void>;
}

/** A real daemon in this process, on a temp data dir and socket; its logs are kept for failures. */
export async function startTestDaemon(overrides: Partial<DaemonOptions> = {}, dir?: string): Promise<TestDaemon> {
  const temp = dir ? null : makeTempDir();
  const dataDir = dir ?? temp!.dir;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const options: DaemonOptions = {
    dataDir,
    socketPath: path.join(dataDir, 'gwd.sock'),
    // Ephemeral loopback ports: tests never take 8088/8060 nor collide with each other.
    port: 0,
    sslPort: 0,
    bind: '127.0.0.1',
    systemName: 'test-node',
    edition: 'standard',
    logLevel: 'debug',
    ...overrides,
  };
  const daemon = await Daemon.start(options, createLogger(options.logLevel, { destination: sink }));
  const client = new GwClient(options.socketPath);
  return {
    daemon,
    client,
    dataDir,
    socketPath: options.socketPath,
    logs,
    async stop() {
      await client.close();
      await daemon.stop('test');
      temp?.cleanup();
    },
  };
}
