// SMP (mcumgr) over UDP to a CoAP device, through the real gateway: the img_mgmt simulator behind Zephyr's UDP
// transport on ::1. Firmware upload sized to the device buffer and to `max_packet`, a lost datagram resent with the
// same sequence number, and datagrams that are not the device's answers.
import { createSocket } from 'node:dgram';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { sampleValue } from '../../gateway/prom-text.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { ImgMgmtUdpDevice } from '../../sim/coap/smp-udp-device.js';
import { ImgMgmtDevice } from '../serial/img-mgmt-sim.js';
import { buildImage, imageHashOf } from '../serial/mcuboot-builder.js';
import { randomBytes, rng } from '../serial/random.js';

type Data = Record<string, unknown>;

const image = buildImage({ body: Buffer.alloc(5000, 0x3c), version: [2, 1, 0, 0] });
const imageHash = imageHashOf(image).toString('hex');

let gw: TestGateway | undefined;
let sim: ImgMgmtUdpDevice | undefined;
afterEach(async () => {
  await gw?.stop();
  await sim?.close();
  gw = undefined;
  sim = undefined;
});

async function start(
  smp: Data = {},
  device = new ImgMgmtDevice(),
): Promise<{ gw: TestGateway; client: MqttClient; sim: ImgMgmtUdpDevice }> {
  sim = await ImgMgmtUdpDevice.start(device);
  gw = await startTestGateway({
    adapters: { coap: { enabled: true, port: 0 } },
    devices: [
      {
        id: 'node',
        transport: 'coap',
        address: '::1',
        smp: { port: sim.port, timeout_ms: 300, retries: 2, ...smp },
      },
    ],
  });
  return { gw, client: await gw.connect(), sim };
}

async function putFirmware(gw: TestGateway): Promise<void> {
  // The CoAP adapter's own data directory, as for serial and BLE: <data_dir>/adapters/coap/firmware.
  const dir = join(gw.dataDir, 'adapters', 'coap', 'firmware');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'node.signed.bin'), image);
}

async function decodeErrors(gw: TestGateway): Promise<number | undefined> {
  const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  return sampleValue(text, 'zephyr2mqtt_decode_errors_total', { adapter: 'coap', reason: 'smp_packet' });
}

/** SMP datagrams from the device the gateway accounted for: decoded (messages in) or refused (decode errors). */
async function datagramsSeen(gw: TestGateway): Promise<number> {
  const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  const decoded = sampleValue(text, 'zephyr2mqtt_messages_total', { adapter: 'coap', direction: 'in' }) ?? 0;
  const refused = sampleValue(text, 'zephyr2mqtt_decode_errors_total', { adapter: 'coap', reason: 'smp_packet' }) ?? 0;
  return decoded + refused;
}

