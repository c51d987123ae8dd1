// SMP (mcumgr) over BLE GATT through the real gateway, the real noble and the simulated binding: a simulated
// smp_svr with a 23-byte MTU, so that requests go out in 20-byte writes and answers come back in 20-byte
// notifications.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleValue } from '../../gateway/prom-text.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { SimSmpServer } from '../../sim/ble/smp-server.js';
import { buildImage, imageHashOf } from '../serial/mcuboot-builder.js';
import { startBleGateway, waitForAvailability, world } from './helpers.js';

type Data = Record<string, unknown>;

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
  world.reset();
});

/** The gateway with one SMP device, connected and subscribed. */
async function start(
  server: SimSmpServer,
  smp: unknown = true,
): Promise<{ gw: TestGateway; client: MqttClient; server: SimSmpServer }> {
  world.add(server.peripheral);
  gw = await startBleGateway([{ id: 'board', transport: 'ble', match: { name: 'Zephyr SMP' }, smp }]);
  const client = await gw.connect();
  const online = waitForAvailability(gw, client, 'board', 'online');
  world.startAdvertising();
  await online;
  return { gw, client, server };
}

/**
 * The error of an echo once SMP set-up has ended: the device is online before its SMP subscription is answered
 * (or, when refused, times out), and until then requests are told it is not connected.
 */
async function smpRefusal(gw: TestGateway, client: MqttClient): Promise<string> {
  let error = '';
  await vi.waitFor(
    async () => {
      const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'x' } });
      error = String(res.error);
      expect(error).not.toMatch(/is not connected/);
    },
    { timeout: 4000, interval: 100 },
  );
  return error;
}

describe('ble adapter: device/smp over the SMP GATT service', () => {
  it('answers an echo; request and answer each fit one 20-byte write and notification', async () => {
    const { gw, client, server } = await start(new SimSmpServer());
    const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'hi' } });
    expect(res).toMatchObject({
      status: 'ok',
      data: { command: 'echo', group: 0, id: 0, rc: 0, attempts: 1, data: { r: 'hi' } },
    });
    // 8-byte header + {"d": "hi"} in 6 bytes of CBOR.
    expect(server.writeSizes).toEqual([14]);
    expect(server.notifySizes).toEqual([14]);
  });

  it('splits a long request into MTU - 3 byte writes and reassembles an answer sent over several notifications', async () => {
    const { gw, client, server } = await start(new SimSmpServer());
    const text = 'A'.repeat(150);
    const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: text } });
    expect(res).toMatchObject({ status: 'ok', data: { data: { r: text } } });
    // 8-byte header + 155 bytes of CBOR = 163 bytes (protocols.md §6.2): eight 20-byte fragments and a 3-byte one,
    // both ways.
    expect(server.writeSizes).toEqual([...Array(8).fill(20), 3]);
    expect(server.notifySizes).toEqual([...Array(8).fill(20), 3]);
    expect(server.requests).toHaveLength(1);
  });

  it('writes MTU - 3 bytes once the MTU was exchanged, and 20 bytes while noble reports none', async () => {
    const wide = await start(new SimSmpServer({ mtu: 100 }));
    const text = 'B'.repeat(150);
    await wide.gw.request(wide.client, 'device/smp', { device: 'board', command: 'echo', data: { d: text } });
    expect(wide.server.writeSizes).toEqual([97, 66]);
    await gw?.stop();
    gw = undefined;
    world.reset();

    const unknown = await start(new SimSmpServer({ mtu: null }));
    const res = await unknown.gw.request(unknown.client, 'device/smp', {
      device: 'board',
      command: 'echo',
      data: { d: text },
    });
    expect(res).toMatchObject({ status: 'ok', data: { data: { r: text } } });
    expect(Math.max(...unknown.server.writeSizes)).toBe(20);
  });

  it('runs mcumgr_params and image_state (answered by the img_mgmt simulator)', async () => {
    const { gw, client } = await start(new SimSmpServer());
    const params = await gw.request(client, 'device/smp', { device: 'board', command: 'mcumgr_params' });
    expect(params).toMatchObject({ status: 'ok', data: { data: { buf_size: 256, buf_count: 4 } } });
    const state = await gw.request(client, 'device/smp', { device: 'board', command: 'image_state' });
    expect(state).toMatchObject({
      status: 'ok',
      data: { data: { images: [{ slot: 0, version: '1.0.0', hash: 'aa'.repeat(32), active: true }] } },
    });
  });

  it('fails the request in flight with "device disconnected" when the link drops, and the next one at once', async () => {
    const { gw, client, server } = await start(new SimSmpServer(), { timeout_ms: 10_000, retries: 0 });
    server.silent = true;
    const received = server.nextRequest();
    const pending = gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'x' } });
    await received;
    server.peripheral.loseLink();
    const res = await pending;
    expect(res.status).toBe('error');
    expect(res.error).toBe('device "board": device disconnected');

    const next = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'y' } });
    expect(next.status).toBe('error');
    expect(next.error).toMatch(/^device "board" is not connected/);
    expect(server.requests).toHaveLength(1);
  });

  it('drops the link when an SMP write (with response) is never answered, and works again after the reconnect', async () => {
    const { gw, client, server } = await start(new SimSmpServer({ writeWithResponse: true }), { retries: 0 });
    server.refuseWrites = true;
    // Out of range until the test has seen it offline: a connectable device's adverts would mark it online again
    // (and it would reconnect at once).
    server.peripheral.inRange = false;
    const offline = waitForAvailability(gw, client, 'board', 'offline');
    const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'x' } });
    expect(res).toMatchObject({
      status: 'error',
      error: 'device "board": SMP write timed out after 1000 ms; link dropped',
    });
    await offline;
    server.refuseWrites = false;
    const online = waitForAvailability(gw, client, 'board', 'online');
    server.peripheral.inRange = true;
    await online;
    const again = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'y' } });
    expect(again).toMatchObject({ status: 'ok', data: { data: { r: 'y' } } });
  });

  it('keeps the session of a device that refuses the SMP subscription: telemetry flows, SMP requests say why', async () => {
    const battery = {
      uuid: '180f',
      characteristics: [{ uuid: '2a19', properties: ['read' as const, 'notify' as const], value: Buffer.from([80]) }],
    };
    const server = new SimSmpServer({ refuseSubscribe: true, otherServices: [battery] });
    const { gw, client } = await start(server);
    expect(await smpRefusal(gw, client)).toBe(
      'device "board": SMP characteristic refused the subscription (pairing required? ' +
        'CONFIG_MCUMGR_TRANSPORT_BT_PERM_RW_AUTHEN): subscribe to da2e7828fbce4e01ae9e261174997c48 timed out after 1000 ms',
    );
    // After the refusal, the session is still up.
    const notified = gw.waitForMessage<Data>(client, 'zephyr2mqtt/board', (m) => m.battery === 55);
    server.peripheral.update('2a19', Buffer.from([55]));
    expect(await notified).toMatchObject({ battery: 55 });
    expect(server.requests).toEqual([]);
  });

  it('forgets why SMP was unavailable once that device disconnects: requests then say it is not connected', async () => {
    const { gw, client, server } = await start(new SimSmpServer({ refuseSubscribe: true }));
    expect(await smpRefusal(gw, client)).toMatch(/refused the subscription/);
    // Out of range: its adverts would bring it back at once.
    server.peripheral.inRange = false;
    const offline = waitForAvailability(gw, client, 'board', 'offline');
    server.peripheral.loseLink();
    await offline;
    const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'y' } });
    expect(res).toMatchObject({
      status: 'error',
      error: 'device "board" is not connected (SMP needs its GATT link; it reconnects when it advertises)',
    });
  });

  it('refuses SMP requests to a BLE device without `smp` in its config', async () => {
    world.add(new SimSmpServer().peripheral);
    gw = await startBleGateway([{ id: 'board', transport: 'ble', match: { name: 'Zephyr SMP' }, connect: true }]);
    const client = await gw.connect();
    const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'x' } });
    expect(res).toMatchObject({ status: 'error', error: expect.stringContaining('has no SMP') });
  });
});

