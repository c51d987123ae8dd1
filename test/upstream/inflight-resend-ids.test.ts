// The packet ids a kept session's reconnect reserves (InflightWindow.forEachResendId): those of the records handed
// out and not acknowledged, and those a rewind kept for records the reader has not passed again yet.
import { describe, expect, it } from 'vitest';
import { ACKNOWLEDGED, InflightWindow, SENT_BEFORE } from '../../gateway/upstream/queue/inflight.js';

const resendIds = (w: InflightWindow) => {
  const ids: number[] = [];
  w.forEachResendId((id) => ids.push(id));
  return ids;
};

describe('InflightWindow.forEachResendId', () => {
  it('lists unacknowledged records sent with an id, before and after a rewind, until they are sent again', () => {
    const w = new InflightWindow();
    for (let seq = 1; seq <= 4; seq++) w.push(seq, 0, seq * 10, 0);
    w.sentWith(1, 101);
    w.sentWith(2, 102);
    w.sentWith(3, 103); // seq 4: handed out, not written (no id)
    w.delete(2);
    expect(resendIds(w)).toEqual([101, 103]);
    w.rewind();
    expect(resendIds(w)).toEqual([101, 103]);
    // The reader passes seq 1 again (it is handed out with its id) and the connection drops once more.
    w.push(1, 0, 10, 0, w.lastSent(1));
    expect(resendIds(w)).toEqual([101, 103]);
    w.delete(3); // acknowledged before it was sent again
    expect(resendIds(w)).toEqual([101]);
    w.sentWith(1, 0); // refused with 0x91 Packet Identifier in use: a new id next time
    expect(resendIds(w)).toEqual([]);
  });
});

describe('InflightWindow.forgetIds', () => {
  it('a session not kept: no id is reserved or reused, the records are still re-deliveries', () => {
    const w = new InflightWindow();
    for (let seq = 1; seq <= 4; seq++) w.push(seq, 0, seq * 10, 0);
    w.sentWith(1, 101);
    w.sentWith(2, 102);
    w.sentWith(3, 103);
    w.delete(2);
    w.rewind();
    w.forgetIds();
    expect(resendIds(w)).toEqual([]);
    expect([1, 2, 3, 4].map((seq) => w.lastSent(seq))).toEqual([SENT_BEFORE, ACKNOWLEDGED, SENT_BEFORE, 0]);
    // Handed out again and dropped before being written: still a re-delivery without an id after the next rewind.
    w.push(1, 0, 10, 0, SENT_BEFORE);
    w.push(3, 0, 30, 0, SENT_BEFORE);
    w.sentWith(3, 7); // written in the new session
    w.rewind();
    expect(resendIds(w)).toEqual([7]);
    expect([1, 3].map((seq) => w.lastSent(seq))).toEqual([SENT_BEFORE, 7]);
  });
});
