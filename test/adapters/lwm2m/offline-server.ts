// An LwM2M server whose endpoint has no network: only its /rd handler is kept, for the test to call. With no observes
// and no /3 in the links of what registers, the server sends nothing, so it needs none.
import { expect } from 'vitest';
import type { CoapEndpoint, CoapRequestHandler } from '../../../adapters/coap/endpoint.js';
import { lwm2mServerConfigSchema } from '../../../adapters/coap/lwm2m/config.js';
import { createLwm2mServer, type Lwm2mServer } from '../../../adapters/coap/lwm2m/index.js';
import { RecordingContext } from './recording-context.js';

export interface OfflineServer {
  ctx: RecordingContext;
  server: Lwm2mServer;
  /** Registers zephyr-node1 (</3303/0>) with `query` after lwm2m and ep, expects 2.01 and returns its location. */
  register(query: string[]): Promise<string>;
}

/** A started server with `config` over the schema's defaults, for `devices`. */
export async function startOfflineServer(
  devices: RecordingContext['devicesList'],
  config: Parameters<typeof lwm2mServerConfigSchema.parse>[0],
): Promise<OfflineServer> {
  const ctx = new RecordingContext();
  ctx.devicesList = devices;
  let rd: CoapRequestHandler | undefined;
  const endpoint: CoapEndpoint = {
    route: (segment, handler) => {
      if (segment === 'rd') rd = handler;
    },
    request: () => Promise.reject(new Error('no network')),
    observe: () => Promise.reject(new Error('no network')),
  };
  const server = createLwm2mServer({ endpoint, ctx, config: lwm2mServerConfigSchema.parse(config) });
  await server.start();
  const register = async (query: string[]): Promise<string> => {
    const answer = await rd?.({
      method: 'POST',
      confirmable: true,
      path: ['rd'],
      query: ['lwm2m=1.1', 'ep=zephyr-node1', ...query],
      contentFormat: 40,
      payload: Buffer.from('</3303/0>'),
      token: Buffer.alloc(8),
      source: { address: '127.0.0.1', port: 5683 },
    });
    expect(answer).toMatchObject({ code: '2.01' });
    return String(answer?.locationPath?.[1]);
  };
  return { ctx, server, register };
}