describe('ble adapter: device/ota_update over SMP', () => {
  const image = buildImage({ body: Buffer.alloc(3000, 0x5a), version: [1, 4, 2, 0] });
  const imageHash = imageHashOf(image).toString('hex');

  async function putFirmware(gw: TestGateway, file: string): Promise<void> {
    // The BLE adapter's own data directory, as for serial: <data_dir>/adapters/ble/firmware.
    const dir = join(gw.dataDir, 'adapters', 'ble', 'firmware');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, file), image);
  }

  it('uploads the image in fragments, marks it for test, resets the device and reports progress', async () => {
    const { gw, client, server } = await start(new SimSmpServer());
    await putFirmware(gw, 'board.signed.bin');
    const done = gw.waitForMessage<Data>(
      client,
      'zephyr2mqtt/board',
      (m) => (m.update as Data | undefined)?.state === 'idle',
      15_000,
    );
    const progress = gw.waitForMessage<Data>(
      client,
      'zephyr2mqtt/board',
      (m) => (m.update as Data | undefined)?.progress === 100,
      15_000,
    );
    const res = await gw.request(client, 'device/ota_update', { device: 'board', file: 'board.signed.bin' }, 15_000);

    expect(res).toMatchObject({
      status: 'ok',
      data: {
        device: 'board',
        bytes: image.length,
        version: '1.4.2',
        hash: imageHash,
        tested: true,
        reset: true,
        reset_confirmed: true,
        slots: [
          { slot: 0, version: '1.0.0', active: true },
          { slot: 1, version: '1.4.2', hash: imageHash, pending: true },
        ],
      },
    });
    expect(server.img.stored().equals(image)).toBe(true);
    expect(server.img.testHash?.toString('hex')).toBe(imageHash);
    expect(server.img.resets).toBe(1);
    // Chunks sized to the device's 256-byte SMP buffer (all of it: BLE adds no framing), each written in 20-byte
    // fragments.
    expect(server.img.uploadRequests().length).toBeGreaterThan(10);
    const packetSizes = server.img.uploadRequests().map((r) => 8 + r.header.length);
    expect(Math.max(...packetSizes)).toBeLessThanOrEqual(256);
    expect(Math.max(...packetSizes)).toBeGreaterThanOrEqual(254);
    expect(Math.max(...server.writeSizes)).toBe(20);
    expect((await progress).update).toEqual({
      state: 'updating',
      progress: 100,
      remaining: 0,
      installed_version: '1.0.0',
      latest_version: '1.4.2',
    });
    expect((await done).update).toEqual({ state: 'idle', installed_version: '1.0.0', latest_version: '1.4.2' });
  });

  it('fails an upload whose link drops with the offset reached, and reports update.state failed', async () => {
    const { gw, client, server } = await start(new SimSmpServer(), { timeout_ms: 10_000 });
    await putFirmware(gw, 'board.signed.bin');
    server.img.faults.holdUpload = true;
    const failed = gw.waitForMessage<Data>(
      client,
      'zephyr2mqtt/board',
      (m) => (m.update as Data | undefined)?.state === 'failed',
    );
    const pending = gw.request(client, 'device/ota_update', { device: 'board', file: 'board.signed.bin' });
    await server.img.uploadChunksHandled(1);
    server.peripheral.loseLink();
    const res = await pending;
    expect(res.status).toBe('error');
    expect(res.error).toBe(
      `device "board": firmware upload failed at offset 0 of ${image.length}: device "board": device disconnected`,
    );
    expect(res.data).toMatchObject({ device: 'board', offset: 0, bytes: image.length });
    expect((await failed).update).toEqual({
      state: 'failed',
      installed_version: '1.0.0',
      latest_version: '1.4.2',
      error: res.error,
    });
  });

  it('goes on with an upload through a new display name and a new advert-only key, keeping the link', async () => {
    const { gw, client, server } = await start(new SimSmpServer(), { timeout_ms: 10_000 });
    await putFirmware(gw, 'board.signed.bin');
    server.img.faults.holdUpload = true;
    const pending = gw.request(client, 'device/ota_update', { device: 'board', file: 'board.signed.bin' });
    await server.img.uploadChunksHandled(1);
    const renamed = await gw.request(client, 'device/rename', { from: 'board', name: 'Board display name' });
    expect(renamed.status).toBe('ok');
    // A reload that adds manufacturer-data decoding: only adverts use it, so the GATT session stays.
    const yaml = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, yaml.replace('transport: ble', 'transport: ble\n    manufacturer_data: {}'));
    const reloaded = await gw.request(client, 'config/reload');
    expect(reloaded).toMatchObject({ status: 'ok' });
    expect(await readFile(gw.configPath, 'utf8')).toMatch(/manufacturer_data/);
    server.img.release();
    const res = await pending;
    expect(res).toMatchObject({ status: 'ok', data: { bytes: image.length, reset_confirmed: true } });
    expect(server.img.stored().equals(image)).toBe(true);
  });

  it("routes Zigbee2MQTT's device/ota_update/update with {id} to the same request", async () => {
    const { gw, client } = await start(new SimSmpServer());
    const res = await gw.request(client, 'device/ota_update/update', { id: 'board', cancel: true });
    expect(res).toMatchObject({ status: 'error', error: 'no firmware upload is running on device "board"' });
  });

  it('counts a failed ota_update once, under the ble adapter; a request for an unknown device as "bridge"', async () => {
    const { gw, client } = await start(new SimSmpServer());
    const errors = async (adapter: string) =>
      sampleValue(await (await fetch(`${gw.httpUrl}/metrics`)).text(), 'zephyr2mqtt_command_errors_total', { adapter });
    const failed = await gw.request(client, 'device/ota_update', { device: 'board', file: 'missing.bin' });
    expect(failed.status).toBe('error');
    expect(await errors('ble')).toBe(1);
    expect(await errors('bridge')).toBe(0);
    const unknown = await gw.request(client, 'device/ota_update', { device: 'ghost', file: 'missing.bin' });
    expect(unknown).toMatchObject({ status: 'error', error: 'unknown device "ghost"' });
    expect(await errors('ble')).toBe(1);
    expect(await errors('bridge')).toBe(1);
  });

  it('looks for firmware in the BLE adapter data directory', async () => {
    const { gw, client } = await start(new SimSmpServer());
    const res = await gw.request(client, 'device/ota_update', { device: 'board', file: 'missing.bin' });
    expect(res.status).toBe('error');
    expect(res.error).toBe(
      `firmware file "missing.bin" not found: put it in ${join(gw.dataDir, 'adapters', 'ble', 'firmware')}/`,
    );
  });
});
