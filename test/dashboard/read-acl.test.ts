// The dashboard shows each user what their broker subscribe ACL lets them read, and no more.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { login, openSse, user } from './helpers.js';

const devices = [
  { id: 'kitchen', transport: 'test' },
  { id: 'secret', transport: 'test' },
];

interface Snapshot {
  devices: Array<{ id: string }>;
  states: Record<string, unknown>;
  availability: Record<string, unknown>;
  info: unknown;
  events: unknown[];
}

describe('dashboard read permissions', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start() {
    const adapter = createTestAdapterModule();
    const users = [
      await user('admin', [{ allow: 'both', topic: '#' }]),
      await user('viewer', [{ allow: 'subscribe', topic: 'zephyr2mqtt/kitchen/#' }]),
      await user('writer', [{ allow: 'publish', topic: 'zephyr2mqtt/#' }]),
    ];
    gw = await startTestGateway(
      { devices, broker: { allow_anonymous: false, users } },
      { adapterModules: [adapter.module] },
    );
    const cookies = {
      admin: await login(gw.httpUrl, 'admin', 'admin-pw'),
      viewer: await login(gw.httpUrl, 'viewer', 'viewer-pw'),
      writer: await login(gw.httpUrl, 'writer', 'writer-pw'),
    };
    const get = (path: string, who: keyof typeof cookies) =>
      fetch(`${gw!.httpUrl}${path}`, { headers: { cookie: cookies[who] } });
    const telemetry = (id: string, data: Record<string, unknown>) => adapter.current().ctx.telemetry(id, data);
    return { cookies, get, telemetry };
  }

  it('gives each user the devices, states and device pages their subscribe rules cover', async () => {
    const { get, telemetry } = await start();
    telemetry('kitchen', { temperature: 21 });
    telemetry('secret', { pin: 1234 });
    await expect
      .poll(async () => Object.keys(((await (await get('/api/state', 'admin')).json()) as Snapshot).states).sort())
      .toEqual(['kitchen', 'secret']);

    const viewer = (await (await get('/api/state', 'viewer')).json()) as Snapshot;
    expect(viewer.devices.map((d) => d.id)).toEqual(['kitchen']);
    expect(Object.keys(viewer.states)).toEqual(['kitchen']);
    expect(Object.keys(viewer.availability)).toEqual(['kitchen']);
    expect(viewer.info).toBeNull();
    expect(viewer.events).toEqual([]);
    expect((await get('/api/devices/kitchen', 'viewer')).status).toBe(200);
    const denied = await get('/api/devices/secret', 'viewer');
    expect(denied.status).toBe(403);
    expect(JSON.stringify(await denied.json())).not.toContain('1234');

    const writer = (await (await get('/api/state', 'writer')).json()) as Snapshot;
    expect(writer.devices).toEqual([]);
    expect(writer.states).toEqual({});
    expect((await get('/api/devices/kitchen', 'writer')).status).toBe(403);
  });

  it('sends the request of a user who may not read its response, and shows them no response', async () => {
    const { cookies } = await start();
    const post = (who: keyof typeof cookies, body: unknown) =>
      fetch(`${gw!.httpUrl}/api/request/permit_join`, {
        method: 'POST',
        headers: { cookie: cookies[who], 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const blind = await post('writer', { value: true });
    expect(blind.status).toBe(202);
    const answer = JSON.stringify(await blind.json());
    expect(answer).toContain('not shown: user writer may not read zephyr2mqtt/bridge/response/permit_join');
    expect(answer).not.toContain('"time"');
    const client = await gw!.connect({ username: 'admin', password: 'admin-pw' });
    try {
      // The blind request still took effect: bridge/info follows permit_join (the retained copy may predate it).
      await new Promise<void>((resolve) => {
        client.on('message', (_t, payload) => {
          if ((JSON.parse(payload.toString()) as { permit_join?: unknown }).permit_join === true) resolve();
        });
        void client.subscribeAsync('zephyr2mqtt/bridge/info');
      });
    } finally {
      await client.endAsync();
    }
    const shown = await post('admin', { value: false });
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({ status: 'ok', data: { value: false } });
  });

  it('shows the log tail only to users who may read the whole base topic', async () => {
    const { get } = await start();
    expect((await get('/api/logs', 'admin')).status).toBe(200);
    expect((await get('/api/logs', 'viewer')).status).toBe(403);
    expect((await get('/api/logs', 'writer')).status).toBe(403);
  });

  it('streams to each user only the changes of devices they may read', async () => {
    const { cookies, telemetry } = await start();
    const viewer = await openSse(`${gw!.httpUrl}/api/events`, { cookie: cookies.viewer });
    const admin = await openSse(`${gw!.httpUrl}/api/events`, { cookie: cookies.admin });
    await viewer.next((event) => event === 'snapshot');
    await admin.next((event) => event === 'snapshot');
    telemetry('secret', { pin: 1234 });
    telemetry('kitchen', { temperature: 22 });
    const isState = (id: string) => (event: string, data: unknown) =>
      event === 'change' &&
      (data as { kind: string; device?: string }).kind === 'state' &&
      (data as { device?: string }).device === id;
    await admin.next(isState('secret'));
    await viewer.next(isState('kitchen'));
    viewer.close();
    admin.close();
    expect(JSON.stringify(viewer.seen)).not.toContain('secret');
    expect(viewer.seen.some((e) => e.event === 'change' && (e.data as { kind: string }).kind === 'info')).toBe(false);
  });
});
