// The CoAP adapter against real libcoap peers (Debian libcoap3-bin): its client publishing on /ps (PUT, POST,
// NON, Block1 with a new token per block, Block2, observe of /set) and its server as a device the gateway
// discovers, observes and commands.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as cborEncode } from 'cbor-x';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CoapHarness, startCoapHarness } from '../adapters/coap/harness.js';
import {
  COAP_CLIENT,
  COAP_SERVER,
  freeUdpPort,
  LibcoapProcess,
  requireLibcoap,
  runCoapClient,
} from '../sim/coap/libcoap.js';

type State = Record<string, unknown>;
let h: CoapHarness | undefined;
const processes: LibcoapProcess[] = [];

beforeAll(() => requireLibcoap());
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  await h?.stop();
  h = undefined;
});

const url = (path: string) => `coap://[::1]:${h!.port}${path}`;

describe('libcoap client -> gateway /ps', () => {
  it('PUT JSON, POST CBOR from a file, NON POST, and a Block1 upload in 64-byte blocks reach MQTT', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
    const state = (pred: (m: State) => boolean) =>
      h!.gw.waitForMessage<State>(h!.mqtt, 'zephyr2mqtt/dev1', pred, 10_000);

    let seen = state((m) => m.temperature === 21.5);
    const put = await runCoapClient(['-m', 'put', '-t', '50', '-e', '{"temperature":21.5}', url('/ps/dev1')]);
    expect(put.code).toBe(0);
    await seen;

    const cborFile = join(tmpdir(), `coap-interop-${process.pid}.cbor`);
    await writeFile(cborFile, cborEncode({ humidity: 40 }));
    seen = state((m) => m.humidity === 40);
    expect((await runCoapClient(['-m', 'post', '-t', '60', '-f', cborFile, url('/ps/dev1')])).code).toBe(0);
    await seen;

    seen = state((m) => m.non === 1);
    expect((await runCoapClient(['-N', '-m', 'post', '-t', '50', '-e', '{"non":1}', url('/ps/dev1')])).code).toBe(0);
    await seen;

    const long = 'z'.repeat(1500);
    const bigFile = join(tmpdir(), `coap-interop-${process.pid}.json`);
    await writeFile(bigFile, JSON.stringify({ note: long }));
    seen = state((m) => m.note === long);
    const block = await runCoapClient(['-m', 'put', '-t', '50', '-b', '64', '-f', bigFile, url('/ps/dev1')]);
    expect(block.code).toBe(0);
    await seen;
  });

  it('reports error codes to the libcoap client', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
    const unknown = await runCoapClient(['-m', 'put', '-e', '{"a":1}', url('/ps/ghost')]);
    expect(unknown.stderr + unknown.stdout).toContain('4.04');
    const bad = await runCoapClient(['-m', 'put', '-t', '50', '-e', '{"a":', url('/ps/dev1')]);
    expect(bad.stderr + bad.stdout).toContain('4.00');
  });

  it('observes /ps/<id>/set and receives MQTT /set commands; reads a large command with Block2', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
    const observer = new LibcoapProcess([COAP_CLIENT, '-m', 'get', '-s', '20', url('/ps/dev1/set')]);
    processes.push(observer);
    await observer.waitForOutput((out) => out.includes('{}'));
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    await observer.waitForOutput((out) => out.includes('{"led":"on"}'));
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'off' }));
    await observer.waitForOutput((out) => out.includes('{"led":"off"}'));

    const text = 'q'.repeat(3000);
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ text }));
    await observer.waitForOutput((out) => out.includes(text));
    const get = await runCoapClient(['-m', 'get', '-b', '64', url('/ps/dev1/set')]);
    expect(get.stdout).toContain(JSON.stringify({ text }));
    // The relation outlives the Block2 notification: the next command still reaches the client.
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'blink' }));
    await observer.waitForOutput((out) => out.includes('{"led":"blink"}'));
  });
});

describe('gateway -> libcoap server as a device', () => {
  it('discovers, observes, writes with Block1, reads back with Block2 and marks the device offline on timeout', async () => {
    const port = await freeUdpPort();
    const server = new LibcoapProcess([COAP_SERVER, '-A', '::1', '-p', String(port), '-v', '0']);
    processes.push(server);
    await new Promise((r) => setTimeout(r, 300)); // coap-server prints nothing when ready; probe below retries
    h = await startCoapHarness([
      {
        id: 'libcoap',
        transport: 'coap',
        address: '::1',
        port,
        discover: true,
        resources: {
          time: { path: '/time', observe: true },
          data: { path: '/example_data', method: 'PUT', format: 'text' },
        },
      },
    ]);
    const devices = await h.gw.waitForMessage<{ id: string; info?: Record<string, unknown> }[]>(
      h.mqtt,
      'zephyr2mqtt/bridge/devices',
      (list) => JSON.stringify(list).includes('/example_data'),
      10_000,
    );
    expect(JSON.stringify(devices)).toContain('"rt":"ticks"');
    const first = await h.gw.waitForMessage<State>(
      h.mqtt,
      'zephyr2mqtt/libcoap',
      (m) => typeof m.time === 'string',
      10_000,
    );
    await h.gw.waitForMessage<State>(
      h.mqtt,
      'zephyr2mqtt/libcoap',
      (m) => typeof m.time === 'string' && m.time !== first.time,
      10_000,
    );

    const response = h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/libcoap/response',
      (m) => m.method === 'PUT',
      10_000,
    );
    await h.mqtt.publishAsync('zephyr2mqtt/libcoap/set', JSON.stringify({ data: 'hello' }));
    // libcoap answers 2.01 when the first PUT creates the data, 2.04 afterwards.
    expect(await response).toMatchObject({ code: expect.stringMatching(/^2\.0[14]$/), path: '/example_data' });

    const big = 'B'.repeat(3000);
    const bigResponse = h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/libcoap/response',
      (m) => m.method === 'PUT',
      10_000,
    );
    await h.mqtt.publishAsync('zephyr2mqtt/libcoap/set', JSON.stringify({ data: big }));
    expect((await bigResponse).code).toBe('2.04');
    // The GET's own response: the state already holds `data` from the PUT (a /set merges what it wrote).
    const readBack = h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/libcoap/response',
      (m) => m.method === 'GET' && m.path === '/example_data',
      10_000,
    );
    await h.mqtt.publishAsync('zephyr2mqtt/libcoap/get', JSON.stringify({ data: '' }));
    expect(await readBack).toMatchObject({ code: '2.05', payload: big });

    await server.stop();
    const failed = h.gw.waitForMessage<{ error: string }>(h.mqtt, 'zephyr2mqtt/libcoap/get/error', () => true, 10_000);
    await h.mqtt.publishAsync('zephyr2mqtt/libcoap/get', JSON.stringify({ data: '' }));
    expect((await failed).error).toMatch(/timed out/);
    // The CON timeout is what took the device offline.
    expect(h.gw.gateway.devices.get('libcoap')?.online).toBe(false);
  });
});
