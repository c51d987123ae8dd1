// A Block1 upload to /ps from a peer that may not publish there, or in a Content-Format the gateway cannot read, is
// refused at its first block, before the transport buffers anything; an allowed one is reassembled as before.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { closePeersAfterEach, frame, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

/** Block1 option value for block `num` of 64 bytes (SZX 2). */
const block1 = (num: number, more: boolean): number[] => [(num << 4) | (more ? 0x08 : 0) | 2];

/** The first 64-byte block (of more) of a CON POST to /ps/<path...>?<query...> in `contentFormat`; token = [mid]. */
const firstBlock = (path: string[], query: string[], contentFormat: number[], mid: number) =>
  frame({
    type: 'CON',
    code: '0.03',
    mid,
    token: [mid],
    options: [
      [11, 'ps'],
      ...path.map((p): [number, string] => [11, p]),
      ...query.map((q): [number, string] => [15, q]),
      [12, contentFormat],
      [27, block1(0, true)],
    ],
    payload: Buffer.alloc(64, 0x20),
  });

describe('Block1 uploads to /ps', () => {
  it('are refused at the first block when the identity does not hold, and nothing is buffered', async () => {
    const h = await coapHarness([
      { id: 'tok', transport: 'coap', token: 's3cret-token' },
      { id: 'far', transport: 'coap', address: '2001:db8::7' },
    ]);
    const raw = await rawPeer();
    const noToken = await raw.exchange(firstBlock(['tok'], [], [50], 1), h.port);
    const wrongAddress = await raw.exchange(firstBlock(['far'], [], [50], 2), h.port);
    expect([noToken?.code, wrongAddress?.code]).toEqual(['4.01', '4.03']);
    expect(h.adapter.endpoint.stats().reassembly).toBe(0);
    // The right token is let through: the first block is acknowledged with 2.31 Continue and buffered.
    const allowed = await raw.exchange(firstBlock(['tok'], ['token=s3cret-token'], [50], 3), h.port);
    expect(allowed?.code).toBe('2.31');
    expect(h.adapter.endpoint.stats().reassembly).toBe(1);
  });

  it('are refused with 4.15 at the first block when the gateway cannot read their Content-Format', async () => {
    const h = await coapHarness([{ id: 'open', transport: 'coap' }]);
    const raw = await rawPeer();
    // 999 (0x03e7) is no format the gateway reads, on the device or on one property.
    const whole = await raw.exchange(firstBlock(['open'], [], [0x03, 0xe7], 1), h.port);
    const property = await raw.exchange(firstBlock(['open', 'level'], [], [0x03, 0xe7], 2), h.port);
    expect([whole?.code, property?.code]).toEqual(['4.15', '4.15']);
    expect(whole?.payload.toString()).toBe('unsupported Content-Format 999');
    expect(h.adapter.endpoint.stats().reassembly).toBe(0);
    // A format it reads goes on: the first block is acknowledged with 2.31 Continue and buffered.
    const json = await raw.exchange(firstBlock(['open'], [], [50], 3), h.port);
    expect(json?.code).toBe('2.31');
    expect(h.adapter.endpoint.stats().reassembly).toBe(1);
  });
});
