// MQTT 3.1.1 section 1.5.3: a string with U+0000 or ill-formed UTF-8 closes the connection [MQTT-1.5.3-1/-2],
// before the packet is acknowledged, routed or queued. Raw frames: mqtt.js refuses to send such strings.
import { createConnection } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  collect,
  endClients,
  rawConnect,
  rawExchange,
  roundTrip,
  startTestBroker,
  type TestBroker,
} from './helpers.js';

const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

function str(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

function frame(header: number, body: Buffer): Buffer {
  if (body.length > 127) throw new Error('test frames are short');
  return Buffer.concat([Buffer.from([header, body.length]), body]);
}

/** PUBLISH QoS 1, message id 1. */
function publishQos1(topic: Buffer): Buffer {
  return frame(0x32, Buffer.concat([str(topic), Buffer.from([0x00, 0x01]), Buffer.from('payload')]));
}

/** SUBSCRIBE (message id 1) to one filter at QoS 1. */
function subscribe(filter: Buffer): Buffer {
  return frame(0x82, Buffer.concat([Buffer.from([0x00, 0x01]), str(filter), Buffer.from([0x01])]));
}

/** CONNECT (3.1.1, clean session) with a QoS 0 will. */
function connectWithWill(clientId: string, willTopic: Buffer): Buffer {
  const head = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x06, 0x00, 0x3c]);
  return frame(0x10, Buffer.concat([head, str(Buffer.from(clientId)), str(willTopic), str(Buffer.from('gone'))]));
}

/** Connects as `clientId`, sends `packet` once the CONNACK came, and resolves with what the broker sent after the
 * CONNACK until it closed the connection (closed: true), or `expected` bytes came, or 5 s passed. */
function sendAfterConnack(port: number, clientId: string, packet: Buffer, expected = Number.POSITIVE_INFINITY) {
  return new Promise<{ after: Buffer; closed: boolean }>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(rawConnect(clientId, true)));
    const stop = () => {
      socket.removeAllListeners('close');
      socket.destroy();
      finish(false);
    };
    const timer = setTimeout(stop, 5000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      if (!received.subarray(0, 4).equals(CONNACK_OK)) reject(new Error(`no CONNACK: ${received.toString('hex')}`));
      else resolve({ after: received.subarray(4), closed });
    };
    socket.on('data', (d) => {
      const before = received.length;
      received = Buffer.concat([received, d]);
      if (before < 4 && received.length >= 4) socket.write(packet);
      if (received.length - 4 >= expected) stop();
    });
    socket.on('error', () => {}); // ECONNRESET: the close is what is checked
    socket.on('close', () => finish(true));
  });
}

describe('malformed MQTT strings', () => {
  let tb: TestBroker;
  let port: number;
  beforeEach(async () => {
    tb = await startTestBroker({ anonymous_acl: [{ allow: 'both', topic: '#' }] });
    port = tb.broker.addresses()[0]?.port ?? 0;
  });
  afterEach(async () => {
    await endClients();
    await tb.dispose();
  });

  const warnings = () => tb.log.lines.filter((l) => l.msg.includes('MQTT-1.5.3'));

  for (const [name, topic, reason] of [
    ['U+0000', Buffer.from('zephyr2mqtt/bad\0x'), 'contains U+0000'],
    ['invalid UTF-8 bytes', Buffer.from([0x61, 0x2f, 0xff, 0xfe]), 'is not well-formed UTF-8'],
    ['an encoded surrogate', Buffer.from([0x61, 0x2f, 0xed, 0xa0, 0x80]), 'is not well-formed UTF-8'],
  ] as const) {
    it(`closes the connection on a PUBLISH topic with ${name}: no PUBACK, nothing routed`, async () => {
      const sub = await tb.connect();
      const seen = collect(sub);
      await sub.subscribeAsync('#', { qos: 1 });
      const res = await sendAfterConnack(port, 'bad-topic', publishQos1(topic));
      expect(res).toEqual({ after: Buffer.alloc(0), closed: true }); // no PUBACK
      await roundTrip(sub, 'sync/after');
      expect(seen.messages.map((m) => m.topic)).toEqual(['sync/after']);
      expect(warnings()).toEqual([
        expect.objectContaining({ level: 40, clientId: 'bad-topic', packet: 'publish', reason }),
      ]);
    });
  }

  it('accepts a U+FFFD sent as such (EF BF BD) and valid non-ASCII', async () => {
    const sub = await tb.connect();
    const seen = collect(sub);
    await sub.subscribeAsync('#', { qos: 1 });
    const topic = Buffer.from('°C/ü/\uFFFD');
    const res = await sendAfterConnack(port, 'fine-topic', publishQos1(topic), 4);
    await seen.waitFor(1);
    expect(res).toEqual({ after: Buffer.from([0x40, 0x02, 0x00, 0x01]), closed: false }); // PUBACK
    expect(seen.messages.map((m) => m.topic)).toEqual(['°C/ü/\uFFFD']);
    expect(warnings()).toEqual([]);
  });

  it('closes the connection on a SUBSCRIBE filter with U+0000 or invalid UTF-8: no SUBACK', async () => {
    for (const [clientId, filter] of [
      ['bad-filter-nul', Buffer.from('a/\0/#')],
      ['bad-filter-utf8', Buffer.from([0x61, 0x2f, 0xc3])],
    ] as const) {
      const res = await sendAfterConnack(port, clientId, subscribe(filter));
      expect(res, clientId).toEqual({ after: Buffer.alloc(0), closed: true }); // no SUBACK
    }
    expect(warnings().map((l) => [l.clientId, l.packet, l.reason])).toEqual([
      ['bad-filter-nul', 'subscribe', 'contains U+0000'],
      ['bad-filter-utf8', 'subscribe', 'is not well-formed UTF-8'],
    ]);
  });

  it('refuses a CONNECT whose will topic has U+0000: no CONNACK, no will published', async () => {
    const sub = await tb.connect();
    const seen = collect(sub);
    await sub.subscribeAsync('#', { qos: 1 });
    const res = await rawExchange(port, [connectWithWill('bad-will', Buffer.from('will/\0x'))], 5000);
    expect(res.closed).toBe(true);
    expect(res.data.length).toBe(0);
    await roundTrip(sub, 'sync/will');
    expect(seen.messages.map((m) => m.topic)).toEqual(['sync/will']);
    expect(warnings()).toEqual([
      expect.objectContaining({ clientId: 'bad-will', packet: 'connect', reason: 'contains U+0000' }),
    ]);
  });
});
