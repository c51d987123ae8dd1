// Server under test on a real UDP socket, with simulated Zephyr clients and a recording context.
import { type Lwm2mServerConfig, lwm2mServerConfigSchema } from '../../../adapters/coap/lwm2m/config.js';
import { createLwm2mServer, type Lwm2mServer } from '../../../adapters/coap/lwm2m/index.js';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { type SimClientOptions, SimLwm2mClient } from '../../sim/lwm2m/zephyr-client.js';
import { RecordingContext } from './recording-context.js';

/**
 * The server's monotonic clock: performance.now(), which `advance` steps forward as if that much time had passed,
 * so that a test waits out a queue-mode wake window at once. Timers (lifetimes) still run in real time.
 */
export class SteppedClock {
  #offset = 0;
  readonly now = (): number => performance.now() + this.#offset;
  advance(ms: number): void {
    this.#offset += ms;
  }
}

export interface Harness {
  ctx: RecordingContext;
  clock: SteppedClock;
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
  // The CoAP adapter's real transport, on loopback with an ephemeral port.
  const endpoint = new UdpCoapEndpoint({ bindAddress: '127.0.0.1', port: 0, requestTimeoutMs: 2000 });
  await endpoint.start();
  const address = { address: '127.0.0.1', port: endpoint.port };
  const clock = new SteppedClock();
  const server = createLwm2mServer({
    endpoint,
    ctx,
    config: lwm2mServerConfigSchema.parse({ request_timeout_ms: 2000, ...config }),
    monotonicNow: clock.now,
  });
  await server.start();
  const clients: SimLwm2mClient[] = [];
  return {
    ctx,
    clock,
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
      await endpoint.stop();
    },
  };
}
