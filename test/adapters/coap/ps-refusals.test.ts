// Refused /ps requests are counted and logged by reason, so a device whose reports go nowhere shows up in
// /metrics and the log without turning on debug logging.
import { afterEach, describe, expect, it } from 'vitest';
import { type CoapHarness, startCoapHarness } from './harness.js';

let h: CoapHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function refusals(): Promise<Record<string, number>> {
  const metrics = await (await fetch(`${h!.gw.httpUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    const m = /^zephyr2mqtt_decode_errors_total\{(?=.*adapter="coap")(?=.*reason="([a-z_]+)").*\} (\d+)$/.exec(line);
    if (m?.[1] !== undefined) counts[m[1]] = Number(m[2]);
  }
  return counts;
}

describe('CoAP /ps refusals', () => {
  it('counts unknown devices, wrong tokens and bad paths by reason', async () => {
    h = await startCoapHarness([
      { id: 'dev1', transport: 'coap' },
      { id: 'secure', transport: 'coap', token: 'right-token-123' },
    ]);
    expect((await h.send('PUT', '/ps/nobody', '{"a":1}')).code).toBe('4.04');
    expect((await h.send('PUT', '/ps/nobody', '{"a":2}')).code).toBe('4.04');
    expect((await h.send('PUT', '/ps/secure?token=wrong', '{"a":1}')).code).toBe('4.01');
    expect((await h.send('DELETE', '/ps/dev1')).code).toBe('4.05');
    expect((await h.send('PUT', '/ps/dev1', '{"a":1}')).code).toBe('2.04');
    expect(await refusals()).toMatchObject({ coap_unknown_device: 2, coap_identity: 1, coap_bad_request: 1 });
  });
});
