// `npm run demo`: a gateway on the example config plus simulated Zephyr devices of every transport, so a
// newcomer sees live data on MQTT and in the dashboard within seconds. Nothing here needs hardware:
// BLE runs through the simulated noble binding, CoAP and LwM2M over loopback UDP, serial over a socat pty.
// DEMO_SECONDS=N stops it after N seconds (used by the demo's own test).

import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import coapPacket from 'coap-packet';
import { parseDocument } from 'yaml';
import { runGateway } from '../../gateway/main.js';
import { demoDevices, startBleDemo } from './ble/demo.js';
import { SimLwm2mClient } from './lwm2m/zephyr-client.js';
import { type PtyPair, startPtyPair } from './serial/pty-pair.js';
import { ZephyrDeviceSim } from './serial/zephyr-device.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
// The example config's ports unless overridden (the demo's own test runs it on free ports, CoAP on loopback).
const COAP_PORT = Number(process.env.DEMO_COAP_PORT ?? 5683);
const COAP_BIND = process.env.DEMO_COAP_BIND;
const MQTT_PORT = process.env.DEMO_MQTT_PORT ? Number(process.env.DEMO_MQTT_PORT) : undefined;
const HTTP_PORT = process.env.DEMO_HTTP_PORT ? Number(process.env.DEMO_HTTP_PORT) : undefined;

type Cleanup = () => Promise<unknown> | unknown;

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'zephyr2mqtt-demo-'));
  // Undone last to first on Ctrl-C, or when the start fails half-way.
  const cleanups: Cleanup[] = [() => rm(work, { recursive: true, force: true })];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error(`demo: cleaning up failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    process.exit(code);
  };
  try {
    await startDemo(work, cleanups);
  } catch (err) {
    console.error(err);
    await shutdown(1);
  }
  const seconds = Number(process.env.DEMO_SECONDS ?? 0);
  if (seconds > 0) setTimeout(() => void shutdown(0), seconds * 1000);
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

async function startDemo(work: string, cleanups: Cleanup[]): Promise<void> {
  const haveSocat = !spawnSync('socat', ['-V']).error;
  const pty: PtyPair | undefined = haveSocat ? await startPtyPair(work) : undefined;
  if (pty) cleanups.push(() => pty.unplug());

  const configPath = join(work, 'gateway.yaml');
  await writeFile(configPath, await demoConfig(work, pty?.gatewayPath));
  // The gateway's own signal handlers would exit as soon as it stopped, before the rest is cleaned up.
  const gateway = await runGateway(configPath, undefined, { signals: false });
  cleanups.push(() => gateway.stop());

  // One simulator failing to start must not take the others down: say so and carry on.
  const sims: Array<[string, () => Promise<() => Promise<void> | void> | (() => void)]> = [
    ['BLE', startBleDemo],
    ['CoAP', startCoapNode],
    ['LwM2M', startLwm2mClient],
    ...(pty ? [['serial', () => startSerialBoard(pty)] as [string, () => Promise<() => Promise<void>>]] : []),
  ];
  for (const [name, start] of sims) {
    try {
      cleanups.push(await start());
    } catch (err) {
      console.error(`demo: the ${name} simulator did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  const http = gateway.httpAddress;
  console.log(`
  zephyr2mqtt demo is running (config: ${configPath})
    devices:   BLE ${demoDevices.map((d) => d.id).join(', ')}; CoAP porch-node; LwM2M lwm2m-node${pty ? '; serial uart-sensor' : ' (serial skipped: install socat)'}
    MQTT:      mosquitto_sub -h 127.0.0.1 -p ${MQTT_PORT ?? 1883} -t 'zephyr2mqtt/#' -v
    dashboard: http://127.0.0.1:${http?.port ?? 8080}/
  Ctrl-C stops it.
`);
}

/** The example config with the demo devices onboarded and the simulated BLE binding. */
async function demoConfig(work: string, serialPath: string | undefined): Promise<string> {
  const doc = parseDocument(await readFile(join(root, 'config/gateway.example.yaml'), 'utf8'));
  doc.setIn(['gateway', 'data_dir'], join(work, 'data'));
  doc.setIn(['adapters', 'ble', 'binding'], join(here, 'ble/binding.ts'));
  doc.setIn(['adapters', 'coap', 'port'], COAP_PORT);
  if (COAP_BIND !== undefined) doc.setIn(['adapters', 'coap', 'bind'], COAP_BIND);
  if (MQTT_PORT !== undefined)
    doc.setIn(['broker', 'listeners'], [{ type: 'mqtt', host: '127.0.0.1', port: MQTT_PORT }]);
  if (HTTP_PORT !== undefined) doc.setIn(['http', 'port'], HTTP_PORT);
  const devices: unknown[] = [
    ...demoDevices,
    { id: 'porch-node', name: 'Porch (CoAP)', transport: 'coap' },
    { id: 'lwm2m-node', name: 'LwM2M sample client', transport: 'coap', lwm2m: { endpoint: 'zephyr-demo' } },
  ];
  if (serialPath) devices.push({ id: 'uart-sensor', name: 'UART board', transport: 'serial', path: serialPath });
  doc.set('devices', devices);
  return doc.toString();
}

/** A Zephyr coap_client-style node PUTting JSON state to /ps/porch-node every 2 s. */
function startCoapNode(): () => void {
  const socket = createSocket('udp4');
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const state = { temperature: 18 + (tick % 20) / 4, humidity: 55 + (tick % 7) };
    const packet = coapPacket.generate({
      messageId: tick & 0xffff,
      token: Buffer.from([tick & 0xff]),
      code: '0.03',
      confirmable: false,
      options: [
        { name: 'Uri-Path', value: Buffer.from('ps') },
        { name: 'Uri-Path', value: Buffer.from('porch-node') },
        { name: 'Content-Format', value: Buffer.from([50]) },
      ],
      payload: Buffer.from(JSON.stringify(state)),
    });
    socket.send(packet, COAP_PORT, '127.0.0.1');
  }, 2000);
  return () => {
    clearInterval(timer);
    socket.close();
  };
}

/** The lwm2m_client sample: registers, then its temperature drifts every 3 s (observers are notified). */
async function startLwm2mClient(): Promise<() => Promise<void>> {
  const client = new SimLwm2mClient({ server: { address: '127.0.0.1', port: COAP_PORT }, endpoint: 'zephyr-demo' });
  await client.start();
  await client.register();
  let tick = 0;
  const timer = setInterval(() => client.setValue('/3303/0/5700', 20 + (tick++ % 50) / 10), 3000);
  return async () => {
    clearInterval(timer);
    await client.deregister().catch(() => {});
    await client.stop();
  };
}

/** A board on a UART: shell/log lines, NDJSON readings every 2 s, and SMP answers. */
async function startSerialBoard(pty: PtyPair): Promise<() => Promise<void>> {
  const board = await ZephyrDeviceSim.open(pty.devicePath);
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    void board.log('inf', 'main', `sample ${tick}`);
    void board.ndjson({ temperature: 21 + (tick % 10) / 10, uptime: tick * 2 });
  }, 2000);
  return async () => {
    clearInterval(timer);
    await board.close();
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
