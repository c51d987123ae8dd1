import { createRequire } from 'node:module';
import { pino } from 'pino';
import type { PrettyStream } from 'pino-pretty';
import { logTail } from './dashboard/log-tail.js';

const require = createRequire(import.meta.url);

export type Logger = pino.Logger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Root logger: pretty on a TTY, JSON otherwise; every line also goes to the dashboard's log tail. */
export function createRootLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const usePretty = process.stdout.isTTY && process.env.LOG_FORMAT !== 'json';
  // pino-pretty is loaded only for a terminal: a service writing JSON never pays for it.
  const out = usePretty ? prettyStream() : process.stdout;
  return pino(
    { level, base: undefined },
    pino.multistream([
      { stream: out, level: 'trace' },
      { stream: logTail, level: 'trace' },
    ]),
  );
}

function prettyStream(): PrettyStream {
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pretty.build({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' });
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** `LOG_LEVELS=coap=debug,broker=warn` -> {coap: 'debug', broker: 'warn'}; unknown levels are ignored. */
export function parseModuleLevels(text: string | undefined): Record<string, LogLevel> {
  const out: Record<string, LogLevel> = {};
  for (const part of (text ?? '').split(',')) {
    const [module, level] = part.split('=').map((s) => s.trim());
    if (module && level && (LOG_LEVELS as readonly string[]).includes(level)) out[module] = level as LogLevel;
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
