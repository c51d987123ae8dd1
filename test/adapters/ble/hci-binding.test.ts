// The adapter on noble's own HCI binding (lib/hci-socket), fed LE Advertising Reports as bytes by a fake controller:
// what `binding: hci` runs, below the simulated binding the other BLE tests use.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { ad } from '../../sim/ble/ad.js';
import { made } from '../../sim/ble/hci-binding.js';
import { ADV_IND, FakeHciSocket, SCAN_RSP } from '../../sim/ble/hci-controller.js';
import { bthomeAdvertising } from '../../sim/ble/peripherals.js';

const HCI_BINDING = fileURLToPath(new URL('../../sim/ble/hci-binding.ts', import.meta.url));
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

type Maps = Record<string, Record<string, unknown>>;

async function startOnHci(devices: Record<string, unknown>[], ble: Record<string, unknown> = {}) {
  const gw = await startTestGateway({
    adapters: { ble: { enabled: true, binding: HCI_BINDING, ...ble } },
    devices,
  } as Parameters<typeof startTestGateway>[0]);
  // Scanning starts once the controller answered noble's start-up commands: polled (an HTTP round trip a try).
  let state: string | undefined;
  for (let i = 0; i < 250 && state !== 'running'; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20));
    const body = (await (await fetch(`${gw.httpUrl}/readyz`)).json()) as {
      adapters: Record<string, { state: string }>;
    };
    state = body.adapters.ble?.state;
  }
  if (state !== 'running') throw new Error(`the ble adapter was not running after 250 tries; last state: ${state}`);
  return { gw, controller: FakeHciSocket.opened.at(-1)!, binding: made.at(-1) as Maps & { _gap: Maps } };
}

describe("ble adapter on noble's HCI binding", () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('remembers no more unknown advertisers than max_advertisers, in noble and in its HCI binding', async () => {
    const started = await startOnHci([{ id: 'tmpl', transport: 'ble', match: { address: 'a4:c1:38:00:00:01' } }], {
      max_advertisers: 5,
    });
    gw = started.gw;
    const { controller, binding } = started;
    const client = await gw.connect();
    // Passers-by with rotating random addresses, ten times the bound.
    for (let i = 0; i < 50; i++)
      controller.advertise(
        `5a:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
        Buffer.concat([ad.flags(), ad.name('phone')]),
        {
          random: true,
        },
      );
    // The configured device is kept whatever passes by.
    const state = gw.waitForMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/tmpl',
      (m) => m.temperature === 23.45,
    );
    controller.advertise('a4:c1:38:00:00:01', bthomeAdvertising('BTHome template', h('40 02 29 09 03 BF 13')));
    await state;
    // Five passers-by and the configured device: GAP's advertisements (with their data) and the binding's maps too.
    expect(Object.keys(binding._gap._discoveries ?? {}).length).toBeLessThanOrEqual(6);
    for (const map of ['_addresses', '_addresseTypes', '_connectable', 'scannable'])
      expect(Object.keys(binding[map] ?? {}).length, map).toBeLessThanOrEqual(6);
    expect(binding._addresses?.a4c138000001).toBe('a4:c1:38:00:00:01');
  });

  it("cancels only its own connection: one still queued in noble's binding does not cancel the pending one", async () => {
    const LE_CREATE_CONN_CANCEL = 0x200e;
    const started = await startOnHci(
      [
        { id: 'first', transport: 'ble', match: { address: 'c0:00:00:00:00:01' }, connect: true },
        { id: 'second', transport: 'ble', match: { address: 'c0:00:00:00:00:02' }, connect: true },
      ],
      { connect_timeout_ms: 60_000 },
    );
    gw = started.gw;
    const { controller } = started;
    const binding = started.binding as unknown as {
      _pendingConnectionUuid: string | null;
      _connectionQueue: Array<{ id: string }>;
    };
    const client = await gw.connect();
    // The controller never completes a connection: the first stays pending, the second waits in noble's queue.
    for (const [address, name] of [
      ['c0:00:00:00:00:01', 'first'],
      ['c0:00:00:00:00:02', 'second'],
    ] as const) {
      // Connectable and scannable: noble reports it once the scan response came too.
      controller.advertise(address, Buffer.concat([ad.flags(), ad.name(name)]), { type: ADV_IND });
      controller.advertise(address, Buffer.alloc(0), { type: SCAN_RSP });
    }
    await expect.poll(() => binding._connectionQueue.map((c) => c.id), { timeout: 5000 }).toEqual(['c00000000002']);
    expect(binding._pendingConnectionUuid).toBe('c00000000001');

    expect((await gw.request(client, 'device/remove', { id: 'second' })).status).toBe('ok');
    await expect.poll(() => binding._connectionQueue.length, { timeout: 5000 }).toBe(0);
    expect(controller.commands).not.toContain(LE_CREATE_CONN_CANCEL);
    expect(binding._pendingConnectionUuid).toBe('c00000000001');

    // The pending one's own cancel does go to the controller.
    expect((await gw.request(client, 'device/remove', { id: 'first' })).status).toBe('ok');
    await expect.poll(() => controller.commands.includes(LE_CREATE_CONN_CANCEL), { timeout: 5000 }).toBe(true);
  });

  it('decodes what parses of malformed advertising data, and counts it instead of a console line per advert', async () => {
    const warn = vi.spyOn(console, 'warn');
    const started = await startOnHci([{ id: 'tmpl', transport: 'ble', match: { address: 'a4:c1:38:00:00:02' } }]);
    gw = started.gw;
    const { controller } = started;
    const client = await gw.connect();
    const state = gw.waitForMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/tmpl',
      (m) => m.temperature === 23.45,
    );
    // A Tx Power structure without its byte after good BTHome data, and a stranger's Service Data without a UUID:
    // noble's GAP parser throws on both.
    const good = bthomeAdvertising('BTHome template', h('40 02 29 09 03 BF 13'));
    for (let i = 0; i < 20; i++) {
      controller.advertise('a4:c1:38:00:00:02', Buffer.concat([good, h('01 0A')]));
      controller.advertise('5a:00:00:00:00:99', Buffer.concat([ad.flags(), h('01 16')]), { random: true });
    }
    expect(await state).toMatchObject({ temperature: 23.45, humidity: 50.55 });
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    const counted = /decode_errors\S*\{[^}]*adapter="ble"[^}]*reason="advertisement"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(counted?.[1])).toBe(40);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
