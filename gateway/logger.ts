import { createRequire } from 'node:module';
import { pino } from 'pino';
import type { PrettyStream } from 'pino-pretty';
import { ConfigError } from './config/errors.js';
import { logTail } from './dashboard/log-tail.js';

const require = createRequire(import.meta.url);

export type Logger = pino.Logger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `text` as a log level (any case, surrounding blanks ignored), or undefined when it names none. */
export function parseLogLevel(text: string | undefined): LogLevel | undefined {
  const level = text?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level ?? '') ? (level as LogLevel) : undefined;
}

/** The level `LOG_LEVEL` sets, undefined when unset; a value that is no level fails like an invalid config. */
export function envLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel | undefined {
  const text = env.LOG_LEVEL;
  if (text === undefined || text.trim() === '') return undefined;
  const level = parseLogLevel(text);
  if (level) return level;
  const valid = LOG_LEVELS.join(', ');
  const err = new ConfigError('environment', [
    { path: 'LOG_LEVEL', message: `"${text}" is not a log level`, hint: `use one of ${valid}` },
  ]);
  // A ConfigError makes the CLI exit 2, like a config file problem; its own message would name a file.
  err.message = `invalid environment: LOG_LEVEL="${text}" is not a log level; use one of ${valid}`;
  throw err;
}

/** The root level: `LOG_LEVEL` overrides the config's `gateway.log_level`, at start and on every reload. */
export function rootLogLevel(configLevel: string, env: NodeJS.ProcessEnv = process.env): string {
  return parseLogLevel(env.LOG_LEVEL) ?? configLevel;
}

/** Root logger: pretty on a TTY, JSON otherwise; every line also goes to the dashboard's log tail. */
export function createRootLogger(level: string = envLogLevel() ?? 'info'): Logger {
  const usePretty = process.stdout.isTTY && process.env.LOG_FORMAT !== 'json';
  // pino-pretty is loaded only for a terminal: a service writing JSON never pays for it.
  const out = usePretty ? prettyStream() : guardStdout();
  return pino(
    { level, base: undefined },
    pino.multistream([
      { stream: out, level: 'trace' },
      { stream: logTail, level: 'trace' },
    ]),
  );
}

/**
 * stdout with its write errors handled. When the reader of a pipe goes away (`| head`, a log shipper that died)
 * the next write fails with EPIPE; unhandled, that 'error' event would end the gateway. Its logs still reach the
 * dashboard's log tail, so losing stdout is not worth a crash.
 */
function guardStdout(): NodeJS.WriteStream {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') process.stderr.write(`zephyr2mqtt: log output to stdout failed: ${err.message}\n`);
    });
  }
  return process.stdout;
}
let stdoutGuarded = false;

function prettyStream(): PrettyStream {
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pretty.build({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' });
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** `LOG_LEVELS=coap=debug,broker=warn` -> {coap: 'debug', broker: 'warn'}; an entry that is not `module=level`
 * is ignored and handed to `onIgnored`. */
export function parseModuleLevels(
  text: string | undefined,
  onIgnored: (entry: string) => void = () => {},
): Record<string, LogLevel> {
  const out: Record<string, LogLevel> = {};
  for (const entry of (text ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const [module, level, ...extra] = entry.split('=').map((s) => s.trim());
    const parsed = parseLogLevel(level);
    if (module && parsed && extra.length === 0) out[module] = parsed;
    else onIgnored(entry.trim());
  }
  return out;
}

/** A child logger tagged with `module`, at the module's own level when config or env names one. */
export function moduleLogger(root: Logger, module: string, levels: Readonly<Record<string, string>>): Logger {
  const child = root.child({ module });
  const level = levels[module];
  if (level) child.level = level;
  return child;
}

/** The module loggers of one root, one per module, kept so that a config reload can change their levels. */
export class ModuleLoggers {
  readonly #children = new Map<string, Logger>();

  constructor(
    private readonly root: Logger,
    private levels: Readonly<Record<string, string>>,
  ) {}

  get(module: string): Logger {
    let child = this.#children.get(module);
    if (!child) {
      child = moduleLogger(this.root, module, this.levels);
      this.#children.set(module, child);
    }
    return child;
  }

  /** New per-module levels; a module without one follows the root's current level. */
  setLevels(levels: Readonly<Record<string, string>>): void {
    this.levels = levels;
    for (const [module, child] of this.#children) child.level = levels[module] ?? this.root.level;
  }
}
