import { GwError } from '../core/errors.js';
import { PRODUCT_VERSION } from '../core/version.js';
import type { Daemon } from './daemon.js';
import { pregenerateKeyPair } from './identity/key-pair.js';
import { createLogger } from './logger.js';
import { GWD_USAGE, parseDaemonArgs } from './options.js';

const EXIT_USAGE = 2;
const EXIT_CONFIG = 78; // EX_CONFIG: a settings file or the socket path is unusable
const SHUTDOWN_DEADLINE_MS = 5000;

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseDaemonArgs(process.argv.slice(2), process.env, process.cwd());
  } catch (err) {
    process.stderr.write(`gwd: ${(err as Error).message}\n\n${GWD_USAGE}`);
    process.exit(EXIT_USAGE);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(GWD_USAGE);
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`${PRODUCT_VERSION}\n`);
    return;
  }
  const logger = createLogger(parsed.options.logLevel, {
    format: parsed.options.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json'),
  });
  // A first start's key is generated on the thread pool while the daemon's modules load (most of a
  // start's time), rather than after them: loaded here, not statically, so the key can go first.
  const keyPair = pregenerateKeyPair(parsed.options.dataDir);
  let daemon: Daemon;
  try {
    const { Daemon } = await import('./daemon.js');
    daemon = await Daemon.start(parsed.options, logger, { keyPair });
  } catch (err) {
    const coded = err instanceof GwError;
    logger.fatal({ code: coded ? err.code : undefined, err: coded ? undefined : err }, `gwd did not start: ${(err as Error).message}`);
    process.stderr.write(`gwd: ${(err as Error).message}${coded ? ` [${err.code}]` : ''}\n`);
    process.exit(coded ? EXIT_CONFIG : 1);
  }

  const shutdown = (signal: string): void => {
    const timer = setTimeout(() => {
      logger.error({ signal }, 'shutdown took longer than 5 s; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    timer.unref();
    daemon.stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A bug must be logged with context, and a crash must still remove the socket file.
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    shutdown('uncaughtException');
  });
  process.on('unhandledRejection', (err) => {
    logger.error({ err }, 'unhandled promise rejection');
  });
}

void main();
