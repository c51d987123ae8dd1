// The command line as the `zephyr2mqtt` command reads it: options may stand before or after the command, and each
// command takes only its own options and arguments; anything else is a usage error (exit 2), never ignored.
import { parseArgs } from 'node:util';
import { COMMAND_HELP, MAIN_HELP } from './help.js';

export type Command = 'run' | 'validate' | 'health' | 'passwd';

export interface CommandOptions {
  config?: string | undefined;
  url?: string | undefined;
  timeout?: string | undefined;
}

export type Invocation =
  | { kind: 'version' }
  /** Help was asked for (exit 0), or no command was given (exit 2). */
  | { kind: 'help'; text: string; code: 0 | 2 }
  | { kind: 'usage-error'; message: string; help: string }
  | { kind: 'command'; command: Command; options: CommandOptions; args: string[] };

interface Accepts {
  options: readonly (keyof CommandOptions)[];
  /** How many positional arguments, and what they are (for the error that refuses more). */
  maxArgs: number;
  argName: string;
}

const ACCEPTS: Record<Command, Accepts> = {
  run: { options: ['config'], maxArgs: 1, argName: 'one config FILE' },
  validate: { options: ['config'], maxArgs: 1, argName: 'one config FILE' },
  health: { options: ['url', 'timeout'], maxArgs: 0, argName: 'no arguments (the address goes in --url)' },
  passwd: { options: [], maxArgs: 1, argName: 'one USER' },
};

/** The largest delay AbortSignal.timeout accepts (an unsigned 32-bit number). */
const MAX_TIMEOUT_MS = 4_294_967_295;

function isCommand(name: string): name is Command {
  return Object.hasOwn(ACCEPTS, name);
}

export function parseCommandLine(argv: readonly string[]): Invocation {
  let parsed: ReturnType<typeof parseAll>;
  try {
    parsed = parseAll(argv);
  } catch (err) {
    const named = argv.find(isCommand);
    return {
      kind: 'usage-error',
      message: err instanceof Error ? err.message : String(err),
      help: named ? (COMMAND_HELP[named] ?? MAIN_HELP) : MAIN_HELP,
    };
  }
  const { values, positionals } = parsed;
  if (values.version) return { kind: 'version' };
  const [name, ...args] = positionals;
  if (name === undefined) return { kind: 'help', text: MAIN_HELP, code: values.help ? 0 : 2 };
  if (name === 'help') return helpFor(args);
  if (!isCommand(name)) return { kind: 'usage-error', message: `unknown command "${name}"`, help: MAIN_HELP };
  const help = COMMAND_HELP[name] ?? MAIN_HELP;
  if (values.help) return { kind: 'help', text: help, code: 0 };
  const options: CommandOptions = { config: values.config, url: values.url, timeout: values.timeout };
  const problem = misuse(name, options, args);
  return problem ? { kind: 'usage-error', message: problem, help } : { kind: 'command', command: name, options, args };
}

function parseAll(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

/** `help` alone is the main help; `help run` is run's. */
function helpFor(args: string[]): Invocation {
  const [topic, ...extra] = args;
  if (topic === undefined) return { kind: 'help', text: MAIN_HELP, code: 0 };
  if (!isCommand(topic)) return { kind: 'usage-error', message: `unknown command "${topic}"`, help: MAIN_HELP };
  if (extra.length > 0)
    return { kind: 'usage-error', message: `help takes one COMMAND, got ${listed(args)}`, help: MAIN_HELP };
  return { kind: 'help', text: COMMAND_HELP[topic] ?? MAIN_HELP, code: 0 };
}

/** Why these options and arguments do not fit the command, or undefined when they do. */
function misuse(command: Command, options: CommandOptions, args: string[]): string | undefined {
  const accepts = ACCEPTS[command];
  for (const key of Object.keys(options) as (keyof CommandOptions)[]) {
    if (options[key] !== undefined && !accepts.options.includes(key)) return `${command} does not take --${key}`;
  }
  if (args.length > accepts.maxArgs) return `${command} takes ${accepts.argName}, got ${listed(args)}`;
  if (options.config !== undefined && args[0] !== undefined)
    return `give the config file once, either as FILE (${args[0]}) or with --config (${options.config}), not both`;
  if (options.timeout !== undefined && !/^[1-9]\d*$/.test(options.timeout))
    return `--timeout takes a whole number of milliseconds above 0, got "${options.timeout}"`;
  if (options.timeout !== undefined && Number(options.timeout) > MAX_TIMEOUT_MS)
    return `--timeout takes at most ${MAX_TIMEOUT_MS} milliseconds (about 49 days), got ${options.timeout}`;
  return undefined;
}

function listed(args: string[]): string {
  return `${args.length} (${args.join(' ')})`;
}
