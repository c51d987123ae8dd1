#!/usr/bin/env node
// The `zephyr2mqtt` command: run | validate | health | passwd | help, each with --help; --version anywhere.
import { type Command, type CommandOptions, parseCommandLine } from './cli/args.js';
import { ConfigError } from './config/errors.js';
import { holdSignals } from './early-signals.js';
import { tuneRuntime } from './runtime/tuning.js';
import { VERSION } from './version.js';

// Commands load what they need on demand: `--help` must not pay for adapter imports.

/** Returned by `run`: the process keeps running until a signal stops it. */
const KEEP_RUNNING = -1;

/** Test hook (test/gateway/signals-during-import.test.ts): `run` says so on stderr and waits for a line on stdin
 * before it loads the gateway, so that a test can signal it during the load without racing it. */
const HOLD_IMPORT_ENV = 'ZEPHYR2MQTT_TEST_HOLD_IMPORT';

function defaultConfig(explicit: string | undefined): string {
  return explicit ?? process.env.ZEPHYR2MQTT_CONFIG ?? './gateway.yaml';
}

async function main(argv: string[]): Promise<number> {
  const invocation = parseCommandLine(argv);
  switch (invocation.kind) {
    case 'version':
      console.log(VERSION);
      return 0;
    case 'help':
      console.log(invocation.text);
      return invocation.code;
    case 'usage-error':
      console.error(`${invocation.message}\n\n${invocation.help}`);
      return 2;
    case 'command':
      return runCommand(invocation.command, invocation.options, invocation.args);
  }
}

async function runCommand(command: Command, options: CommandOptions, args: string[]): Promise<number> {
  switch (command) {
    case 'run': {
      // Before the gateway's modules load: V8 is tuned for them and start-up (gateway/runtime/tuning.ts).
      const runtime = tuneRuntime();
      const earlySignals = holdSignals();
      try {
        if (process.env[HOLD_IMPORT_ENV] === '1') await holdImportForTest();
        const { runGateway } = await import('./main.js');
        const gateway = await runGateway(defaultConfig(args[0] ?? options.config), undefined, { earlySignals });
        runtime.started(() => gateway.messagesReceived);
      } catch (err) {
        // Loading or starting failed: the signals get their default action back (runGateway released them if it could).
        earlySignals.release();
        throw err;
      }
      return KEEP_RUNNING;
    }
    case 'validate': {
      const { validateCommand } = await import('./cli/validate.js');
      return validateCommand(defaultConfig(args[0] ?? options.config));
    }
    case 'health': {
      const { healthCommand } = await import('./cli/health.js');
      return healthCommand(
        options.url ?? 'http://127.0.0.1:8080',
        options.timeout ? Number(options.timeout) : undefined,
      );
    }
    case 'passwd': {
      const { passwdCommand } = await import('./cli/passwd.js');
      return passwdCommand(args[0]);
    }
  }
}

async function holdImportForTest(): Promise<void> {
  process.stderr.write(`zephyr2mqtt: ${HOLD_IMPORT_ENV}: loading held until a line on stdin\n`);
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();
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
