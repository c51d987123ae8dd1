// Runs the gateway as a child process (for signals and exit codes) and finds its ephemeral ports.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = 'gateway/cli.ts';
export const TEST_ENTRY = 'test/helpers/gateway-process.ts';

export interface ChildGateway {
  child: ChildProcess;
  httpUrl: string;
  mqttUrl: string;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  kill(): void;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnTs(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion (bounded by timeoutMs) and returns its exit code and output. */
export async function runCli(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnTs([CLI, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin?.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Starts `entry` with the config and waits until its HTTP listener answers /healthz. */
export async function startChildGateway(
  configPath: string,
  entry = TEST_ENTRY,
  timeoutMs = 15_000,
): Promise<ChildGateway> {
  const child = spawnTs(entry === CLI ? [CLI, 'run', '--config', configPath] : [entry, configPath]);
  let out = '';
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  // "zephyr2mqtt started" is logged once the broker, HTTP listener and adapters are up.
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gateway did not start within ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const port = /"port":(\d+)[^\n]*"msg":"HTTP listener up"/.exec(out)?.[1];
      if (port && out.includes('"msg":"zephyr2mqtt started"')) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before it started:\n${out}`));
    });
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const health = (await fetch(`${httpUrl}/healthz`).then((r) => r.json())) as {
    listeners?: Array<{ type: string; port: number }>;
  };
  const mqtt = health.listeners?.find((l) => l.type === 'mqtt');
  if (!mqtt) throw new Error(`gateway never became ready:\n${out}`);
  return {
    child,
    httpUrl,
    mqttUrl: `mqtt://127.0.0.1:${mqtt.port}`,
    output: () => out,
    exited,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
