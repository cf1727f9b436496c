import path from 'node:path';

import type { Command } from 'commander';

import { GwClient } from './client.js';
import type { Colors, Io } from './io.js';

export interface GlobalOptions {
  socket?: string;
  json?: boolean;
  color?: boolean;
}

/** What every command gets: where to write, how to format, and the one client. */
export class CommandContext {
  private clientInstance: GwClient | null = null;

  constructor(
    readonly io: Io,
    readonly socketPath: string,
    readonly json: boolean,
    readonly colors: Colors,
  ) {}

  get client(): GwClient {
    this.clientInstance ??= new GwClient(this.socketPath);
    return this.clientInstance;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  async close(): Promise<void> {
    await this.clientInstance?.close();
  }
}

/** Builds a command's context from its parsed global options (program.ts supplies it). */
export type ContextFactory = (command: Command) => CommandContext;

/** --socket, else GWD_SOCKET, else GWD_DATA_DIR/gwd.sock, else ./gwd-data/gwd.sock. */
export function resolveSocketPath(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  if (flag) return path.resolve(cwd, flag);
  if (env.GWD_SOCKET) return path.resolve(cwd, env.GWD_SOCKET);
  if (env.GWD_DATA_DIR) return path.resolve(cwd, env.GWD_DATA_DIR, 'gwd.sock');
  return path.resolve(cwd, 'gwd-data', 'gwd.sock');
}