describe('coap adapter: device/ota_update over SMP UDP', () => {
  it('uploads the image in datagrams that fit the device buffer, marks it for test and resets the device', async () => {
    const { gw, client, sim } = await start();
    await putFirmware(gw);
    const done = gw.waitForMessage<Data>(client, 'zephyr2mqtt/node', (m) => (m.update as Data)?.state === 'idle');
    const res = await gw.request(client, 'device/ota_update', { device: 'node', file: 'node.signed.bin' }, 15_000);

    expect(res).toMatchObject({
      status: 'ok',
      data: { device: 'node', bytes: image.length, version: '2.1.0', hash: imageHash, tested: true, reset: true },
    });
    expect(sim.device.stored().equals(image)).toBe(true);
    expect(sim.device.testHash?.toString('hex')).toBe(imageHash);
    expect(sim.device.resets).toBe(1);
    // Chunks sized to all of the device's 256-byte buffer: UDP adds no framing inside it.
    expect(sim.oversized).toBe(0);
    expect(Math.max(...sim.datagramSizes)).toBeLessThanOrEqual(256);
    expect(Math.max(...sim.datagramSizes)).toBeGreaterThanOrEqual(254);
    expect((await done).update).toEqual({ state: 'idle', installed_version: '1.0.0', latest_version: '2.1.0' });
  });

  it("takes Zigbee2MQTT's check and update with only the id, from the device's own firmware directory", async () => {
    const { gw, client, sim } = await start();
    const dir = join(gw.dataDir, 'adapters', 'coap', 'firmware', 'node');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'node-2.1.0.bin'), image);
    const available = gw.waitForMessage<Data>(
      client,
      'zephyr2mqtt/node',
      (m) => (m.update as Data)?.state === 'available',
    );
    const check = await gw.request(client, 'device/ota_update/check', { id: 'node' });
    expect(check).toMatchObject({
      status: 'ok',
      data: { id: 'node', update_available: true, installed_version: '1.0.0', latest_version: '2.1.0' },
    });
    expect((await available).update).toEqual({
      state: 'available',
      installed_version: '1.0.0',
      latest_version: '2.1.0',
    });
    const update = await gw.request(client, 'device/ota_update/update', { id: 'node' }, 15_000);
    expect(update).toMatchObject({ status: 'ok', data: { file: 'node/node-2.1.0.bin', version: '2.1.0' } });
    expect(sim.device.stored().equals(image)).toBe(true);
  });

  it('sizes chunks to max_packet when the device buffer is larger', async () => {
    const device = new ImgMgmtDevice();
    device.bufSize = 4096;
    const { gw, client, sim } = await start({ max_packet: 600 }, device);
    await putFirmware(gw);
    const res = await gw.request(client, 'device/ota_update', { device: 'node', file: 'node.signed.bin' }, 15_000);
    expect(res.status).toBe('ok');
    expect(sim.device.stored().equals(image)).toBe(true);
    expect(Math.max(...sim.datagramSizes)).toBeLessThanOrEqual(600);
    expect(Math.max(...sim.datagramSizes)).toBeGreaterThanOrEqual(595);
  });

  it('refuses a device/smp request larger than max_packet before sending it', async () => {
    const { gw, client, sim } = await start({ max_packet: 256 });
    const res = await gw.request(client, 'device/smp', {
      device: 'node',
      command: 'echo',
      data: { d: 'x'.repeat(300) },
    });
    expect(res.status).toBe('error');
    expect(res.error).toMatch(/SMP request of \d+ bytes is larger than the transport's 256-byte packets/);
    expect(sim.datagramSizes).toEqual([]);
  });
});

