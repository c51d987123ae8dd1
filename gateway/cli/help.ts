// Help texts of the `zephyr2mqtt` command and its subcommands.
import { VERSION } from '../version.js';

export const MAIN_HELP = `zephyr2mqtt ${VERSION}: bridge Zephyr devices to MQTT

Usage:
  zephyr2mqtt run [FILE]               run the gateway
  zephyr2mqtt validate [FILE]          check a config file (exit 2 when invalid)
  zephyr2mqtt health [--url URL]       exit 0 only when the gateway is healthy
  zephyr2mqtt passwd USER              print a password hash for broker.users
  zephyr2mqtt help [COMMAND]           this help, or a command's

FILE is the config file, also given as -c/--config FILE (default $ZEPHYR2MQTT_CONFIG, else ./gateway.yaml).
Options may stand before or after the command.

Options: --help (also after a command: zephyr2mqtt run --help), --version`;

export const COMMAND_HELP: Record<string, string> = {
  run: `Usage: zephyr2mqtt run [FILE]

Runs the gateway: embedded MQTT broker, adapters, HTTP /healthz /readyz /metrics.
  FILE, -c, --config FILE   config file, given one way or the other (default $ZEPHYR2MQTT_CONFIG,
                            else ./gateway.yaml)

Signals: SIGHUP reloads the config (an invalid file is rejected and the running config stays);
SIGTERM/SIGINT publish offline states, flush persistence and exit 0 within 10 s.
Environment: LOG_LEVEL (root level), LOG_LEVELS=coap=debug,broker=warn (per module),
LOG_FORMAT=json (no pretty output on a TTY), ZEPHYR2MQTT_HEAP_TUNING=off (V8's default heap
sizing and compilers; about 20 MB more idle RSS and 40 MB more after bursts, see docs/troubleshooting.md).
Exit status: 2 invalid config, 1 cannot start (e.g. a listener port in use).`,
  validate: `Usage: zephyr2mqtt validate [FILE]

Checks a config file without starting anything: YAML syntax, unknown keys, types, device entries,
\${ENV} and \${file:...} references, that the files run reads at start (TLS cert, key and ca
of mqtts listeners and of an enabled bridge, bridge.password_file) can be read, and the broker
users run refuses to start with (none while allow_anonymous is false, one listed twice, a
password_hash that is no scrypt hash). Each problem names file:line:column, the key path, what
was expected and a hint. Devices left on an adapter the config disables are a warning (exit 0).
  FILE, -c, --config FILE   config file, given one way or the other (default $ZEPHYR2MQTT_CONFIG,
                            else ./gateway.yaml)
Exit status: 0 valid, 2 invalid.`,
  health: `Usage: zephyr2mqtt health [--url URL] [--timeout MS]

Asks a running gateway's /readyz (used by the container HEALTHCHECK).
  --url URL           base URL of the gateway's HTTP listener (default http://127.0.0.1:8080);
                      a URL ending in /readyz or /healthz is asked as it is
  --timeout MS        give up after MS milliseconds (default 5000)
Exit status: 0 ready, 1 not ready or unreachable (the reason on standard error), 2 bad arguments.`,
  passwd: `Usage: zephyr2mqtt passwd USER

Reads a password (prompted twice on a terminal, else the first line of standard input) and prints
its scrypt hash for broker.users[].password_hash. The password itself is never stored.
  echo -n 's3cret' | zephyr2mqtt passwd dashboard
Exit status: 0 printed, 2 empty password or no USER.`,
};
