// /metrics shows what the CoAP adapter holds as its status details say it (zephyr2mqtt_adapter_figure), read at each
// scrape: a /ps/<id>/set relation while a device observes, none once it deregistered. An adapter that is disabled,
// from the start or by a reload, has no series.
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseExposition, sampleValue } from '../../gateway/prom-text.js';
import { type CoapHarness, coapHarness, stopHarnessesAfterEach } from './harness.js';
import { OBSERVE } from './option-numbers.js';
import { psSetRequests } from './ps-set-requests.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

const FIGURE = 'zephyr2mqtt_adapter_figure';
const STATE = 'zephyr2mqtt_adapter_state';

const scrape = async (gateway: CoapHarness) => (await fetch(`${gateway.gw.httpUrl}/metrics`)).text();
const figure = (text: string, name: string) => sampleValue(text, FIGURE, { adapter: 'coap', figure: name });
/** The adapters that have a series of `metric`. */
const adaptersIn = (text: string, metric: string) =>
  new Set(parseExposition(text).samples.flatMap((s) => (s.name === metric ? [s.labels.adapter] : [])));

/** A gateway with the CoAP adapter (serial and BLE disabled) and dev1 observing /ps/dev1/set from a raw socket. */
async function observed(): Promise<{ gateway: CoapHarness; device: RawPeer; deregister: () => Promise<void> }> {
  const gateway = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
  const device = await rawPeer();
  const { next: get, lastToken } = psSetRequests('dev1');
  expect(figure(await scrape(gateway), 'command_observers')).toBe(0);
  expect((await device.exchange(get({ observe: true }), gateway.port))?.observe).toBeTypeOf('number');
  const deregister = async () => {
    // RFC 7641 §3.6: a GET on the relation's token with Observe 1.
    const answer = await device.exchange(get({ token: lastToken(), options: [[OBSERVE, [1]]] }), gateway.port);
    expect([answer?.code, answer?.observe]).toEqual(['2.05', undefined]);
  };
  return { gateway, device, deregister };
}

describe('the CoAP adapter in /metrics', () => {
  it('shows a /ps/<id>/set relation while the device observes, and none once it deregistered', async () => {
    const { gateway, deregister } = await observed();
    const text = await scrape(gateway);
    expect(figure(text, 'command_observers')).toBe(1);
    expect(figure(text, 'lwm2m_registrations')).toBe(0);
    expect(figure(text, 'port')).toBeUndefined(); // where it listens, not a figure
    expect(sampleValue(text, STATE, { adapter: 'coap', state: 'running' })).toBe(1);
    expect(sampleValue(text, STATE, { adapter: 'coap', state: 'failed' })).toBe(0);

    await deregister();
    expect(figure(await scrape(gateway), 'command_observers')).toBe(0);
  });

  it('shows each number /readyz reports in its details, nested ones under their joined keys', async () => {
    const { gateway } = await observed();
    const ready = (await (await fetch(`${gateway.gw.httpUrl}/readyz`)).json()) as {
      adapters: { coap: { details: Record<string, unknown> } };
    };
    const { port, lwm2m, ...top } = ready.adapters.coap.details;
    expect(port).toBeTypeOf('number');
    const expected = {
      ...top,
      ...Object.fromEntries(Object.entries(lwm2m as object).map(([key, value]) => [`lwm2m_${key}`, value])),
    };
    expect(Object.values(expected).every((value) => typeof value === 'number')).toBe(true);
    const shown = parseExposition(await scrape(gateway)).samples.filter(
      (s) => s.name === FIGURE && s.labels.adapter === 'coap',
    );
    expect(Object.fromEntries(shown.map((s) => [s.labels.figure, s.value]))).toEqual(expected);
  });

  it('has no series for the adapters that are disabled, nor for CoAP once a reload disabled it', async () => {
    const { gateway, device } = await observed();
    // The stopping adapter tells its observer (5.03, CON): acknowledged so that its stop does not wait for it.
    device.listen((m, fromPort) => {
      if (m.type === 'CON') device.send(frame({ type: 'ACK', code: '0.00', mid: m.messageId }), fromPort);
    });
    const before = await scrape(gateway);
    expect(adaptersIn(before, FIGURE)).toEqual(new Set(['coap']));
    expect(adaptersIn(before, STATE)).toEqual(new Set(['coap']));

    const config = parseDocument(await readFile(gateway.gw.configPath, 'utf8'));
    config.setIn(['adapters', 'coap', 'enabled'], false);
    await writeFile(gateway.gw.configPath, config.toString());
    await gateway.gw.gateway.reload('test');
    const after = await scrape(gateway);
    expect(adaptersIn(after, FIGURE)).toEqual(new Set());
    expect(adaptersIn(after, STATE)).toEqual(new Set());
    expect(after).toMatch(/^# TYPE zephyr2mqtt_adapter_figure gauge$/m);
  });
});
