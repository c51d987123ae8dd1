// Process entry for `zephyr2mqtt run`: load the config, start the gateway, handle signals.
import { loadConfigFile } from './config/load.js';
import { Gateway, type GatewayOptions, gatewayConfigSchema } from './controller.js';
import { releaseDataDir } from './datadir.js';
import { createRootLogger, type Logger } from './logger.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

export interface RunOptions extends Pick<GatewayOptions, 'adapterModules'> {
  /** false: SIGTERM, SIGINT and SIGHUP are left to the caller, which stops the gateway itself (the demo, which
   * has its own things to clean up before the process exits). Default true. */
  signals?: boolean;
}

export async function runGateway(
  configPath: string,
  logger: Logger = createRootLogger(),
  options: RunOptions = {},
): Promise<Gateway> {
  const config = await loadConfigFile(configPath, process.env, {
    schema: gatewayConfigSchema(options.adapterModules),
    onNote: (note) => logger.info(note),
  });
  logger.level = process.env.LOG_LEVEL ?? config.gateway.log_level;
  const gateway = new Gateway(config, { logger, configPath, adapterModules: options.adapterModules });
  installCrashGuards(logger);
  await gateway.start();
  if (options.signals !== false) installSignalHandlers(gateway, logger);
  return gateway;
}

/** An adapter's stray promise rejection is logged, not allowed to kill every other adapter and the broker. */
function installCrashGuards(logger: Logger): void {
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
}

function installSignalHandlers(gateway: Gateway, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    gateway
      .stop()
      .then(() => releaseDataDir(gateway.dataDir))
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // reload() logs and publishes a rejection itself; the running config stays.
  process.on('SIGHUP', () => void gateway.reload('SIGHUP').catch(() => {}));
}
