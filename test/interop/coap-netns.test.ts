// IPv6 for real: a network namespace joined to the host by a veth pair, link-local addresses only (with zone
// ids). A libcoap server inside the namespace is observed over unicast and found by multicast discovery
// (ff02::fd%<veth>); a libcoap client inside it publishes on /ps and is identified by its zoned address; a
// simulated Zephyr SMP UDP server inside it gets a firmware image.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CoapHarness, startCoapHarness } from '../adapters/coap/harness.js';
import { buildImage, imageHashOf } from '../adapters/serial/mcuboot-builder.js';
import { COAP_SERVER, LibcoapProcess, requireLibcoap, runCoapClient } from '../sim/coap/libcoap.js';

const id = `${process.pid % 100000}`;
const ns = `z2mcoap${id}`;
const hostIf = `zch${id}`;
const devIf = `zcd${id}`;
const hostAddr = 'fe80::a:1';
const devAddr = 'fe80::a:2';
/** More addresses of the host's end, as a link with link-local + ULA (or a Thread interface) has. */
const hostAddr2 = 'fe80::a:3';
const hostUla = 'fd00:a::1';
const devUla = 'fd00:a::2';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function setUpNetns(): void {
  try {
    ip('netns', 'add', ns);
  } catch (error) {
    throw new Error(
      `cannot create a network namespace (needs root and a kernel with netns; install iproute2): ${(error as Error).message}`,
    );
  }
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', devIf);
  ip('link', 'set', devIf, 'netns', ns);
  // Only the addresses we assign: no EUI-64 autoconfiguration, so the responder's source address is known.
  ip('link', 'set', hostIf, 'addrgenmode', 'none');
  ip('netns', 'exec', ns, 'ip', 'link', 'set', devIf, 'addrgenmode', 'none');
  ip('-6', 'addr', 'add', `${hostAddr}/64`, 'dev', hostIf, 'nodad');
  ip('-6', 'addr', 'add', `${hostAddr2}/64`, 'dev', hostIf, 'nodad');
  ip('-6', 'addr', 'add', `${hostUla}/64`, 'dev', hostIf, 'nodad');
  ip('link', 'set', hostIf, 'up');
  ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  ip('netns', 'exec', ns, 'ip', '-6', 'addr', 'add', `${devAddr}/64`, 'dev', devIf, 'nodad');
  ip('netns', 'exec', ns, 'ip', '-6', 'addr', 'add', `${devUla}/64`, 'dev', devIf, 'nodad');
  ip('netns', 'exec', ns, 'ip', 'link', 'set', devIf, 'up');
}

function tearDownNetns(): void {
  try {
    ip('link', 'del', hostIf);
  } catch {
    // already gone with the namespace
  }
  try {
    ip('netns', 'del', ns);
  } catch {
    // never created
  }
}

let h: CoapHarness | undefined;
const processes: LibcoapProcess[] = [];

beforeAll(() => {
  requireLibcoap();
  setUpNetns();
});
afterAll(() => tearDownNetns());
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  await h?.stop();
  h = undefined;
});

function startDeviceServer(): LibcoapProcess {
  const server = new LibcoapProcess([
    'ip',
    'netns',
    'exec',
    ns,
    COAP_SERVER,
    '-A',
    '::',
    '-p',
    '5683',
    '-g',
    'ff02::fd',
    '-G',
    devIf,
    '-v',
    '0',
  ]);
  processes.push(server);
  return server;
}

describe('CoAP over IPv6 link-local across a veth pair', () => {
  it('observes a device server by its zoned link-local address', async () => {
    startDeviceServer();
    h = await startCoapHarness(
      [
        {
          id: 'll',
          transport: 'coap',
          address: `${devAddr}%${hostIf}`,
          port: 5683,
          discover: true,
          resources: { time: { path: '/time', observe: true } },
        },
      ],
      { bind: '::' },
    );
    const first = await h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/ll',
      (m) => typeof m.time === 'string',
      15_000,
    );
    await h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/ll',
      (m) => typeof m.time === 'string' && m.time !== first.time,
      10_000,
    );
    await h.gw.waitForMessage(h.mqtt, 'zephyr2mqtt/bridge/devices', (list) => JSON.stringify(list).includes('"/time"'));
  });

  it('accepts /ps from a device in the namespace, identified by its zoned address', async () => {
    h = await startCoapHarness([{ id: 'sensor', transport: 'coap', address: `${devAddr}%${hostIf}` }], { bind: '::' });
    const seen = h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/sensor',
      (m) => m.lux === 300,
      10_000,
    );
    const put = await runCoapClient(
      ['-m', 'put', '-t', '50', '-e', '{"lux":300}', `coap://[${hostAddr}%${devIf}]:${h.port}/ps`],
      15_000,
      ['ip', 'netns', 'exec', ns],
    );
    expect(put.stderr).not.toContain('4.0');
    await seen;
  });

  it('answers from the address each request was sent to, on a link where the host has three (bind "::")', async () => {
    h = await startCoapHarness([{ id: 'sensor', transport: 'coap' }], { bind: '::' });
    // libcoap's client drops an answer that comes from another address than it asked (RFC 7252 §5.3.2).
    for (const target of [`${hostAddr}%${devIf}`, `${hostAddr2}%${devIf}`, hostUla]) {
      const get = await runCoapClient(
        ['-B', '5', '-m', 'get', `coap://[${target}]:${h.port}/.well-known/core`],
        15_000,
        ['ip', 'netns', 'exec', ns],
      );
      expect(get.stdout, `GET to ${target}: ${get.stderr}`).toContain('</ps>');
    }
  });

  it('discovers the device by multicast GET /.well-known/core to ff02::fd%<iface> while permit_join is on', async () => {
    startDeviceServer();
    h = await startCoapHarness([{ id: 'other', transport: 'coap' }], {
      bind: '::',
      interfaces: [hostIf],
      multicast_groups: ['ff02::fd'],
      discovery_interval: 1,
    });
    const event = h.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      h.mqtt,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown',
      20_000,
    );
    expect((await h.gw.request(h.mqtt, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const { data } = await event;
    expect(data.address).toBe(`[${devAddr}%${hostIf}]:5683`);
    expect(data.suggested_config).toMatchObject({ address: `${devAddr}%${hostIf}`, port: 5683, transport: 'coap' });
    expect(JSON.stringify(data.details)).toContain('/time');
  });

  it('updates firmware over SMP UDP to the zoned link-local address of a device in the namespace', async () => {
    const device = new LibcoapProcess([
      'ip',
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      'tsx',
      'test/sim/coap/smp-udp-device-main.ts',
      '::',
      '1337',
    ]);
    processes.push(device);
    await device.waitForOutput((out) => out.includes('ready'), 20_000);
    h = await startCoapHarness(
      [{ id: 'thread', transport: 'coap', address: `${devAddr}%${hostIf}`, smp: { timeout_ms: 2000 } }],
      { bind: '::' },
    );
    const image = buildImage({ body: Buffer.alloc(4000, 0x6b), version: [3, 0, 1, 0] });
    const dir = join(h.gw.dataDir, 'adapters', 'coap', 'firmware');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'thread.signed.bin'), image);
    const hash = imageHashOf(image).toString('hex');
    const res = await h.gw.request(
      h.mqtt,
      'device/ota_update',
      { device: 'thread', file: 'thread.signed.bin' },
      30_000,
    );
    expect(res).toMatchObject({
      status: 'ok',
      data: { bytes: image.length, hash, tested: true, slots: [{ slot: 0 }, { slot: 1, hash, pending: true }] },
    });
  });
});