describe('coap adapter: SMP UDP datagrams', () => {
  it('resends a lost request with the same sequence number', async () => {
    const { gw, client, sim } = await start();
    sim.loseNextRequests = 1;
    const res = await gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' });
    expect(res).toMatchObject({ status: 'ok', data: { attempts: 2, data: { buf_size: 256 } } });
    expect(sim.sequences).toHaveLength(2);
    expect(sim.sequences[0]).toBe(sim.sequences[1]);
  });

  it('takes answers only from the device address and SMP port; counts garbage from it as a decode error', async () => {
    const { gw, client, sim } = await start();
    sim.loseNextRequests = 1;
    const pending = gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' });
    await expect.poll(() => sim.datagramSizes.length).toBe(1);
    const gateway = sim.lastPeer;
    if (!gateway) throw new Error('no request seen');
    // A forged answer to the lost request (sequence 0) from another port of the same host is not the device's.
    const forger = createSocket('udp6');
    await new Promise<void>((resolve) => forger.bind(0, '::1', () => resolve()));
    const forged = encodeSmpMessage({ op: 1, version: 1, group: 0, id: 6, seq: 0, body: { buf_size: 9999 } });
    await new Promise<void>((resolve) => forger.send(forged, gateway.port, '::1', () => resolve()));
    forger.close();
    // Bytes from the device's own port that are not an SMP packet.
    const before = (await decodeErrors(gw)) ?? 0;
    await sim.send(Buffer.from([0x01, 0x02, 0x03]));
    await expect.poll(() => decodeErrors(gw)).toBe(before + 1);

    const res = await pending;
    expect(res).toMatchObject({ status: 'ok', data: { attempts: 2, data: { buf_size: 256 } } });
  });

  it('accounts for every random or mutated datagram from the device and still answers afterwards', async () => {
    const { gw, client, sim } = await start();
    expect(await gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' })).toMatchObject({
      status: 'ok',
    });
    const valid = encodeSmpMessage({ op: 1, version: 1, group: 0, id: 6, seq: 9, body: { buf_size: 256, rc: 0 } });
    const next = rng(0x5e7d9);
    const datagram = (): Uint8Array => {
      if (next() < 0.3) return randomBytes(next, 1 + Math.floor(next() * 80));
      const bytes = Uint8Array.from(valid);
      for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--) {
        bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      }
      return next() < 0.2 ? bytes.subarray(0, Math.floor(next() * bytes.length) + 1) : bytes;
    };
    let sent = await datagramsSeen(gw);
    // In batches, each accounted for before the next goes out, so that no datagram is lost in a full socket buffer.
    for (let batch = 0; batch < 20; batch++) {
      for (let i = 0; i < 100; i++) await sim.send(datagram());
      sent += 100;
      await expect.poll(() => datagramsSeen(gw), { timeout: 5000, interval: 20 }).toBe(sent);
    }
    const res = await gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' });
    expect(res).toMatchObject({ status: 'ok', data: { attempts: 1, data: { buf_size: 256 } } });
  });

  it('fails after its attempts when the device does not answer, naming them', async () => {
    const { gw, client, sim } = await start({ retries: 1 });
    sim.loseNextRequests = 2;
    const res = await gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' });
    expect(res.status).toBe('error');
    expect(res.error).toMatch(/no response after 2 attempt\(s\) of 300 ms/);
  });

  it('does not send to a zone no interface of this host has, and says so', async () => {
    gw = await startTestGateway({
      adapters: { coap: { enabled: true, port: 0 } },
      devices: [{ id: 'far', transport: 'coap', address: 'fe80::1%nosuchif0', smp: { timeout_ms: 300, retries: 2 } }],
    });
    const client = await gw.connect();
    const res = await gw.request(client, 'device/smp', { device: 'far', command: 'mcumgr_params' });
    expect(res.status).toBe('error');
    expect(res.error).toContain('SMP request to [fe80::1%nosuchif0]:1337 not sent: interface "nosuchif0" is not on');
  });

  it('says how to turn SMP on for a CoAP device without it', async () => {
    gw = await startTestGateway({
      adapters: { coap: { enabled: true, port: 0 } },
      devices: [{ id: 'plain', transport: 'coap', address: '::1' }],
    });
    const client = await gw.connect();
    const res = await gw.request(client, 'device/smp', { device: 'plain', command: 'mcumgr_params' });
    expect(res).toMatchObject({
      status: 'error',
      error: 'device "plain" has no SMP: set `smp: true` (with its `address`) in its config',
    });
  });
});

describe('coap adapter: SMP UDP across a config reload', () => {
  async function editConfig(gw: TestGateway, client: MqttClient, edit: (text: string) => string): Promise<void> {
    await writeFile(gw.configPath, edit(await readFile(gw.configPath, 'utf8')));
    expect(await gw.request(client, 'config/reload')).toMatchObject({ status: 'ok' });
  }

  it('keeps an upload running through a reload that leaves the device as it was', async () => {
    const { gw, client, sim } = await start();
    await putFirmware(gw);
    sim.device.faults.holdUpload = true;
    const pending = gw.request(client, 'device/ota_update', { device: 'node', file: 'node.signed.bin' }, 15_000);
    await sim.device.uploadChunksHandled(1);
    await editConfig(gw, client, (text) => text.replace('devices:', 'devices:\n  - id: other\n    transport: coap'));
    sim.device.release();
    expect(await pending).toMatchObject({ status: 'ok', data: { hash: imageHash } });
    expect(sim.device.stored().equals(image)).toBe(true);
  });

  it('fails the request in flight when the device SMP settings change, and sends the next one to the new port', async () => {
    const { gw, client, sim } = await start({ timeout_ms: 10_000 });
    const moved = await ImgMgmtUdpDevice.start(new ImgMgmtDevice());
    try {
      sim.loseNextRequests = 1;
      const pending = gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' });
      await expect.poll(() => sim.datagramSizes.length).toBe(1);
      await editConfig(gw, client, (text) => text.replace(`port: ${sim.port}`, `port: ${moved.port}`));
      expect(await pending).toMatchObject({
        status: 'error',
        error: 'device "node": SMP transport closed (device reconfigured or adapter stopped)',
      });
      const next = await gw.request(client, 'device/smp', { device: 'node', command: 'mcumgr_params' });
      expect(next).toMatchObject({ status: 'ok', data: { attempts: 1 } });
      expect(moved.datagramSizes).toHaveLength(1);
    } finally {
      await moved.close();
    }
  });
});
