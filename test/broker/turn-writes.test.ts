import { stat } from 'node:fs';
import { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { writeOncePerTurn } from '../../gateway/broker/turn-writes.js';

type Deliver = (packet: mqttPacket.IPublishPacket, cb: () => void) => void;

/** A socket that records each write system call it would make: one entry per _writev/_write, with what it carried
 * (mqtt-packet writes a packet as several chunks). */
function recordingSocket(): { conn: Writable; calls: number[]; sent: string[] } {
  const calls: number[] = [];
  const sent: string[] = [];
  const conn = new Writable({
    writev(chunks, cb) {
      calls.push(chunks.length);
      sent.push(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)).toString('latin1'));
      cb();
    },
    write(chunk: Buffer, _encoding, cb) {
      calls.push(1);
      sent.push(chunk.toString('latin1'));
      cb();
    },
  });
  return { conn, calls, sent };
}

/** What aedes' client does per delivery: an immediate that writes the packet with mqtt-packet (cork, uncork next tick). */
function aedesLikeClient(conn: Writable) {
  /** What each write said: false would make aedes wait for 'drain' before it calls the delivery back. */
  const accepted: boolean[] = [];
  const deliver: Deliver = (packet, cb) =>
    setImmediate(() => {
      accepted.push(mqttPacket.writeToStream(packet, conn));
      setImmediate(cb);
    });
  return { conn, deliver0: deliver, deliverQoS: deliver, accepted };
}

const publish = (n: number): mqttPacket.IPublishPacket => ({
  cmd: 'publish',
  topic: `zephyr2mqtt/dev${n}`,
  payload: Buffer.from(`{"n":${n}}`),
  qos: 0,
  dup: false,
  retain: false,
});

/** The device names of the zephyr2mqtt/<name> topics one write carried, in order. */
const topics = (written: string) => [...written.matchAll(/zephyr2mqtt\/(\w+)/g)].map((match) => match[1]);

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('one socket write per turn to each MQTT client', () => {
  it('sends the deliveries queued in one turn in one write, before the next turn', async () => {
    const { conn, calls } = recordingSocket();
    const client = aedesLikeClient(conn);
    writeOncePerTurn(client as never);
    for (let n = 0; n < 30; n++) client.deliver0(publish(n), () => {});
    await nextTurn(); // queued after the last delivery's write: the packets are out by then
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeGreaterThanOrEqual(30);
  });

  it('a later turn gets its own write, and QoS deliveries are batched alike', async () => {
    const { conn, calls } = recordingSocket();
    const client = aedesLikeClient(conn);
    writeOncePerTurn(client as never);
    for (let n = 0; n < 3; n++) client.deliver0(publish(n), () => {});
    await nextTurn();
    for (let n = 0; n < 4; n++) client.deliverQoS({ ...publish(n), qos: 1, messageId: n + 1 }, () => {});
    await nextTurn();
    expect(calls).toHaveLength(2);
  });

  it("a delivery made while a turn's writes run goes out next turn, without holding back this turn's", async () => {
    const { conn, sent } = recordingSocket();
    const client = aedesLikeClient(conn);
    writeOncePerTurn(client as never);
    client.deliver0(publish(1), () => {});
    client.deliver0(publish(2), () => {});
    // Runs between the writes of 2 and 3: a publish routed while the check phase is under way (steady load).
    setImmediate(() => client.deliver0(publish(4), () => {}));
    client.deliver0(publish(3), () => {});
    await nextTurn();
    expect(sent.map(topics)).toEqual([['dev1', 'dev2', 'dev3']]);
    await nextTurn();
    expect(sent.map(topics)).toEqual([['dev1', 'dev2', 'dev3'], ['dev4']]);
  });

  it('holds no packet over one turn longer than aedes alone, with deliveries from the poll and check phases', async () => {
    const { conn, sent } = recordingSocket();
    const client = aedesLikeClient(conn);
    writeOncePerTurn(client as never);
    const POLL_DELIVERIES = 400;
    const MAX_TURNS = 5000;
    let turn = 0;
    let fromPoll = 0;
    const deliveredAt = new Map<string, number>();
    const writtenAt = new Map<string, number>();
    let seen = 0;
    const deliver = (name: string) => {
      deliveredAt.set(name, turn);
      client.deliver0({ ...publish(0), topic: `zephyr2mqtt/${name}` }, () => {});
    };
    const noteWrites = () => {
      for (; seen < sent.length; seen++) for (const name of topics(sent[seen] ?? '')) writtenAt.set(name ?? '', turn);
    };
    const done = () => (turn >= 200 && fromPoll >= POLL_DELIVERIES) || turn >= MAX_TURNS;
    await new Promise<void>((resolve) => {
      // One delivery opens each check phase (a turn), others come from poll-phase callbacks (fs.stat replies).
      const check = () => {
        noteWrites();
        if (done()) return resolve();
        turn++;
        deliver(`c${turn}`);
        setImmediate(check);
      };
      const poll = () =>
        stat('.', () => {
          if (done()) return;
          fromPoll++;
          deliver(`p${fromPoll}`);
          poll();
        });
      setImmediate(check);
      for (let chain = 0; chain < 8; chain++) poll(); // enough that most turns have one
    });
    expect(fromPoll).toBeGreaterThanOrEqual(POLL_DELIVERIES);
    // The last two turns' deliveries may still be on their way.
    const settled = [...deliveredAt].filter(([, at]) => at < turn - 2);
    expect(settled.filter(([name]) => !writtenAt.has(name))).toEqual([]);
    // aedes alone writes a delivery in the next check phase: 1 turn. One more at most.
    const delays = settled.map(([name, at]) => (writtenAt.get(name) ?? 0) - at);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2);
  });

  it("sends what it holds before the socket's high-water mark, so no write asks aedes to wait for drain", async () => {
    const { conn, calls } = recordingSocket();
    const client = aedesLikeClient(conn);
    writeOncePerTurn(client as never);
    const big = (n: number) => ({ ...publish(n), payload: Buffer.alloc(2048, 0x61) });
    for (let n = 0; n < 40; n++) client.deliver0(big(n), () => {}); // 80 KiB in one turn, hwm 16 KiB
    await nextTurn();
    expect(client.accepted).toHaveLength(40);
    expect(client.accepted.every(Boolean)).toBe(true);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.length).toBeLessThan(40);
  });

  it('calls each delivery back, as aedes does', async () => {
    const { conn } = recordingSocket();
    const client = aedesLikeClient(conn);
    writeOncePerTurn(client as never);
    let done = 0;
    for (let n = 0; n < 5; n++) client.deliver0(publish(n), () => done++);
    await expect.poll(() => done, { timeout: 1000 }).toBe(5);
  });
});
