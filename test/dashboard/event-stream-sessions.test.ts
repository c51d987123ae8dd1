// An open /api/events stream lives only as long as the login it was opened with.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfigSchema } from '../../gateway/config/schema.js';
import { dashboardAuth } from '../../gateway/dashboard/index.js';
import { Dashboard } from '../../gateway/dashboard/server.js';
import { silentLogger } from '../../gateway/logger.js';
import { endClients, startTestBroker, type TestBroker } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { login, openSse, postJson, user } from './helpers.js';

describe('dashboard event streams and sessions', () => {
  let gw: TestGateway | undefined;
  let tb: TestBroker | undefined;
  let server: Server | undefined;
  let dashboard: Dashboard | undefined;
  afterEach(async () => {
    dashboard?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await endClients();
    await tb?.dispose();
    await gw?.stop();
    gw = tb = server = dashboard = undefined;
  });

  it('ends the streams of a session at logout, and only those', async () => {
    const users = [await user('viewer', [{ allow: 'subscribe', topic: '#' }])];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    const mine = await login(gw.httpUrl, 'viewer', 'viewer-pw');
    const other = await login(gw.httpUrl, 'viewer', 'viewer-pw');
    const stream = await openSse(`${gw.httpUrl}/api/events`, { cookie: mine });
    const otherStream = await openSse(`${gw.httpUrl}/api/events`, { cookie: other });
    await stream.next((event) => event === 'snapshot');
    await otherStream.next((event) => event === 'snapshot');

    expect((await postJson(`${gw.httpUrl}/api/logout`, {}, { cookie: mine })).status).toBe(200);
    await stream.ended();
    await gw.gateway.broker.publish('zephyr2mqtt/bridge/state', '{"state":"online"}');
    await otherStream.next((event, data) => event === 'change' && (data as { kind: string }).kind === 'bridge_state');
    otherStream.close();
  });

  it("one user's many logins and streams do not push out another user's", async () => {
    const users = [
      await user('admin', [{ allow: 'subscribe', topic: '#' }]),
      await user('viewer', [{ allow: 'subscribe', topic: '#' }]),
    ];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    const admin = await login(gw.httpUrl, 'admin', 'admin-pw');
    const adminStream = await openSse(`${gw.httpUrl}/api/events`, { cookie: admin });
    await adminStream.next((event) => event === 'snapshot');
    // 201 logins of another user: only that user's own oldest sessions go.
    const viewers: string[] = [];
    for (let i = 0; i < 201; i++) viewers.push(await login(gw.httpUrl, 'viewer', 'viewer-pw'));
    expect((await fetch(`${gw.httpUrl}/api/state`, { headers: { cookie: admin } })).status).toBe(200);
    expect((await fetch(`${gw.httpUrl}/api/state`, { headers: { cookie: viewers[0] as string } })).status).toBe(401);
    expect((await fetch(`${gw.httpUrl}/api/state`, { headers: { cookie: viewers[200] as string } })).status).toBe(200);
    // One user holds at most 8 streams, over all their sessions; the admin still gets one.
    const held = [];
    for (let i = 0; i < 8; i++)
      held.push(await openSse(`${gw.httpUrl}/api/events`, { cookie: viewers[200 - (i % 2)] as string }));
    await expect(openSse(`${gw.httpUrl}/api/events`, { cookie: viewers[198] as string })).rejects.toThrow(
      /answered 503/,
    );
    const another = await openSse(`${gw.httpUrl}/api/events`, { cookie: admin });
    await another.next((event) => event === 'snapshot');
    for (const s of [...held, another, adminStream]) s.close();
  });

  it('ends the streams of a session when the session expires', async () => {
    const users = [await user('viewer', [{ allow: 'subscribe', topic: '#' }])];
    tb = await startTestBroker({ allow_anonymous: false, users });
    const auth = dashboardAuth(brokerConfigSchema.parse({ allow_anonymous: false, users }));
    const dash = new Dashboard({
      broker: tb.broker,
      baseTopic: 'zephyr2mqtt',
      logger: silentLogger(),
      auth,
      sessionTtlMs: 300,
    });
    dashboard = dash;
    server = createServer((req, res) => {
      void Promise.resolve(dash.route(req, res, new URL(req.url ?? '/', 'http://localhost'))).then(
        (handled) => handled || res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const cookie = await login(url, 'viewer', 'viewer-pw');
    const stream = await openSse(`${url}/api/events`, { cookie });
    await stream.next((event) => event === 'snapshot');
    await stream.ended();
    expect((await fetch(`${url}/api/state`, { headers: { cookie } })).status).toBe(401);
  });
});
