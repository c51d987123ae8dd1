// Drives Debian's libcoap3-bin tools (coap-client-notls, coap-server-notls) as real third-party CoAP peers.
import { type ChildProcessWithoutNullStreams, execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';

export const COAP_CLIENT = 'coap-client-notls';
export const COAP_SERVER = 'coap-server-notls';

/** Throws with install instructions when the libcoap tools are missing. */
export function requireLibcoap(): void {
  for (const tool of [COAP_CLIENT, COAP_SERVER]) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
    if (!found) throw new Error(`${tool} not found: install it with "apt-get install libcoap3-bin" (Debian/Ubuntu)`);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run coap-client-notls to completion (bounded by timeoutMs). `prefix` runs it e.g. inside `ip netns exec`. */
export function runCoapClient(args: string[], timeoutMs = 15_000, prefix: string[] = []): Promise<RunResult> {
  const argv = [...prefix, COAP_CLIENT, ...args];
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code: unknown = error ? (error as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : error ? 1 : 0, stdout, stderr });
    });
  });
}

/** A long-running libcoap process (observing client or server) whose output can be awaited. */
export class LibcoapProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  private readonly waiters = new Set<() => void>();

  constructor(argv: string[]) {
    this.child = spawn(argv[0] as string, argv.slice(1));
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      for (const wake of this.waiters) wake();
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
  }

  waitForOutput(predicate: (stdout: string) => boolean, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this.stdout)) return;
        cleanup();
        resolve(this.stdout);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `libcoap output did not match within ${timeoutMs} ms; stdout=${this.stdout.slice(-500)} stderr=${this.stderr.slice(-500)}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

/** A UDP port that was free a moment ago (libcoap's server cannot report an ephemeral port back to us). */
export async function freeUdpPort(address = '::1'): Promise<number> {
  const socket = createSocket(isIPv4(address) ? 'udp4' : 'udp6');
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Runs coap-client at verbosity 7 and returns the response line it logs (`v:1 t:ACK c:2.01 ... [ options ]`). */
export async function coapResponseLine(port: number, method: string, path: string, payload?: string): Promise<string> {
  const args = ['-v', '7', '-B', '5', '-m', method];
  if (payload !== undefined) args.push('-t', '40', '-e', payload);
  const run = await runCoapClient([...args, `coap://127.0.0.1:${port}${path}`]);
  const line = `${run.stdout}\n${run.stderr}`.split('\n').find((l) => /t:(ACK|CON|NON) c:[2-5]\.\d\d/.test(l));
  if (!line) throw new Error(`no CoAP response from the gateway:\n${run.stdout}\n${run.stderr}`);
  return line;
}
