#!/usr/bin/env node
// The `zephyr2mqtt` command: run | validate | health | passwd | help, each with --help; --version anywhere.
import { type Command, type CommandOptions, parseCommandLine } from './cli/args.js';
import { ConfigError } from './config/errors.js';
import { tuneRuntime } from './runtime/tuning.js';
import { VERSION } from './version.js';

// Commands load what they need on demand: `--help` must not pay for adapter imports.

/** Returned by `run`: the process keeps running until a signal stops it. */
const KEEP_RUNNING = -1;

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
      const { runGateway } = await import('./main.js');
      const gateway = await runGateway(defaultConfig(args[0] ?? options.config));
      runtime.started(() => gateway.messagesReceived);
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
