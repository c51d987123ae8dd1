#!/usr/bin/env node
// The `zephyr2mqtt` command: run | validate | health | passwd.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';
import { runGateway } from './main.js';
import { VERSION } from './version.js';

const USAGE = `zephyr2mqtt ${VERSION}: bridge Zephyr devices to MQTT

Usage:
  zephyr2mqtt run [--config FILE]      run the gateway (default ./gateway.yaml or $ZEPHYR2MQTT_CONFIG)
  zephyr2mqtt validate FILE            check a config file (exit 2 when invalid)
  zephyr2mqtt health [--url URL]       exit 0 only when the gateway is healthy (default http://127.0.0.1:8080)
  zephyr2mqtt passwd USER              print a password hash for broker.users (reads the password from stdin)

Options: --help, --version`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (command === '--version' || command === '-v' || values.version) {
    console.log(VERSION);
    return 0;
  }
  if (!command || command === '--help' || command === '-h' || values.help) {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  switch (command) {
    case 'run': {
      const file = values.config ?? process.env.ZEPHYR2MQTT_CONFIG ?? './gateway.yaml';
      await runGateway(file);
      return -1; // keep running
    }
    case 'validate': {
      const file = positionals[0] ?? values.config;
      if (!file) {
        console.error('validate: missing FILE');
        return 2;
      }
      await loadConfigFile(file);
      console.log(`${file}: valid`);
      return 0;
    }
    case 'health': {
      const url = `${(values.url ?? 'http://127.0.0.1:8080').replace(/\/$/, '')}/readyz`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        console.log(body.trim());
        return res.ok ? 0 : 1;
      } catch (err) {
        console.error(`unhealthy: ${err instanceof Error ? err.message : String(err)} (${url})`);
        return 1;
      }
    }
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
