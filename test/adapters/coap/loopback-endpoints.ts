// UdpCoapEndpoints on ::1 with fast retransmission timing for transport tests, stopped after each test.
import { afterEach } from 'vitest';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';

export const fast = { ackTimeoutMs: 50, ackRandomFactor: 1.5, maxRetransmit: 2 };
const endpoints: UdpCoapEndpoint[] = [];

/** Call once at the top of a test file: every endpoint made by `endpoint()` is stopped after each test. */
export function stopEndpointsAfterEach(): void {
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((ep) => ep.stop()));
  });
}

export async function endpoint(
  options: ConstructorParameters<typeof UdpCoapEndpoint>[0] = {},
): Promise<UdpCoapEndpoint> {
  const ep = new UdpCoapEndpoint({ bindAddress: '::1', port: 0, transmission: fast, ...options });
  await ep.start();
  endpoints.push(ep);
  return ep;
}
