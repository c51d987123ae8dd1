// A firmware upload's ota_update answers only when the upload is done: the dashboard waits for that answer far
// longer than for other requests, so the user sees how the update ended rather than a timeout.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfigSchema } from '../../gateway/config/schema.js';
import { dashboardAuth } from '../../gateway/dashboard/index.js';
import { Dashboard } from '../../gateway/dashboard/server.js';
import { silentLogger } from '../../gateway/logger.js';
import { endClients, startTestBroker, type TestBroker } from '../broker/helpers.js';
import { postJson } from './helpers.js';

const ANSWER_AFTER_MS = 600;

describe('dashboard waiting for ota_update', () => {
  let tb: TestBroker | undefined;
  let server: Server | undefined;
  let dashboard: Dashboard | undefined;
  const answers = new Set<NodeJS.Timeout>();
  afterEach(async () => {
    for (const timer of answers) clearTimeout(timer);
    answers.clear();
    dashboard?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await endClients();
    await tb?.dispose();
    tb = server = dashboard = undefined;
  });

  /** A dashboard over a broker where every bridge request is answered `ok` after ANSWER_AFTER_MS. */
  async function start(): Promise<string> {
    tb = await startTestBroker();
    const broker = tb.broker;
    broker.subscribe('zephyr2mqtt/bridge/request/#', (msg) => {
      const { transaction } = JSON.parse(msg.payload.toString()) as { transaction: string };
      const responseTopic = msg.topic.replace('/request/', '/response/');
      const timer = setTimeout(() => {
        answers.delete(timer);
        void broker.publish(responseTopic, JSON.stringify({ status: 'ok', data: { done: true }, transaction }));
      }, ANSWER_AFTER_MS);
      answers.add(timer);
    });
    const dash = new Dashboard({
      broker,
      baseTopic: 'zephyr2mqtt',
      logger: silentLogger(),
      auth: dashboardAuth(brokerConfigSchema.parse({ allow_anonymous: true })),
      responseTimeoutMs: { request: 200, ota: 5000 },
    });
    dashboard = dash;
    dash.start();
    server = createServer((req, res) => {
      void Promise.resolve(dash.route(req, res, new URL(req.url ?? '/', 'http://localhost'))).then(
        (handled) => handled || res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  it('waits for the answer of an upload, not of a cancel or another request', async () => {
    const url = await start();
    const answer = async (name: string, body: unknown) => (await postJson(`${url}/api/request/${name}`, body)).json();
    const upload = { device: 'thermostat', file: 'fw.bin' };
    expect(await answer('device/ota_update', upload)).toMatchObject({ status: 'ok', data: { done: true } });
    expect(await answer('device/ota_update/update', upload)).toMatchObject({ status: 'ok' });
    const timedOut = { status: 'error', error: 'no response within 0.2 s' };
    expect(await answer('device/ota_update', { device: 'thermostat', cancel: true })).toMatchObject(timedOut);
    expect(await answer('permit_join', { value: true })).toMatchObject(timedOut);
  });
});
