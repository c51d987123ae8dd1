// /ps identity through the gateway: refused requests counted and logged by reason (a device whose reports go
// nowhere shows up in /metrics and the log without debug logging), and a renamed device keeps its firmware id.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type CoapHarness, coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

async function refusals(h: CoapHarness): Promise<Record<string, number>> {
  const metrics = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    const m = /^zephyr2mqtt_decode_errors_total\{(?=.*adapter="coap")(?=.*reason="([a-z_]+)").*\} (\d+)$/.exec(line);
    if (m?.[1] !== undefined) counts[m[1]] = Number(m[2]);
  }
  return counts;
}

describe('CoAP /ps refusals', () => {
  it('counts unknown devices, wrong tokens and bad paths by reason', async () => {
    const h = await coapHarness([
      { id: 'dev1', transport: 'coap' },
      { id: 'secure', transport: 'coap', token: 'right-token-123' },
    ]);
    expect((await h.send('PUT', '/ps/nobody', '{"a":1}')).code).toBe('4.04');
    expect((await h.send('PUT', '/ps/nobody', '{"a":2}')).code).toBe('4.04');
    expect((await h.send('PUT', '/ps/secure?token=wrong', '{"a":1}')).code).toBe('4.01');
    expect((await h.send('DELETE', '/ps/dev1')).code).toBe('4.05');
    expect((await h.send('PUT', '/ps/dev1', '{"a":1}')).code).toBe('2.04');
    expect(await refusals(h)).toMatchObject({ coap_unknown_device: 2, coap_identity: 1, coap_bad_request: 1 });
  });
});

describe('CoAP /ps after a rename', () => {
  it('a renamed device keeps reporting under the id in its firmware (ps_id), published under the new id', async () => {
    const h = await coapHarness([{ id: 'porch', transport: 'coap' }]);
    expect(await h.gw.request(h.mqtt, 'device/rename', { from: 'porch', to: 'front-porch' })).toMatchObject({
      status: 'ok',
    });
    expect(await readFile(h.gw.configPath, 'utf8')).toMatch(/ps_id: porch/);
    const seen = h.gw.waitForMessage<Record<string, unknown>>(
      h.mqtt,
      'zephyr2mqtt/front-porch',
      (m) => m.temperature === 19,
    );
    expect((await h.send('PUT', '/ps/porch', '{"temperature":19}', { contentFormat: 50 })).code).toBe('2.04');
    await seen;
    // The new id works too, for a firmware flashed with it.
    expect((await h.send('PUT', '/ps/front-porch', '{"temperature":20}', { contentFormat: 50 })).code).toBe('2.04');
  });
});
