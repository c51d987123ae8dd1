// The LwM2M registration interface against an independent CoAP implementation: Debian's libcoap3-bin
// coap-client registers, updates and de-registers through the real gateway; MQTT shows the outcome.
import type { MqttClient } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CoapAdapter } from '../../adapters/coap/coap-adapter.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { coapResponseLine, requireLibcoap } from '../sim/coap/libcoap.js';

let gw: TestGateway | undefined;
let mqtt: MqttClient;
let port = 0;

beforeAll(() => requireLibcoap());
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

async function start(): Promise<void> {
  gw = await startTestGateway({
    devices: [{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'libcoap-node' } }],
    adapters: { coap: { enabled: true, bind: '127.0.0.1', port: 0, lwm2m: { request_timeout_ms: 1000 } } },
  } as never);
  port = (gw.gateway.adapterFor('node1').host.adapter as unknown as CoapAdapter).endpoint.port;
  mqtt = await gw.connect();
}

function coap(method: string, path: string, payload?: string): Promise<string> {
  return coapResponseLine(port, method, path, payload);
}

describe('libcoap coap-client -> LwM2M registration interface', () => {
  it('registers (2.01 + Location-Path rd,<id>), updates (2.04) and de-registers (2.02)', async () => {
    await start();
    const online = gw!.waitForMessage<{ state: string }>(
      mqtt,
      'zephyr2mqtt/node1/availability',
      (p) => p.state === 'online',
      10_000,
    );
    const created = await coap('post', '/rd?lwm2m=1.1&ep=libcoap-node&lt=60&b=U', '</>;ct=110,</1/0>,</3/0>');
    expect(created).toContain('c:2.01');
    const id = /Location-Path:rd, Location-Path:([0-9a-f]{24})/.exec(created)?.[1];
    expect(id, created).toBeDefined();
    await online;

    expect(await coap('post', `/rd/${id}?lt=120`)).toContain('c:2.04');
    const offline = gw!.waitForMessage<{ state: string }>(
      mqtt,
      'zephyr2mqtt/node1/availability',
      (p) => p.state === 'offline',
      10_000,
    );
    expect(await coap('delete', `/rd/${id}`)).toContain('c:2.02');
    await offline;
    expect(await coap('post', `/rd/${id}`)).toContain('c:4.04');
  });

  it('answers malformed registrations with 4.00, an unsupported LwM2M version with 4.12, and keeps serving', async () => {
    await start();
    expect(await coap('post', '/rd?lt=60', '</1/0>')).toContain('c:4.00');
    expect(await coap('post', '/rd?ep=libcoap-node&lt=-5', '</1/0>')).toContain('c:4.00');
    expect(await coap('post', '/rd?ep=libcoap-node', '</1/0')).toContain('c:4.00');
    expect(await coap('get', '/rd')).toContain('c:4.05');
    // LwM2M 1.1 §6.2.1: a version the server does not speak is 4.12 Precondition Failed, not a bad request.
    expect(await coap('post', '/rd?lwm2m=2.0&ep=libcoap-node&lt=60', '</1/0>')).toContain('c:4.12');
    expect(await coap('post', '/rd?ep=libcoap-node&lt=60', '</1/0>')).toContain('c:2.01');
  });
});
