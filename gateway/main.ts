// Process entry for `zephyr2mqtt run`: load the config, start the gateway, handle signals.
import { loadConfigFile } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { Gateway, type GatewayOptions, gatewayConfigSchema } from './controller.js';
import { releaseDataDir } from './datadir.js';
import { type EarlySignals, GATEWAY_SIGNALS, type GatewaySignal } from './early-signals.js';
import { createRootLogger, envLogLevel, type Logger, parseModuleLevels } from './logger.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

export interface RunOptions extends Pick<GatewayOptions, 'adapterModules'> {
  /** false: SIGTERM, SIGINT and SIGHUP are left to the caller, which stops the gateway itself (the demo, which
   * has its own things to clean up before the process exits). Default true. */
  signals?: boolean;
  /** Signals held while this module loaded (gateway/early-signals.ts): handled as if they arrived during start-up.
   * Left to the caller with `signals: false`. */
  earlySignals?: EarlySignals;
}

export async function runGateway(
  configPath: string,
  logger: Logger = createRootLogger(),
  options: RunOptions = {},
): Promise<Gateway> {
  const envLevel = envLogLevel();
  parseModuleLevels(process.env.LOG_LEVELS, (entry) =>
    logger.warn({ entry }, 'LOG_LEVELS entry ignored: write module=level, e.g. coap=debug'),
  );
  // Before anything slow: a signal during start-up would otherwise end the process without a clean stop.
  const signals = options.signals === false ? undefined : new SignalHandlers(logger, options.earlySignals);
  const load = () =>
    loadConfigFile(configPath, process.env, {
      schema: gatewayConfigSchema(options.adapterModules),
      onNote: (note) => logger.info(note),
    });
  const start = async (config: GatewayConfig): Promise<Gateway> => {
    logger.level = envLevel ?? config.gateway.log_level;
    const restart = signals ? () => void signals.restart((running) => restartWith(running)) : undefined;
    const gateway = new Gateway(config, { logger, configPath, adapterModules: options.adapterModules, restart });
    await gateway.start();
    return gateway;
  };
  /** The config file as it is now; one that became invalid is logged and the running config starts again. */
  const restartWith = async (running: GatewayConfig): Promise<Gateway> => {
    const config = await load().catch((err: unknown) => {
      logger.error({ err }, 'the config file cannot be used: restarting with the running config');
      return running;
    });
    return start(config);
  };
  let gateway: Gateway;
  try {
    const config = await load();
    installCrashGuards(logger);
    gateway = await start(config);
  } catch (err) {
    signals?.remove();
    throw err;
  }
  signals?.started(gateway);
  return gateway;
}

/** An adapter's stray promise rejection is logged, not allowed to kill every other adapter and the broker. */
function installCrashGuards(logger: Logger): void {
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
}

/**
 * SIGTERM and SIGINT stop the gateway, SIGHUP reloads its config. One that arrives while the gateway starts is
 * held until start() succeeded: a stop then stops it, a reload then reloads. A second stop signal during
 * start-up exits at once, for a start that waits on a slow adapter. Signals held while the gateway's modules
 * loaded are taken over as if they had arrived now.
 */
class SignalHandlers {
  #gateway: Gateway | undefined;
  #stopRequested: string | undefined;
  #reloadRequested = false;
  #stopping = false;
  #restarting = false;
  readonly #handlers = GATEWAY_SIGNALS.map((signal) => [signal, () => this.#handle(signal)] as const);

  constructor(
    private readonly logger: Logger,
    early?: EarlySignals,
  ) {
    for (const [signal, handler] of this.#handlers) process.on(signal, handler);
    // Released only now that ours are installed: no signal meets Node's default action in between.
    for (const signal of early?.release() ?? []) this.#handle(signal);
  }

  started(gateway: Gateway): void {
    this.#gateway = gateway;
    if (this.#stopRequested) this.#stop(this.#stopRequested);
    else if (this.#reloadRequested) this.#reload();
  }

  /** The start failed and the caller reports it: signals get their default behaviour back. */
  remove(): void {
    for (const [signal, handler] of this.#handlers) process.off(signal, handler);
  }

  /**
   * bridge/request/restart: stops the gateway, frees its data dir and starts the next one. Signals meanwhile are
   * held as during start-up. A restart that cannot start the gateway exits with 1, for the service manager.
   */
  async restart(startNext: (running: GatewayConfig) => Promise<Gateway>): Promise<void> {
    const running = this.#gateway;
    if (!running || this.#stopping || this.#restarting) return;
    this.#restarting = true;
    this.#gateway = undefined;
    this.logger.info('restart requested: stopping');
    try {
      await running.stop();
      await releaseDataDir(running.dataDir);
      const next = await startNext(running.config);
      this.logger.info('zephyr2mqtt restarted');
      this.#restarting = false;
      this.started(next);
    } catch (err) {
      this.logger.error({ err }, 'restart failed, exiting');
      process.exit(1);
    }
  }

  #handle(signal: GatewaySignal): void {
    if (signal === 'SIGHUP') this.#reload();
    else this.#stop(signal);
  }

  #stop(signal: string): void {
    const gateway = this.#gateway;
    if (!gateway) {
      if (this.#stopRequested) {
        this.logger.warn({ signal }, 'second stop signal during start-up, exiting without a clean stop');
        process.exit(1);
      }
      this.#stopRequested = signal;
      this.logger.info({ signal }, 'stop requested during start-up; the gateway stops once it has started');
      return;
    }
    if (this.#stopping) return;
    this.#stopping = true;
    shutdown(gateway, this.logger, signal);
  }

  #reload(): void {
    const gateway = this.#gateway;
    if (!gateway) {
      this.#reloadRequested = true;
      this.logger.info({ signal: 'SIGHUP' }, 'reload requested during start-up; the config is reloaded once started');
      return;
    }
    if (this.#stopping) return;
    // reload() logs and publishes a rejection itself; the running config stays.
    void gateway.reload('SIGHUP').catch(() => {});
  }
}

function shutdown(gateway: Gateway, logger: Logger, signal: string): void {
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
}
