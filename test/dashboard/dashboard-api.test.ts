import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { openSse } from './helpers.js';

const devices = [{ id: 'dev1', name: 'Kitchen', transport: 'test', address: 'a1' }];

describe('dashboard API', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('serves a small page and a live view of devices built from the MQTT API', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices }, { adapterModules: [adapter.module] });
    const page = await fetch(`${gw.httpUrl}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const assets = await Promise.all(['/', '/app.js', '/style.css'].map((p) => fetch(`${gw!.httpUrl}${p}`)));
    const total = (await Promise.all(assets.map((r) => r.arrayBuffer()))).reduce((n, b) => n + b.byteLength, 0);
    expect(total).toBeLessThan(200 * 1024);

    const events = await openSse(`${gw.httpUrl}/api/events`);
    await events.next((event) => event === 'snapshot');
    adapter.current().ctx.telemetry('dev1', { temperature: 21.5 });
    const change = await events.next((event, data) => {
      const c = data as { kind?: string; data?: { temperature?: number } };
      return event === 'change' && c.kind === 'state' && c.data?.temperature === 21.5;
    });
    events.close();
    expect(change).toMatchObject({ device: 'dev1' });

    const state = (await (await fetch(`${gw.httpUrl}/api/state`)).json()) as Record<string, unknown>;
    expect(state.devices).toEqual([expect.objectContaining({ id: 'dev1', name: 'Kitchen', transport: 'test' })]);
    expect(state.states).toMatchObject({ dev1: { temperature: 21.5 } });
    const detail = (await (await fetch(`${gw.httpUrl}/api/devices/dev1`)).json()) as {
      history: Record<string, unknown[]>;
    };
    expect(detail.history.temperature).toHaveLength(1);
  });

  it('sends /set and bridge requests through the broker and returns the response', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices }, { adapterModules: [adapter.module] });
    const post = (path: string, body: unknown) =>
      fetch(`${gw!.httpUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const res = (await (await post('/api/request/permit_join', { value: 10 })).json()) as {
      status: string;
      data: unknown;
    };
    expect(res).toMatchObject({ status: 'ok', data: { value: true } });
    expect((await post('/api/devices/dev1/set', { on_off: true })).status).toBe(202);
    await expect.poll(() => adapter.current().commands.length).toBe(1);
    expect(adapter.current().commands[0]).toMatchObject({
      deviceId: 'dev1',
      cmd: { kind: 'set', payload: { on_off: true } },
    });
    const wrongType = await fetch(`${gw.httpUrl}/api/request/permit_join`, { method: 'POST', body: '{}' });
    expect(wrongType.status).toBe(415);
  });

  it('requires a broker login when the broker does, and checks writes against the user ACL', async () => {
    const users = [
      {
        username: 'admin',
        password_hash: await hashPassword('s3cret'),
        acl: [{ allow: 'both' as const, topic: 'zephyr2mqtt/#' }],
      },
      {
        username: 'viewer',
        password_hash: await hashPassword('look'),
        acl: [{ allow: 'subscribe' as const, topic: 'zephyr2mqtt/#' }],
      },
    ];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    expect((await fetch(`${gw.httpUrl}/api/state`)).status).toBe(401);
    const login = (username: string, password: string) =>
      fetch(`${gw!.httpUrl}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    expect((await login('admin', 'wrong')).status).toBe(401);
    const viewer = (await login('viewer', 'look')).headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${gw.httpUrl}/api/state`, { headers: { cookie: viewer } })).status).toBe(200);
    const denied = await fetch(`${gw.httpUrl}/api/request/permit_join`, {
      method: 'POST',
      headers: { cookie: viewer, 'content-type': 'application/json' },
      body: '{"value": true}',
    });
    expect(denied.status).toBe(403);
    const admin = (await login('admin', 's3cret')).headers.get('set-cookie')!.split(';')[0]!;
    const allowed = await fetch(`${gw.httpUrl}/api/request/permit_join`, {
      method: 'POST',
      headers: { cookie: admin, 'content-type': 'application/json' },
      body: '{"value": true}',
    });
    expect(((await allowed.json()) as { status: string }).status).toBe('ok');
  });
});
