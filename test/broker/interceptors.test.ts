import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../gateway/broker/types.js';
import { collect, endClients, startTestBroker, type TestBroker } from './helpers.js';

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
