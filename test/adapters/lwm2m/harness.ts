// Server under test on a real UDP socket, with simulated Zephyr clients and a recording context.
import { type Lwm2mServerConfig, lwm2mServerConfigSchema } from '../../../adapters/coap/lwm2m/config.js';
import { createLwm2mServer, type Lwm2mServer } from '../../../adapters/coap/lwm2m/index.js';
import { UdpCoapEndpoint } from '../../sim/lwm2m/udp-coap-endpoint.js';
import { type SimClientOptions, SimLwm2mClient } from '../../sim/lwm2m/zephyr-client.js';
import { RecordingContext } from './recording-context.js';

export interface Harness {
  ctx: RecordingContext;
  server: Lwm2mServer;
  endpoint: UdpCoapEndpoint;
  address: { address: string; port: number };
  client(opts: Omit<SimClientOptions, 'server'>): Promise<SimLwm2mClient>;
  close(): Promise<void>;
}

export async function startHarness(
  config: Partial<Lwm2mServerConfig> = {},
  devices: Array<{ id: string; endpoint: string; observe?: string[] }> = [],
): Promise<Harness> {
  const ctx = new RecordingContext();
  ctx.devicesList = devices.map((d) => ({
    id: d.id,
    transport: 'coap',
    lwm2m: { endpoint: d.endpoint, ...(d.observe ? { observe: d.observe } : {}) },
  }));
  const endpoint = new UdpCoapEndpoint();
  const address = await endpoint.listen();
  const server = createLwm2mServer({
    endpoint,
    ctx,
    config: lwm2mServerConfigSchema.parse({ request_timeout_ms: 2000, ...config }),
  });
  await server.start();
  const clients: SimLwm2mClient[] = [];
  return {
    ctx,
    server,
    endpoint,
    address,
    async client(opts) {
      const c = new SimLwm2mClient({ server: address, ...opts });
      await c.start();
      clients.push(c);
      return c;
    },
    async close() {
      await server.stop();
      for (const c of clients) await c.stop();
      await endpoint.close();
    },
  };
}
