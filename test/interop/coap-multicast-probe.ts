// Run by coap-multicast-netns.test.ts inside a network namespace: one multicast GET /.well-known/core per group address
// given, printing {group: [payload of each answer]} as JSON.
import { UdpCoapEndpoint } from '../../adapters/coap/transport/udp-endpoint.js';

const endpoint = new UdpCoapEndpoint({ bindAddress: '::', port: 0, onSocketError: (e) => console.error(e.message) });
await endpoint.start();
const answers: Record<string, string[]> = {};
for (const group of process.argv.slice(2)) {
  const payloads: string[] = [];
  answers[group] = payloads;
  await endpoint.multicast(
    { peer: { address: group, port: 5683 }, method: 'GET', path: ['.well-known', 'core'] },
    300,
    (res) => payloads.push(res.payload.toString()),
  );
}
await endpoint.stop();
console.log(JSON.stringify(answers));
