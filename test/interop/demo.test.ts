// `npm run demo` as a newcomer runs it: every simulated transport shows live data on MQTT within seconds,
// and Ctrl-C stops it cleanly: socat gone, temporary directory removed. Runs on loopback and free ports so a
// broker already on 1883 cannot get in the way (DEMO_TEST_PORT_BASE=N takes N, N+1 and N+2 instead).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';

function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4').bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

async function demoPorts(): Promise<{ mqtt: number; http: number; coap: number }> {
  const base = Number(process.env.DEMO_TEST_PORT_BASE ?? 0);
  if (base > 0) return { mqtt: base, http: base + 1, coap: base + 2 };
  return { mqtt: await freeTcpPort(), http: await freeTcpPort(), coap: await freeUdpPort() };
}

/** Processes whose command line mentions `text` (the demo's socat names its pty links in the work dir). */
function processesMentioning(text: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(text));
}

const EXPECTED = ['esp', 'heart', 'thermometer', 'bthome', 'porch-node', 'lwm2m-node', 'uart-sensor'];

describe('npm run demo', () => {
  let demo: ChildProcess | undefined;
  afterAll(() => {
    if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  });

  it('shows live state from BLE, CoAP, LwM2M and serial devices, then stops on SIGINT', async () => {
    const ports = await demoPorts();
    demo = spawn(process.execPath, ['--import', 'tsx', 'test/sim/demo.ts'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        DEMO_MQTT_PORT: String(ports.mqtt),
        DEMO_HTTP_PORT: String(ports.http),
        DEMO_COAP_PORT: String(ports.coap),
        DEMO_COAP_BIND: '127.0.0.1',
      },
    });
    let output = '';
    demo.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    demo.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 30_000);
      const check = () => {
        if (output.includes('demo is running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      demo?.stdout?.on('data', check);
      demo?.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
    });
    expect(output).not.toContain('did not start');
    const work = dirname(/config: (\S+)\)/.exec(output)?.[1] ?? '');
    expect(work).toMatch(/zephyr2mqtt-demo-/);
    expect(processesMentioning(work)).not.toEqual([]); // socat

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { reconnectPeriod: 0 });
    const seen = new Map<string, Record<string, unknown>>();
    client.on('message', (topic, payload, packet) => {
      if (packet.retain) return; // live updates only
      const id = topic.split('/')[1] ?? '';
      try {
        seen.set(id, JSON.parse(payload.toString()) as Record<string, unknown>);
      } catch {
        // not a state message
      }
    });
    await client.subscribeAsync('zephyr2mqtt/+');
    await expect.poll(() => EXPECTED.filter((id) => !seen.has(id)), { timeout: 20_000, interval: 250 }).toEqual([]);
    expect(seen.get('lwm2m-node')?.temperature).toEqual(expect.any(Number));
    expect(seen.get('uart-sensor')?.temperature).toEqual(expect.any(Number));
    await client.endAsync();

    const exited = new Promise<number | null>((resolve) => demo?.once('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(processesMentioning(work)).toEqual([]);
    expect(existsSync(work)).toBe(false);
  });
});
