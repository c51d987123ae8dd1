// The packet ids a kept session's reconnect reserves (InflightWindow.forEachResendId): those of the records handed
// out and not acknowledged, and those a rewind kept for records the reader has not passed again yet.
import { describe, expect, it } from 'vitest';
import { InflightWindow } from '../../gateway/upstream/queue/inflight.js';

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
