// writeOncePerTurn (gateway/broker/turn-writes.ts) through the real embedded broker: bursts of deliveries, with
// socket writes held corked until the end of an event-loop turn, must still arrive complete and in MQTT order in
// the aedes flows that write to a client outside a plain delivery (SUBACK and retained messages, a resumed session's
// queue, a session takeover) and over a WebSocket, whose stream is left uncorked.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { endClients, startTestBroker, type TestBroker } from './helpers.js';

type QoS = 0 | 1 | 2;

interface Got {
  topic: string;
  qos: number;
  seq: number;
  retain: boolean;
  dup: boolean;
  /** The payload is what was sent for (topic, seq): its header and its length. */
  intact: boolean;
}

/** 20 KB, above a socket's 16 KB high-water mark: corked writes must be let go before aedes waits for 'drain'. */
const BIG = 20 * 1024;

function payloadFor(topic: string, seq: number, size: number): Buffer {
  const head = Buffer.from(`${topic}#${seq}#${size}#`, 'utf8');
  return size <= head.length ? head : Buffer.concat([head, Buffer.alloc(size - head.length, seq % 251)]);
}

function parse(topic: string, payload: Buffer): { seq: number; intact: boolean } {
  const [t, seq, size] = payload.subarray(0, 120).toString('latin1').split('#');
  const n = Number(seq);
  return { seq: n, intact: t === topic && payload.equals(payloadFor(topic, n, Number(size))) };
}

