// Process entry for `zephyr2mqtt run`: load the config, start the gateway, handle signals.
import { loadConfigFile } from './config/load.js';
import { Gateway } from './controller.js';
import { createRootLogger, type Logger } from './logger.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

export async function runGateway(configPath: string, logger: Logger = createRootLogger()): Promise<Gateway> {
  const config = await loadConfigFile(configPath);
  logger.level = process.env.LOG_LEVEL ?? config.gateway.log_level;
  const gateway = new Gateway(config, { logger, configPath });
  await gateway.start();
  installSignalHandlers(gateway, configPath, logger);
  return gateway;
}

function installSignalHandlers(gateway: Gateway, configPath: string, logger: Logger): void {
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
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    loadConfigFile(configPath)
      .then((next) => gateway.applyConfig(next))
      .then(() => logger.info('config reloaded'))
      .catch((err: unknown) => {
        logger.error({ err: String(err) }, 'config reload rejected; the running config stays in force');
        gateway.event('config_error', { error: err instanceof Error ? err.message : String(err) });
      });
  });
}
