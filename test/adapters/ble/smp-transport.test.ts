// The BLE SMP transport on its own, with a pipe that records writes (the noble end is covered in smp.test.ts),
// and the `smp` device setting.
import { EventEmitter, once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { bleDeviceSchema, smpSettings, wantsConnection } from '../../../adapters/ble/config.js';
import { BleSmpTransport, fragmentSize, type SmpGattPipe } from '../../../adapters/ble/smp-transport.js';
import { decodeSmpMessage, encodeSmpMessage } from '../../../adapters/common/smp/packet.js';

function harness(mtu: number | null = 23) {
  const writes: Buffer[] = [];
  const decodeErrors: string[] = [];
  const wrote = new EventEmitter();
  const t = new BleSmpTransport(
    'board',
    { version: 1, timeout_ms: 200, retries: 1 },
    {
      packetIn: () => {},
      decodeError: (reason) => {
        decodeErrors.push(reason);
        wrote.emit('decodeError');
      },
      unsolicited: () => {},
    },
  );
  const pipe: SmpGattPipe = {
    write: async (fragment) => {
      writes.push(fragment);
      wrote.emit('write');
    },
    mtu: () => mtu,
  };
  return { t, pipe, writes, decodeErrors, events: wrote };
}

/** The answer to the request written so far, from the writes' reassembled header. */
function answerTo(writes: Buffer[], body: Record<string, string>): Buffer {
  const req = decodeSmpMessage(Buffer.concat(writes));
  if (!req.ok) throw new Error(req.reason);
  return Buffer.from(encodeSmpMessage({ ...req.value.header, op: 3, body }));
}

describe('BleSmpTransport', () => {
  it('writes MTU - 3 bytes, 20 while the MTU is unknown or below the ATT minimum', () => {
    expect(fragmentSize(null)).toBe(20);
    expect(fragmentSize(undefined)).toBe(20);
    expect(fragmentSize(23)).toBe(20);
    expect(fragmentSize(10)).toBe(20);
    expect(fragmentSize(247)).toBe(244);
  });

  it('fails requests at once before a session attached', async () => {
    const { t } = harness();
    await expect(t.client.request({ op: 2, group: 0, id: 0, body: { d: 'x' } })).rejects.toThrow(
      /^device "board" is not connected/,
    );
    expect(t.connected).toBe(false);
  });

  it('drops a partial answer when the request is sent again, and completes with the retry', async () => {
    const { t, pipe, writes, decodeErrors, events } = harness();
    t.attach(pipe);
    const written = once(events, 'write');
    const res = t.client.request({ op: 2, group: 0, id: 0, body: { d: 'hello' } });
    await written;
    const answer = answerTo(writes, { r: 'hello' });
    const dropped = once(events, 'decodeError');
    t.receive(answer.subarray(0, 10)); // then the device goes quiet: the client times out and resends
    await dropped;
    expect(decodeErrors).toEqual(['new request sent: dropped 10 bytes of a 17-byte packet']);
    t.receive(answer);
    await expect(res).resolves.toMatchObject({ body: { r: 'hello' }, attempts: 2 });
  });

  it('ignores the detach of a pipe it no longer uses (an old session closing late)', async () => {
    const { t, pipe } = harness();
    const old = harness().pipe;
    t.attach(pipe);
    t.detach(old);
    expect(t.connected).toBe(true);
    t.detach(pipe);
    expect(t.connected).toBe(false);
  });
});

describe('ble device `smp` setting', () => {
  const base = { transport: 'ble', match: { name: 'Zephyr SMP' } };

  it('takes true or settings, is off by default, and implies a connection unless connect: false', () => {
    const on = bleDeviceSchema.parse({ ...base, smp: true });
    expect(smpSettings(on)).toEqual({ enabled: true, version: 1, timeout_ms: 5000, retries: 2 });
    expect(wantsConnection(on)).toBe(true);
    const tuned = bleDeviceSchema.parse({ ...base, smp: { timeout_ms: 8000, version: 2 } });
    expect(smpSettings(tuned)).toEqual({ enabled: true, version: 2, timeout_ms: 8000, retries: 2 });
    const off = bleDeviceSchema.parse(base);
    expect(smpSettings(off)).toBeUndefined();
    expect(wantsConnection(off)).toBe(false);
    expect(smpSettings(bleDeviceSchema.parse({ ...base, smp: { enabled: false } }))).toBeUndefined();
    expect(wantsConnection(bleDeviceSchema.parse({ ...base, smp: true, connect: false }))).toBe(false);
    expect(bleDeviceSchema.safeParse({ ...base, smp: { timeout: 1 } }).success).toBe(false);
  });
});