/** Records every PUBLISH with its flags; waits are bounded in time. */
function record(client: MqttClient) {
  const got: Got[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, qos: packet.qos, retain: packet.retain, dup: packet.dup, ...parse(topic, payload) });
    for (const w of waiters) w();
  });
  return {
    got,
    until(what: string, done: () => boolean, ms = 15_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what} (${got.length} messages received)`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Connects with the recorder attached before CONNACK: a resumed session's queue may come in the CONNACK's read. */
async function connectRecording(tb: TestBroker, opts: IClientOptions, type: 'mqtt' | 'ws' = 'mqtt') {
  const client = mqtt.connect(tb.url(type), { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  const rec = record(client);
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CONNACK')), 5000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { client, ...rec, errors };
}

interface Sent {
  topic: string;
  seq: number;
  qos: QoS;
}

/**
 * Publishes `count` messages round-robin over `topics`, `batch` at a time, each batch written in one turn (the
 * QoS 2 ones stay under the broker's 100 awaiting PUBREL). Sequence numbers count per topic. `qosOf(i)` and
 * `sizeOf(i)` choose per message; `between` runs after each batch, with what was sent so far.
 */
async function publishBurst(
  pub: MqttClient,
  opts: {
    topics: string[];
    count: number;
    qosOf: (i: number) => QoS;
    sizeOf?: (i: number) => number;
    batch?: number;
    between?: (sentSoFar: readonly Sent[]) => Promise<void> | void;
  },
): Promise<Sent[]> {
  const { topics, count, qosOf, sizeOf = () => 0, batch = 50, between } = opts;
  const next = new Map<string, number>();
  const sent: Sent[] = [];
  for (let start = 0; start < count; start += batch) {
    const acks: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const topic = topics[i % topics.length] as string;
      const seq = next.get(topic) ?? 0;
      next.set(topic, seq + 1);
      const qos = qosOf(i);
      sent.push({ topic, seq, qos });
      acks.push(pub.publishAsync(topic, payloadFor(topic, seq, sizeOf(i)), { qos }));
    }
    await Promise.all(acks);
    await between?.(sent);
  }
  return sent;
}

const key = (m: { topic: string; seq: number }) => `${m.topic}#${m.seq}`;

/** Sequence numbers received per topic and QoS, in arrival order. */
function byTopicAndQos(got: Got[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of got) {
    const k = `${m.topic} qos${m.qos}`;
    out.set(k, [...(out.get(k) ?? []), m.seq]);
  }
  return out;
}

/**
 * A resumed session's connection gets its backlog and then the messages published while it was sent, in one order
 * per topic [MQTT-4.6.0-6] (gateway/broker/ordered-resume.ts), each once.
 */
function expectInOrderOnce(got: Got[]): void {
  for (const [k, seqs] of byTopicAndQos(got)) expect(seqs, k).toEqual([...new Set(seqs)].sort((a, b) => a - b));
}

/** A message the first connection received, sent again to the second, carries DUP [MQTT-3.3.1-1]. */
function expectResentWithDup(first: Got[], second: Got[]): void {
  const before = new Set(first.map(key));
  const again = second.filter((m) => before.has(key(m)));
  expect(again.filter((m) => !m.dup)).toEqual([]);
}

describe('one socket write per turn, through the broker', () => {
  let tb: TestBroker | undefined;
  const extra: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  async function open(opts: IClientOptions = {}, type: 'mqtt' | 'ws' = 'mqtt') {
    if (!tb) throw new Error('no broker');
    const c = await connectRecording(tb, opts, type);
    extra.push(c.client);
    return c;
  }

  /** Every sent message arrived once, intact, at the QoS sent, and in order per topic and QoS [MQTT-4.6.0-6]. */
  function expectCompleteAndOrdered(got: Got[], sent: Sent[]): void {
    expect(got.filter((m) => !m.intact)).toEqual([]);
    expect(got.map(key).sort()).toEqual(sent.map(key).sort());
    const expected = new Map<string, number[]>();
    for (const m of sent)
      expected.set(`${m.topic} qos${m.qos}`, [...(expected.get(`${m.topic} qos${m.qos}`) ?? []), m.seq]);
    expect(byTopicAndQos(got)).toEqual(expected);
  }

  it('delivers a mixed QoS 0/1/2 burst with 20 KB payloads complete and in order per topic and QoS', async () => {
    tb = await startTestBroker();
    const sub = await open();
    await sub.client.subscribeAsync('burst/#', { qos: 2 });
    const pub = await open();
    const count = 600;
    const sent = await publishBurst(pub.client, {
      topics: ['burst/a', 'burst/b', 'burst/c', 'burst/d/e'],
      count,
      qosOf: (i) => ((i >> 2) % 3) as QoS,
      sizeOf: (i) => (i % 7 === 3 ? BIG : i % 5 === 0 ? 2000 : 20),
      batch: 60,
    });
    await sub.until(`${count} messages`, () => sub.got.length >= count);
    expectCompleteAndOrdered(sub.got, sent);
    expect(sub.got.some((m) => m.qos === 0) && sub.got.some((m) => m.qos === 2)).toBe(true);
    expect(sub.errors).toEqual([]);
  });

  it('gives a persistent QoS 1 subscriber that drops mid-stream every message once it is back', async () => {
    tb = await startTestBroker();
    const session: IClientOptions = { clientId: 'flows-persistent', clean: false };
    const first = await open(session);
    await first.client.subscribeAsync('pers/#', { qos: 1 });
    // The connection goes down, without DISCONNECT, while corked deliveries are on their way.
    let dropped = false;
    const down = new Promise<void>((resolve) => first.client.stream.once('close', () => resolve()));
    first.client.on('message', () => {
      if (!dropped && first.got.length >= 120) {
        dropped = true;
        first.client.stream.destroy();
      }
    });
    const pub = await open();
    let second: Awaited<ReturnType<typeof open>> | undefined;
    let batches = 0;
    const sent = await publishBurst(pub.client, {
      topics: ['pers/a', 'pers/b'],
      count: 480,
      qosOf: () => 1,
      sizeOf: (i) => (i % 9 === 4 ? BIG : 40),
      batch: 40,
      // Back while the publisher is still sending (6 of 12 batches published).
      between: async () => {
        if (++batches !== 6) return;
        await first.until('120 messages before the drop', () => first.got.length >= 120);
        await down;
        second = await open(session);
      },
    });
    if (!second) throw new Error('not reconnected');
    const back = second;
    const all = () => new Set([...first.got, ...back.got].map(key));
    await back.until('every message in one of the two connections', () => all().size >= sent.length);
    expect([...all()].sort()).toEqual(sent.map(key).sort());
    expect([...first.got, ...back.got].filter((m) => !m.intact || m.qos !== 1)).toEqual([]);
    for (const conn of [first, back]) expectInOrderOnce(conn.got);
    expectResentWithDup(first.got, back.got);
    expect(first.got.length).toBeLessThan(sent.length);
    expect(back.got.length).toBeGreaterThan(0);
  });

  it('sends retained messages to a subscription made mid-burst, then the live ones, without a gap', async () => {
    tb = await startTestBroker();
    const pub = await open();
    const retained = ['ret/0', 'ret/1', 'ret/2', 'ret/big'];
    for (const topic of retained)
      await pub.client.publishAsync(topic, payloadFor(topic, 0, topic === 'ret/big' ? BIG : 30), {
        qos: 1,
        retain: true,
      });
    // `busy` is being sent the burst when it subscribes to the retained topics; `late` connects and subscribes then.
    const busy = await open();
    await busy.client.subscribeAsync('live/#', { qos: 1 });
    let late: Awaited<ReturnType<typeof open>> | undefined;
    let subscribed: Promise<unknown> | undefined;
    let batches = 0;
    const sent = await publishBurst(pub.client, {
      topics: ['live/a', 'live/b'],
      count: 600,
      qosOf: (i) => (i % 3 === 0 ? 0 : 1),
      sizeOf: (i) => (i % 8 === 5 ? BIG : 25),
      batch: 50,
      // After 3 of 12 batches, not awaited: the subscriptions race the deliveries of the rest.
      between: () => {
        if (++batches !== 3) return;
        subscribed = (async () => {
          await busy.client.subscribeAsync('ret/#', { qos: 1 });
          const c = await open();
          late = c;
          await c.client.subscribeAsync({ 'ret/#': { qos: 1 }, 'live/#': { qos: 1 } });
        })();
      },
    });
    expect(subscribed).toBeDefined();
    await subscribed;
    const lateClient = late as NonNullable<typeof late>;
    // Both now hold live updates to a retained topic, after its retained copy.
    await pub.client.publishAsync('ret/0', payloadFor('ret/0', 1, 30), { qos: 1, retain: true });
    const live = sent.length;
    for (const c of [busy, lateClient]) {
      await c.until(
        'the retained messages and the update',
        () => c.got.filter((m) => m.topic.startsWith('ret/')).length >= 5,
      );
      const ret = c.got.filter((m) => m.topic.startsWith('ret/'));
      expect(
        ret
          .filter((m) => m.retain)
          .map((m) => [m.topic, m.seq, m.intact])
          .sort(),
      ).toEqual(retained.map((t) => [t, 0, true]).sort());
      expect(ret.at(-1)).toMatchObject({ topic: 'ret/0', seq: 1, retain: false, intact: true });
      expect(ret).toHaveLength(5);
    }
    // busy got the whole burst; late every message from some point on, per topic and QoS.
    await busy.until('the burst', () => busy.got.filter((m) => m.topic.startsWith('live/')).length >= live);
    expectCompleteAndOrdered(
      busy.got.filter((m) => m.topic.startsWith('live/')),
      sent,
    );
    const lateLive = lateClient.got.filter((m) => m.topic.startsWith('live/'));
    expect(lateLive.filter((m) => !m.intact)).toEqual([]);
    for (const [k, seqs] of byTopicAndQos(lateLive)) {
      const all = sent.filter((m) => `${m.topic} qos${m.qos}` === k).map((m) => m.seq);
      // A subscription applies from one message on: a suffix of what was sent on the topic at that QoS.
      expect(seqs, k).toEqual(all.slice(all.length - seqs.length));
    }
  });

  it('hands the QoS 1 backlog to a connection that takes the session over mid-stream', async () => {
    tb = await startTestBroker();
    const unexpected: unknown[] = [];
    const onError = (err: unknown) => unexpected.push(err);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    try {
      const session: IClientOptions = { clientId: 'flows-takeover', clean: false };
      const first = await open(session);
      await first.client.subscribeAsync('take/#', { qos: 1 });
      const pub = await open();
      let second: Awaited<ReturnType<typeof open>> | undefined;
      let takeover: Promise<void> | undefined;
      let batches = 0;
      const sent = await publishBurst(pub.client, {
        topics: ['take/a', 'take/b', 'take/c'],
        count: 450,
        qosOf: () => 1,
        sizeOf: (i) => (i % 10 === 7 ? BIG : 50),
        batch: 45,
        // The takeover starts after 3 of 10 batches, racing the deliveries; it is in place before the 7th.
        between: async () => {
          batches++;
          if (batches === 3) {
            takeover = open(session).then((c) => {
              second = c;
            });
          }
          if (batches === 6) await takeover;
        },
      });
      expect(takeover).toBeDefined();
      await takeover;
      const next = second as NonNullable<typeof second>;
      const all = () => new Set([...first.got, ...next.got].map(key));
      await next.until('every message in one of the two connections', () => all().size >= sent.length);
      expect([...all()].sort()).toEqual(sent.map(key).sort());
      expect(next.got.length).toBeGreaterThan(0);
      expect([...first.got, ...next.got].filter((m) => !m.intact)).toEqual([]);
      expectInOrderOnce(next.got);
      expectResentWithDup(first.got, next.got);
      // The broker still serves: a new client gets a message through.
      const probe = await open();
      await probe.client.subscribeAsync('probe', { qos: 1 });
      await pub.client.publishAsync('probe', payloadFor('probe', 0, 10), { qos: 1 });
      await probe.until('the probe', () => probe.got.length >= 1);
      expect(unexpected).toEqual([]);
      expect(tb.log.lines.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    }
  });

  it('delivers a mixed burst complete and in order to a WebSocket subscriber', async () => {
    tb = await startTestBroker({
      listeners: [
        { type: 'mqtt', host: '127.0.0.1', port: 0 },
        { type: 'ws', host: '127.0.0.1', port: 0 },
      ],
    });
    const sub = await open({}, 'ws');
    await sub.client.subscribeAsync('wsb/#', { qos: 2 });
    const pub = await open();
    const count = 450;
    const sent = await publishBurst(pub.client, {
      topics: ['wsb/a', 'wsb/b', 'wsb/c'],
      count,
      qosOf: (i) => ((i * 7) % 3) as QoS,
      sizeOf: (i) => (i % 6 === 1 ? BIG : 30),
      batch: 60,
    });
    await sub.until(`${count} messages`, () => sub.got.length >= count);
    expectCompleteAndOrdered(sub.got, sent);
    expect(sub.errors).toEqual([]);
  });
});
