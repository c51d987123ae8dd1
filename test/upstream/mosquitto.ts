// Starts a Debian `mosquitto` on its own port with a generated config (never the system service).
// Used by the interop suite and bench/upstream.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export class Mosquitto {
  #child: ChildProcess | undefined;
  port = 0;

  /** `extra` is appended to the generated config (listener options, bridge `connection` blocks...). */
  constructor(
    private readonly dir: string,
    private readonly extra = '',
    private readonly name = 'mosquitto',
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(port?: number): Promise<void> {
    this.port = port ?? (this.port || (await freePort()));
    const conf = join(this.dir, `${this.name}.conf`);
    await writeFile(
      conf,
      [
        'per_listener_settings false',
        // Run as root stays root: the default drops to user mosquitto, which cannot read the test's 0700 temp dirs.
        'user root',
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${this.dir}/`,
        `persistence_file ${this.name}.db`,
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        'max_queued_messages 0',
        this.extra,
      ].join('\n'),
    );
    const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) =>
        reject(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error('mosquitto not found: install it (Debian: apt-get install mosquitto mosquitto-clients)')
            : err,
        ),
      );
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (/mosquitto version \S+ running/.test(log)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}) before listening:\n${log}`)));
    });
    child.stderr!.resume();
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}
