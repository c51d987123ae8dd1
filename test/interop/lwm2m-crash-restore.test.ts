// An LwM2M registration made by a real libcoap client survives a SIGKILL of the gateway (a crash or power cut):
// restored from the data dir at the next start, so the client's Update to its old location gets 2.04 instead of the
// 4.04 that would make it register again.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registrationsFile, savedJson } from '../adapters/coap/restartable-gateway.js';
import { CLI, startChildGateway } from '../helpers/child-gateway.js';
import { coapResponseLine as coap, requireLibcoap } from '../sim/coap/libcoap.js';
import { crashGatewayConfig, killed } from './crash-gateway.js';

const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(() => requireLibcoap());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('libcoap LwM2M registration across a SIGKILL of the gateway', () => {
  it('the Update to the location from before the crash gets 2.04', async () => {
    const { dataDir, coapPort, configPath } = await crashGatewayConfig(cleanups, {
      // The client keeps the server's address: the gateway must come back on it.
      bind: '127.0.0.1',
      coap: { lwm2m: { request_timeout_ms: 1000 } },
      devices: [{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'libcoap-node' } }],
      savedFile: registrationsFile,
    });

    const first = await startChildGateway(configPath, CLI);
    cleanups.push(() => killed(first));
    const created = await coap(
      coapPort,
      'post',
      '/rd?lwm2m=1.1&ep=libcoap-node&lt=600&b=U',
      '</>;ct=110,</1/0>,</3/0>',
    );
    expect(created).toContain('c:2.01');
    const id = /Location-Path:rd, Location-Path:([0-9a-f]{24})/.exec(created)?.[1];
    expect(id, created).toBeDefined();
    await savedJson<{ registrations: { endpoint: string; id: string }[] }>(
      registrationsFile(dataDir),
      (s) => s.registrations.some((r) => r.endpoint === 'libcoap-node' && r.id === id),
      10_000,
    );

    await killed(first);
    expect(await first.exited).toBe('SIGKILL');

    const second = await startChildGateway(configPath, CLI);
    cleanups.push(() => killed(second));
    expect(second.output()).toMatch(/restored 1 registrations/);
    expect(await coap(coapPort, 'post', `/rd/${id}?lt=600`)).toContain('c:2.04');
  });
});
