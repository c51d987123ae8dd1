// The raw SMP reassembler SMP over BLE relies on: fixed cases, then fuzzing (random splits of valid packets come
// out byte for byte; garbage never throws and never makes it hold more than one maximal packet).
import { describe, expect, it } from 'vitest';
import { encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import {
  MAX_SMP_PACKET,
  type ReassemblyEvent,
  SmpPacketReassembler,
} from '../../../adapters/common/smp/packet-reassembler.js';
import { hex, randomBytes, randomSplit, rng, toHex } from '../serial/random.js';

const packets = (events: ReassemblyEvent[]) => events.flatMap((e) => (e.kind === 'packet' ? [toHex(e.packet)] : []));
const errors = (events: ReassemblyEvent[]) => events.filter((e) => e.kind === 'error');

const ECHO_RESPONSE = hex('03 00 00 09 00 00 00 00 A1 61 72 65 68 65 6C 6C 6F');

describe('SmpPacketReassembler', () => {
  it('passes a packet that arrives whole, and one with an empty body', () => {
    const r = new SmpPacketReassembler();
    expect(packets(r.push(ECHO_RESPONSE))).toEqual([toHex(ECHO_RESPONSE)]);
    const reset = hex('03 00 00 00 00 00 00 05');
    expect(packets(r.push(reset))).toEqual([toHex(reset)]);
    expect(r.pending).toBe(0);
  });

  it('waits for the rest of a header split over fragments, then for the body its length announces', () => {
    const r = new SmpPacketReassembler();
    expect(r.push(ECHO_RESPONSE.subarray(0, 3))).toEqual([]);
    expect(r.push(ECHO_RESPONSE.subarray(3, 10))).toEqual([]);
    expect(r.pending).toBe(10);
    expect(packets(r.push(ECHO_RESPONSE.subarray(10)))).toEqual([toHex(ECHO_RESPONSE)]);
  });

  it('takes two packets from one fragment', () => {
    const r = new SmpPacketReassembler();
    const both = Buffer.concat([ECHO_RESPONSE, ECHO_RESPONSE]);
    expect(packets(r.push(both))).toEqual([toHex(ECHO_RESPONSE), toHex(ECHO_RESPONSE)]);
  });

  it('refuses a header announcing more than the limit, and drops that fragment without holding it', () => {
    const r = new SmpPacketReassembler();
    const huge = hex('03 00 FF FF 00 00 00 00 A1');
    const events = r.push(huge);
    expect(errors(events)).toEqual([
      { kind: 'error', reason: `SMP packet of 65543 bytes exceeds the ${MAX_SMP_PACKET}-byte limit`, bytes: huge },
    ]);
    expect(r.pending).toBe(0);
    expect(packets(r.push(ECHO_RESPONSE))).toEqual([toHex(ECHO_RESPONSE)]);
  });

  it('refuses an invalid header (op 7) and recovers with the next fragment', () => {
    const r = new SmpPacketReassembler();
    expect(errors(r.push(hex('07 00 00 01 00 00 00 00 A0')))[0]?.reason).toBe('unknown SMP op 7');
    expect(packets(r.push(ECHO_RESPONSE))).toEqual([toHex(ECHO_RESPONSE)]);
  });

  it('flush drops a partial packet and says how much it held', () => {
    const r = new SmpPacketReassembler();
    r.push(ECHO_RESPONSE.subarray(0, 12));
    expect(r.flush('link lost')).toEqual([
      {
        kind: 'error',
        reason: 'link lost: dropped 12 bytes of a 17-byte packet',
        bytes: ECHO_RESPONSE.subarray(0, 12),
      },
    ]);
    expect(r.pending).toBe(0);
    expect(r.flush('again')).toEqual([]);
    r.push(ECHO_RESPONSE.subarray(0, 5));
    expect(errors(r.flush('new request sent'))[0]?.reason).toBe(
      'new request sent: dropped 5 bytes of an incomplete header',
    );
  });
});

describe('SmpPacketReassembler fuzzing', () => {
  it('reassembles random packets split at random points byte for byte', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = rng(seed);
      const sent: string[] = [];
      const stream: Buffer[] = [];
      const count = 1 + Math.floor(next() * 5);
      for (let i = 0; i < count; i++) {
        const body = { d: Buffer.from(randomBytes(next, Math.floor(next() * 600))).toString('latin1'), n: i };
        const packet = encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: i, body });
        sent.push(toHex(packet));
        stream.push(Buffer.from(packet));
      }
      const r = new SmpPacketReassembler();
      const got: string[] = [];
      for (const fragment of randomSplit(next, Buffer.concat(stream))) {
        const events = r.push(fragment);
        expect(errors(events), `seed ${seed}`).toEqual([]);
        got.push(...packets(events));
      }
      expect(got, `seed ${seed}`).toEqual(sent);
      expect(r.pending, `seed ${seed}`).toBe(0);
    }
  });

  it('never throws on garbage and never holds more than one maximal packet', () => {
    const small = 300;
    for (let seed = 1; seed <= 300; seed++) {
      const next = rng(seed);
      const r = new SmpPacketReassembler(seed % 2 ? small : MAX_SMP_PACKET);
      for (let i = 0; i < 200; i++) {
        const fragment = randomBytes(next, Math.floor(next() * 260));
        // Valid-looking headers (op 1/3, version bits 0) now and then, so that long declared lengths get tested too.
        if (fragment.length > 0 && next() < 0.3) fragment[0] = next() < 0.5 ? 0x01 : 0x0b;
        for (const ev of r.push(fragment)) {
          if (ev.kind === 'packet') expect(ev.packet.length).toBeLessThanOrEqual(r.maxPacket);
        }
        expect(r.pending, `seed ${seed}`).toBeLessThanOrEqual(r.maxPacket);
      }
      r.flush('end');
      expect(r.pending).toBe(0);
    }
  });
});
