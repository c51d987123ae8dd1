// A device's own block_size bounds the Block1 blocks of writes to it (RFC 7959 §2.3): Zephyr's coap_server reads
// whole messages into CONFIG_COAP_SERVER_MESSAGE_SIZE (256) bytes, so 1024-byte blocks never reach it.
import { describe, expect, it } from 'vitest';
import { encodeBlock } from '../../../adapters/coap/transport/options.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

closeDevicesAfterEach();
stopHarnessesAfterEach();

/** Takes Block1 PUTs as they come: 2.31 Continue for each block, 2.04 for the last. */
async function uploadTarget() {
  return scriptedDevice((m, d) => {
    if (m.type !== 'CON' || m.code !== '0.03') return;
    const block = m.block1;
    const options: Array<[number, number[]]> = block ? [[27, [...encodeBlock(block)]]] : [];
    d.ack(m, { code: block?.more ? '2.31' : '2.04', options });
  });
}

describe('per-device block_size', () => {
  it('sends writes to the device in blocks of its size, not the adapter default', async () => {
    const device = await uploadTarget();
    const resources = { upload: { path: '/big', method: 'PUT', format: 'text' } };
    const h = await coapHarness(
      [{ id: 'node', transport: 'coap', address: '::1', port: device.port, block_size: 128, resources }],
      { block_size: 1024 },
    );
    const response = await h.gw.expectMessage(h.mqtt, 'zephyr2mqtt/node/response');
    await h.mqtt.publishAsync('zephyr2mqtt/node/set', JSON.stringify({ upload: 'u'.repeat(600) }));
    expect(await response.message).toMatchObject({ code: '2.04' });
    const puts = device.withCode('0.03').map((r) => r.message);
    expect(puts.map((m) => [m.block1?.num, m.block1?.szx, m.payload.length])).toEqual([
      [0, 3, 128],
      [1, 3, 128],
      [2, 3, 128],
      [3, 3, 128],
      [4, 3, 88],
    ]);
  });
});
