#!/usr/bin/env node
// The `zephyr2mqtt` command: run | validate | health | passwd, each with --help; --version anywhere.
import { parseArgs } from 'node:util';
import { COMMAND_HELP, MAIN_HELP } from './cli/help.js';
import { ConfigError, formatIssue } from './config/errors.js';
import { tuneRuntime } from './runtime/tuning.js';
import { VERSION } from './version.js';

// Commands load what they need on demand: `--help` must not pay for adapter imports.

/** Returned by `run`: the process keeps running until a signal stops it. */
const KEEP_RUNNING = -1;

function defaultConfig(explicit: string | undefined): string {
  return explicit ?? process.env.ZEPHYR2MQTT_CONFIG ?? './gateway.yaml';
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(rest);
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${MAIN_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (command === '--version' || command === '-v' || values.version) {
    console.log(VERSION);
    return 0;
  }
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(MAIN_HELP);
    return command ? 0 : 2;
  }
  const help = COMMAND_HELP[command];
  if (!help) {
    console.error(`unknown command "${command}"\n\n${MAIN_HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  switch (command) {
    case 'run': {
      // Before the gateway's modules load: V8 is tuned for them and start-up (gateway/runtime/tuning.ts).
      const runtime = tuneRuntime();
      const { runGateway } = await import('./main.js');
      const gateway = await runGateway(defaultConfig(values.config));
      runtime.started(() => gateway.messagesReceived);
      return KEEP_RUNNING;
    }
    case 'validate': {
      const file = defaultConfig(positionals[0] ?? values.config);
      const { loadConfigFile } = await import('./config/load.js');
      try {
        await loadConfigFile(file);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // validate names every problem; the error's message (logs, bridge/event) stops after the first ones.
        console.error(`invalid config ${file}:\n${err.issues.map((i) => `  ${formatIssue(file, i)}`).join('\n')}`);
        return 2;
      }
      console.log(`${file}: valid`);
      return 0;
    }
    case 'health':
      return healthCommand(values.url ?? 'http://127.0.0.1:8080', Number(values.timeout ?? 5000));
    case 'passwd': {
      const { passwdCommand } = await import('./cli/passwd.js');
      return passwdCommand(positionals[0]);
    }
    default:
      return 2;
  }
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
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

async function healthCommand(base: string, timeoutMs: number): Promise<number> {
  const url = `${base.replace(/\/$/, '')}/readyz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Number.isFinite(timeoutMs) ? timeoutMs : 5000) });
    console.log((await res.text()).trim());
    return res.ok ? 0 : 1;
  } catch (err) {
    console.error(`unhealthy: ${err instanceof Error ? err.message : String(err)} (${url})`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== KEEP_RUNNING) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    console.error(`zephyr2mqtt: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
