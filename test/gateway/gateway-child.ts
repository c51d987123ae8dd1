// A gateway child process whose JSON log lines the test can await (no sleeps), with its exit code.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface GatewayChild {
  child: ChildProcess;
  /** Resolves with the exit code, or the signal name when a signal ended it. */
  exited: Promise<number | string>;
  /** The first log line with this message (already written or still to come); rejects after timeoutMs. */
  logLine(msg: string, timeoutMs?: number): Promise<LogLine>;
  output(): string;
  kill(): void;
}

/** Runs `node --import tsx <args>` in the repository with JSON logs at info plus `env`. */
export function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}): GatewayChild {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    partial += d.toString();
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const text of complete) {
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        // not a log line
      }
    }
    for (const wake of [...waiters]) wake();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      for (const wake of [...waiters]) wake();
    }),
  );
  const logLine = (msg: string, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const line = lines.find((l) => l.msg === msg);
        if (line) finish(() => resolve(line));
        else if (child.exitCode !== null || child.signalCode !== null)
          finish(() => reject(new Error(`process ended before logging "${msg}":\n${out}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no "${msg}" within ${timeoutMs} ms:\n${out}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    exited,
    logLine,
    output: () => out,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
