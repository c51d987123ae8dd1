import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../gateway/broker/types.js';
import { collect, endClients, rawConnect, startTestBroker, type TestBroker } from './helpers.js';

describe('publish interceptors', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('run before the PUBACK of a client publish, and only for publishes the ACL allowed', async () => {
    tb = await startTestBroker({ anonymous_acl: [{ allow: 'publish', topic: 'ok/#' }] });
    const seen: BrokerMessage[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    tb.broker.addInterceptor((msg, done) => {
      seen.push(msg);
      if (msg.topic === 'ok/slow') void gate.then(() => done());
      else done();
    });
    const client = await tb.connect({ clientId: 'pub-1' });
    let acked = false;
    const publishing = client.publishAsync('ok/slow', 'x', { qos: 1 }).then(() => {
      acked = true;
    });
    await client.publishAsync('denied/x', 'y', { qos: 1 });
    // The later QoS 1 publish was acknowledged while the first is still held by the interceptor.
    expect(acked).toBe(false);
    release();
    await publishing;
    expect(seen.map((m) => [m.topic, m.clientId, m.qos])).toEqual([['ok/slow', 'pub-1', 1]]);
  });

  it('run before delivery of the gateway’s own publishes and can be removed', async () => {
    tb = await startTestBroker();
    const order: string[] = [];
    const remove = tb.broker.addInterceptor((msg, done) => {
      order.push(`intercept:${msg.topic}`);
      done();
    });
    const client = await tb.connect();
    await client.subscribeAsync('own/#', { qos: 1 });
    const got = collect(client);
    client.on('message', (topic) => order.push(`deliver:${topic}`));
    await tb.broker.publish('own/a', 'x', { qos: 1, retain: true });
    await got.waitFor(1);
    remove();
    await tb.broker.publish('own/b', 'y', { qos: 1 });
    await got.waitFor(2);
    expect(order).toEqual(['intercept:own/a', 'deliver:own/a', 'deliver:own/b']);
  });

  it('refuses a client publish when an interceptor fails: no PUBACK, the client is disconnected', async () => {
    tb = await startTestBroker();
    tb.broker.addInterceptor(() => {
      throw new Error('disk full');
    });
    const client = await tb.connect();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('x/y', 'z', { qos: 1 });
    await closed;
    expect(client.connected).toBe(false);
  });

  it('run one after another; done(err) from any of them refuses the publish', async () => {
    tb = await startTestBroker();
    const order: string[] = [];
    tb.broker.addInterceptor((msg, done) => {
      order.push(`first:${msg.topic}`);
      setImmediate(done); // asynchronous: the second waits for it
    });
    tb.broker.addInterceptor((msg, done) => {
      order.push(`second:${msg.topic}`);
      done(msg.topic === 'bad/x' ? new Error('refused') : undefined);
    });
    const client = await tb.connect();
    await client.publishAsync('good/x', 'a', { qos: 1 });
    expect(order).toEqual(['first:good/x', 'second:good/x']);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('bad/x', 'b', { qos: 1 });
    await closed;
    expect(order).toEqual(['first:good/x', 'second:good/x', 'first:bad/x', 'second:bad/x']);
    await expect(tb.broker.publish('bad/x', 'c')).rejects.toThrow('refused');
  });
});

describe('a QoS 2 PUBLISH sent again before its PUBREL', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  /** PUBLISH QoS 2 of `payload` on q2/t with packet id 9, DUP set or not (MQTT 3.1.1 §3.3). */
  const publishQos2 = (dup: boolean, payload: string) => {
    const topic = Buffer.from('q2/t');
    const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from([0, 9]), Buffer.from(payload)]);
    return Buffer.concat([Buffer.from([0x34 | (dup ? 0x08 : 0), body.length]), body]);
  };
  const pubrel = Buffer.from([0x62, 0x02, 0x00, 0x09]);

  it('reaches the interceptors once, as it reaches subscribers once (MQTT-4.3.3)', async () => {
    tb = await startTestBroker();
    const seen: string[] = [];
    tb.broker.addInterceptor((msg, done) => {
      if (msg.topic === 'q2/t') seen.push(msg.payload.toString());
      done();
    });
    const subscriber = await tb.connect({ clientId: 'sub' });
    const delivered = collect(subscriber);
    await subscriber.subscribeAsync('q2/t', { qos: 2 });
    const raw = await RawClient.open(Number(new URL(tb.url()).port));
    try {
      await raw.send(rawConnect('q2-pub', true), '20020000'); // CONNACK
      await raw.send(publishQos2(false, 'one'), '50020009'); // PUBREC
      // The PUBREC was lost, say: the client sends the PUBLISH again, with DUP.
      await raw.send(publishQos2(true, 'one'), '50020009');
      await raw.send(pubrel, '70020009'); // PUBCOMP
    } finally {
      raw.close();
    }
    await delivered.waitFor(1);
    expect(seen).toEqual(['one']);
    // A later publish on the topic arrives right after, with nothing in between.
    await tb.broker.publish('q2/t', 'two', { qos: 2 });
    await delivered.waitFor(2);
    expect(delivered.messages.map((m) => m.payload)).toEqual(['one', 'two']);
  });
});

/** A TCP connection that writes a packet and waits for the broker's answer (hex), one exchange at a time. */
class RawClient {
  #received = '';
  readonly #waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d) => {
      this.#received += d.toString('hex');
      for (const w of this.#waiters) w();
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(packet: Buffer, answer: string, ms = 3000): Promise<void> {
    this.#received = '';
    this.socket.write(packet);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${answer} within ${ms} ms (got ${this.#received})`)), ms);
      const check = () => {
        if (!this.#received.includes(answer)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
