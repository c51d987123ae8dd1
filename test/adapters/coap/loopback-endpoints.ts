// UdpCoapEndpoints on ::1 with fast retransmission timing for transport tests, stopped after each test.
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { closedAfterEach } from '../../helpers/closed-after-each.js';

export const fast = { ackTimeoutMs: 50, ackRandomFactor: 1.5, maxRetransmit: 2 };
/** Stopped all at once. */
const endpoints = closedAfterEach((ep: UdpCoapEndpoint) => ep.stop(), { together: true });

/** Call once at the top of a test file: every endpoint made by `endpoint()` is stopped after each test. */
export function stopEndpointsAfterEach(): void {
  endpoints.afterEach();
}

export async function endpoint(
  options: ConstructorParameters<typeof UdpCoapEndpoint>[0] = {},
): Promise<UdpCoapEndpoint> {
  const ep = new UdpCoapEndpoint({ bindAddress: '::1', port: 0, transmission: fast, ...options });
  await ep.start();
  return endpoints.add(ep);
}
