// Zephyr's coap_server (subsys/net/lib/coap/coap_server.c) as the gateway sees it, datagram by datagram:
// - it takes a CoAP ping (an empty CON) for a request to no resource and answers it with a piggy-backed 4.04, not
//   with the RST of RFC 7252 §4.3: that still shows the device is there;
// - coap_well_known_core_get_len() answers /.well-known/core with an ACK even to a NON (multicast) request, at once,
//   listing each resource as `</path>` and its attribute strings as written (the sample marks /obs with none);
// - the sample's /separate sends an empty ACK and then its response as a CON that reuses the request's message id
//   (separate_get()), where RFC 7252 §4.4 wants a new one: the response is taken and acknowledged all the same.
import { describe, expect, it } from 'vitest';
import { coapAdapterConfigSchema } from '../../../adapters/coap/config.js';
import { discoveryOptions, MulticastDiscovery } from '../../../adapters/coap/discovery.js';
import { RecordingContext } from '../lwm2m/recording-context.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

/** The coap_server sample's resources, in the link format its service writes them. */
const SAMPLE_LINKS =
  '</test>,</seg1/seg2/seg3>,</query>,</separate>,</large>,</large-update>,</large-create>,</obs>,' +
  '</core1>;title="Core 1";rt=core1,</core2>;title="Core 2";rt=core2,</wild1/+/wild3>,</wild2/#>';

describe("Zephyr's coap_server", () => {
  it('answers a CoAP ping with a piggy-backed 4.04, which counts as an answer', async () => {
    const device = await scriptedDevice((m, d) => {
      // coap_handle_request_len(): an empty message is a request (code 0 & ~7 == 0) whose path matches nothing.
      if (m.type === 'CON' && m.code === '0.00') d.send({ type: 'ACK', code: '4.04', mid: m.messageId });
    });
    const ep = await endpoint();
    expect(await ep.ping({ address: '::1', port: device.port })).toBe(true);
    expect(device.withCode('0.00')).toHaveLength(1);
  });

  it('is announced from its answer to multicast discovery, an ACK to the NON request', async () => {
    const device = await scriptedDevice((m, d) => {
      if (m.type !== 'NON' || m.path.join('/') !== '.well-known/core') return;
      d.send({
        type: 'ACK',
        code: '2.05',
        mid: m.messageId,
        token: [...m.token],
        options: [[12, [40]]],
        payload: SAMPLE_LINKS,
      });
    });
    const config = coapAdapterConfigSchema.parse({ interfaces: ['lo'], multicast_groups: ['::1'] });
    const ctx = new RecordingContext();
    ctx.permit = true;
    const options = { ...discoveryOptions(config), windowMs: 300, port: device.port };
    await new MulticastDiscovery(await endpoint(), ctx, options).round();
    const seen = ctx.facts.flatMap((f) => (f.type === 'deviceSeen' ? [f.seen] : []));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.details?.resources).toEqual([
      '/test',
      '/seg1/seg2/seg3',
      '/query',
      '/separate',
      '/large',
      '/large-update',
      '/large-create',
      '/obs',
      '/core1',
      '/core2',
      '/wild1/+/wild3',
      '/wild2/#',
    ]);
  });

  it("takes the sample's separate response, a CON with the request's message id, and acknowledges it", async () => {
    const device = await scriptedDevice((m, d) => {
      if (m.type !== 'CON' || m.code !== '0.01' || m.path[0] !== 'separate') return;
      d.ack(m);
      d.send({
        type: 'CON',
        code: '2.05',
        mid: m.messageId,
        token: [...m.token],
        options: [[12, []]],
        payload: `Type: 0\nCode: 1\nMID: ${m.messageId}\n`,
      });
    });
    const ep = await endpoint();
    const res = await ep.request({ peer: { address: '::1', port: device.port }, method: 'GET', path: ['separate'] });
    const request = device.withCode('0.01')[0]?.message;
    expect([res.code, res.payload.toString()]).toEqual(['2.05', `Type: 0\nCode: 1\nMID: ${request?.messageId}\n`]);
    const ack = await device.waitFor((m) => m.type === 'ACK');
    expect([ack.message.code, ack.message.messageId, ack.message.token.length]).toEqual([
      '0.00',
      request?.messageId,
      0,
    ]);
  });
});
