// A Dashboard on its own HTTP server on 127.0.0.1, for tests that give it what a gateway config cannot (a clock).
import { createServer } from 'node:http';
import { brokerConfigSchema } from '../../gateway/config/schema.js';
import { dashboardAuth } from '../../gateway/dashboard/index.js';
import { Dashboard, type DashboardDeps } from '../../gateway/dashboard/server.js';
import { type BrokerInput, type CapturedLog, captureLogger, startTestBroker } from '../broker/helpers.js';

export interface StandaloneDashboard {
  url: string;
  log: CapturedLog;
  stop(): Promise<void>;
}

export async function startDashboard(
  broker: BrokerInput,
  deps: Partial<Omit<DashboardDeps, 'broker' | 'auth' | 'logger'>> = {},
): Promise<StandaloneDashboard> {
  const tb = await startTestBroker(broker);
  const log = captureLogger();
  const dashboard = new Dashboard({
    broker: tb.broker,
    baseTopic: 'zephyr2mqtt',
    logger: log.logger,
    auth: dashboardAuth(brokerConfigSchema.parse(broker)),
    ...deps,
  });
  dashboard.start();
  const server = createServer((req, res) => {
    void Promise.resolve(dashboard.route(req, res, new URL(req.url ?? '/', 'http://localhost'))).then(
      (handled) => handled || res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    log,
    async stop() {
      dashboard.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tb.dispose();
    },
  };
}
