// Runs the real gateway CLI in a child process (so a test can SIGKILL it) and reports its MQTT port.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildGateway {
  child: ChildProcess;
  mqttPort: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChildGateway(configPath: string, timeoutMs = 30_000): Promise<ChildGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'run', '--config', configPath], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child gateway did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`child gateway exited early (${code ?? signal}): ${stderr}`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let entry: { msg?: string; type?: string; port?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      // The broker's own log line: persistence is loaded and the listener accepts clients.
      if (entry.msg === 'MQTT listener up' && entry.type === 'mqtt' && entry.port) {
        clearTimeout(timer);
        resolve({ child, mqttPort: entry.port, exited });
      }
    });
  });
}
