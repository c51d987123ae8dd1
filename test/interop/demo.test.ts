// `npm run demo` as a newcomer runs it: every simulated transport shows live data on MQTT within seconds,
// and Ctrl-C stops it cleanly. Runs on free ports so a broker already on 1883 cannot get in the way.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
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
    const socket = createSocket('udp6').bind(0, '::', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

const EXPECTED = ['esp', 'heart', 'thermometer', 'bthome', 'porch-node', 'lwm2m-node', 'uart-sensor'];

describe('npm run demo', () => {
  let demo: ChildProcess | undefined;
  afterAll(() => {
    if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  });

  it('shows live state from BLE, CoAP, LwM2M and serial devices, then stops on SIGINT', async () => {
    const ports = { mqtt: await freeTcpPort(), http: await freeTcpPort(), coap: await freeUdpPort() };
    demo = spawn(process.execPath, ['--import', 'tsx', 'test/sim/demo.ts'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        DEMO_MQTT_PORT: String(ports.mqtt),
        DEMO_HTTP_PORT: String(ports.http),
        DEMO_COAP_PORT: String(ports.coap),
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
  });
});
