// Starts the real gateway with the CoAP adapter on an ephemeral UDP port and a CoAP peer (our transport on its own
// socket) that plays the device.
import type { MqttClient } from 'mqtt';
import type { CoapAdapter } from '../../../adapters/coap/coap-adapter.js';
import type { CoapClientRequest, CoapClientResponse, CoapMethod } from '../../../adapters/coap/endpoint.js';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { closedAfterEach } from '../../helpers/closed-after-each.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';

export interface CoapHarness {
  gw: TestGateway;
  mqtt: MqttClient;
  adapter: CoapAdapter;
  port: number;
  device: UdpCoapEndpoint;
  send(
    method: CoapMethod,
    path: string,
    payload?: Buffer | string,
    extra?: Partial<CoapClientRequest>,
  ): Promise<CoapClientResponse>;
  stop(): Promise<void>;
}

export async function startCoapHarness(
  devices: Record<string, unknown>[],
  coap: Record<string, unknown> = {},
  deviceBind = '::1',
): Promise<CoapHarness> {
  const gw = await startTestGateway({
    devices,
    adapters: { coap: { enabled: true, port: 0, ack_timeout: 0.2, max_retransmit: 2, ...coap } } as never,
  } as never);
  const first = devices[0]?.id as string;
  const adapter = gw.gateway.adapterFor(first).host.adapter as unknown as CoapAdapter;
  const port = adapter.endpoint.port;
  const device = new UdpCoapEndpoint({
    bindAddress: deviceBind,
    port: 0,
    transmission: { ackTimeoutMs: 200, maxRetransmit: 2 },
    blockSize: 64,
  });
  await device.start();
  const mqtt = await gw.connect();
  const target = deviceBind.includes(':') ? '::1' : '127.0.0.1';
  return {
    gw,
    mqtt,
    adapter,
    port,
    device,
    send: (method, path, payload, extra = {}) => {
      const [pathPart = '', queryPart] = path.split('?');
      return device.request({
        peer: { address: target, port },
        method,
        path: pathPart.split('/').filter(Boolean),
        query: queryPart ? queryPart.split('&') : [],
        payload,
        timeoutMs: 3000,
        ...extra,
      });
    },
    stop: async () => {
      await device.stop();
      await gw.stop();
    },
  };
}

/** Stopped one after the other, in the order they were started. */
const started = closedAfterEach((h: CoapHarness) => h.stop());

/**
 * Call once at the top of a test file (or of a describe): every harness started by `coapHarness()` is stopped after
 * each test. A file that also opens raw peers calls it before `closePeersAfterEach()`, which says why.
 */
export function stopHarnessesAfterEach(): void {
  started.afterEach();
}

/** startCoapHarness(), stopped after the test by `stopHarnessesAfterEach()`. */
export async function coapHarness(...args: Parameters<typeof startCoapHarness>): Promise<CoapHarness> {
  return started.add(await startCoapHarness(...args));
}

/** A handler for observe() and the first notification it receives, which must come within 5 s. */
export function firstNotification(): { onNote: (res: CoapClientResponse) => void; note: Promise<CoapClientResponse> } {
  let onNote: (res: CoapClientResponse) => void = () => {};
  const note = new Promise<CoapClientResponse>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no notification within 5 s')), 5000);
    onNote = (res) => {
      clearTimeout(timer);
      resolve(res);
    };
  });
  return { onNote, note };
}
