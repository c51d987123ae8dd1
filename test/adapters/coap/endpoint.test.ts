import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { CoapClientResponse, CoapIncomingRequest } from '../../../adapters/coap/endpoint.js';
import { decodeMessage, encodeMessage } from '../../../adapters/coap/transport/message.js';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';

stopEndpointsAfterEach();

function waitFor<T>(register: (resolve: (v: T) => void) => void, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

describe('UdpCoapEndpoint over loopback', () => {
  it('routes by first path segment and answers CON with a piggy-backed ACK', async () => {
    const server = await endpoint();
    const client = await endpoint();
    const seen: CoapIncomingRequest[] = [];
    server.route('ps', (req) => {
      seen.push(req);
      return { code: '2.04', payload: 'ok', contentFormat: 0 };
    });
    const res = await client.request({
      peer: { address: '::1', port: server.port },
      method: 'PUT',
      path: ['ps', 'dev1'],
      query: ['k=v'],
      contentFormat: 50,
      payload: '{"a":1}',
    });
    expect(res.code).toBe('2.04');
    expect(res.payload.toString()).toBe('ok');
    expect(seen[0]).toMatchObject({ method: 'PUT', path: ['ps', 'dev1'], query: ['k=v'], contentFormat: 50 });
    expect(seen[0]?.payload.toString()).toBe('{"a":1}');
    const missing = await client.request({
      peer: { address: '::1', port: server.port },
      method: 'GET',
      path: ['nope'],
    });
    expect(missing.code).toBe('4.04');
  });

  it('answers NON requests with a NON response, and serves IPv4 peers on the dual-stack socket', async () => {
    const server = await endpoint({ bindAddress: '::' });
    server.route('t', (req) => ({ code: '2.05', payload: req.source.address }));
    const client = await endpoint({ bindAddress: '127.0.0.1' });
    const res = await client.request({
      peer: { address: '127.0.0.1', port: server.port },
      method: 'GET',
      path: ['t'],
      confirmable: false,
      timeoutMs: 2000,
    });
    expect(res.code).toBe('2.05');
    expect(res.payload.toString()).toBe('127.0.0.1');
  });

  it('transfers large payloads with Block1 and Block2 both ways, reassembling by peer and path', async () => {
    const server = await endpoint({ blockSize: 64 });
    const body = Buffer.alloc(2048, 'A');
    let received: Buffer | undefined;
    server.route('large', (req) => {
      if (req.method === 'GET') return { code: '2.05', payload: body, contentFormat: 0 };
      received = req.payload;
      return { code: '2.04' };
    });
    const client = await endpoint({ blockSize: 32 });
    const upload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const put = await client.request({
      peer: { address: '::1', port: server.port },
      method: 'PUT',
      path: ['large'],
      payload: upload,
    });
    expect(put.code).toBe('2.04');
    expect(received?.equals(upload)).toBe(true);
    const get = await client.request({ peer: { address: '::1', port: server.port }, method: 'GET', path: ['large'] });
    expect(get.payload.equals(body)).toBe(true);
  });

  it('rejects an out-of-sequence Block1 with 4.08 and an oversized upload with 4.13', async () => {
    const server = await endpoint({ maxPayloadBytes: 100 });
    server.route('u', () => ({ code: '2.04' }));
    const raw = createSocket('udp6');
    await new Promise<void>((r) => raw.bind(0, '::1', () => r()));
    try {
      const replies: Buffer[] = [];
      raw.on('message', (m) => replies.push(m));
      const send = (block1Num: number, mid: number, size1?: number) =>
        raw.send(
          encodeMessage({
            type: 'CON',
            code: '0.03',
            messageId: mid,
            token: Buffer.from([mid]),
            path: ['u'],
            block1: { num: block1Num, more: true, szx: 2 },
            size1,
            payload: Buffer.alloc(64),
          }),
          server.port,
          '::1',
        );
      send(3, 1);
      await waitFor<void>((resolve) => raw.once('message', () => resolve()));
      send(0, 2, 5000);
      await waitFor<void>((resolve) => raw.once('message', () => resolve()));
      const codes = replies.map((r) => {
        const d = decodeMessage(r);
        return d.ok ? d.message.code : 'bad';
      });
      expect(codes).toEqual(['4.08', '4.13']);
    } finally {
      raw.close();
    }
  });

  it('deduplicates a retransmitted CON: the handler runs once and the ACK is repeated', async () => {
    const server = await endpoint();
    let calls = 0;
    server.route('d', () => {
      calls++;
      return { code: '2.04' };
    });
    const raw = createSocket('udp6');
    await new Promise<void>((r) => raw.bind(0, '::1', () => r()));
    try {
      const bytes = encodeMessage({ type: 'CON', code: '0.03', messageId: 77, token: Buffer.from([1]), path: ['d'] });
      const acks: Buffer[] = [];
      const twoAcks = waitFor<void>((resolve) =>
        raw.on('message', (m) => {
          acks.push(m);
          if (acks.length === 2) resolve();
        }),
      );
      raw.send(bytes, server.port, '::1');
      await waitFor<void>((resolve) => raw.once('message', () => resolve()));
      raw.send(bytes, server.port, '::1');
      await twoAcks;
      expect(calls).toBe(1);
      expect(acks[0]?.equals(acks[1] as Buffer)).toBe(true);
    } finally {
      raw.close();
    }
  });

  it('sends a separate response when the handler is slow', async () => {
    const server = await endpoint({ separateResponseAfterMs: 20 });
    server.route('slow', async () => {
      // Slower than separateResponseAfterMs (20 ms): the endpoint's own timer sends the empty ACK first.
      await new Promise((r) => setTimeout(r, 150));
      return { code: '2.05', payload: 'late' };
    });
    const client = await endpoint();
    const res = await client.request({ peer: { address: '::1', port: server.port }, method: 'GET', path: ['slow'] });
    expect(res.payload.toString()).toBe('late');
  });

  it('observes a resource, delivers notifications in order and deregisters on cancel', async () => {
    const server = await endpoint();
    let observer: CoapIncomingRequest | undefined;
    const deregistered = waitFor<void>((resolve) =>
      server.route('obs', (req) => {
        if (req.observe === 0) observer = req;
        if (req.observe === 1) resolve();
        return { code: '2.05', payload: 'v0', observe: req.observe === 0 ? 1 : undefined };
      }),
    );
    const client = await endpoint();
    const notes: string[] = [];
    let gotTwo: () => void = () => {};
    const two = new Promise<void>((r) => {
      gotTwo = r;
    });
    const observation = await client.observe(
      { peer: { address: '::1', port: server.port }, method: 'GET', path: ['obs'] },
      (res: CoapClientResponse) => {
        notes.push(res.payload.toString());
        if (notes.length === 2) gotTwo();
      },
    );
    expect(observation.first.payload.toString()).toBe('v0');
    const o = observer as CoapIncomingRequest;
    expect(await server.notify(o.source, o.token, 2, { code: '2.05', payload: 'v1' })).toBe('ack');
    // A stale sequence number is dropped by the client.
    await server.notify(o.source, o.token, 1, { code: '2.05', payload: 'stale' }, false);
    expect(await server.notify(o.source, o.token, 3, { code: '2.05', payload: 'v2' })).toBe('ack');
    await waitFor<void>((resolve) => void two.then(resolve));
    expect(notes).toEqual(['v1', 'v2']);
    await observation.cancel();
    await deregistered;
    // After cancel the client rejects notifications with RST, so the server learns the relation is gone.
    expect(await server.notify(o.source, o.token, 4, { code: '2.05', payload: 'v3' })).toBe('rst');
  });

  it('rejects on CON timeout when nobody answers', async () => {
    const client = await endpoint();
    const silent = createSocket('udp6');
    await new Promise<void>((r) => silent.bind(0, '::1', () => r()));
    try {
      const started = Date.now();
      await expect(
        client.request({ peer: { address: '::1', port: silent.address().port }, method: 'GET', path: ['x'] }),
      ).rejects.toThrow(/timed out/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('rejects start() when the port is taken, without leaking the socket', async () => {
    const first = await endpoint();
    const second = new UdpCoapEndpoint({ bindAddress: '::1', port: first.port });
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
    await second.stop();
  });

  it('answers garbage with RST when the header is readable and keeps serving', async () => {
    const errors: string[] = [];
    const server = await endpoint({ onDecodeError: (reason) => errors.push(reason) });
    server.route('ok', () => ({ code: '2.05' }));
    const raw = createSocket('udp6');
    await new Promise<void>((r) => raw.bind(0, '::1', () => r()));
    try {
      const rst = waitFor<Buffer>((resolve) => raw.once('message', resolve));
      // CON, TKL 0, GET, MID 5, then an option byte with the reserved delta 15.
      raw.send(Buffer.from([0x40, 0x01, 0x00, 0x05, 0xf1, 0x00]), server.port, '::1');
      const reply = decodeMessage(await rst);
      expect(reply.ok && reply.message.type).toBe('RST');
      expect(errors).toHaveLength(1);
      const client = await endpoint();
      expect(
        (await client.request({ peer: { address: '::1', port: server.port }, method: 'GET', path: ['ok'] })).code,
      ).toBe('2.05');
    } finally {
      raw.close();
    }
  });
});

describe('message codec', () => {
  it('encodes header-only messages exactly like coap-packet and round-trips them', async () => {
    const { generate } = await import('coap-packet');
    const token = Buffer.from([9, 8, 7]);
    for (const [type, code] of [
      ['ACK', '2.04'],
      ['ACK', '2.01'],
      ['ACK', '0.00'],
      ['RST', '0.00'],
      ['NON', '4.04'],
      ['CON', '0.01'],
    ] as const) {
      const ours = encodeMessage({ type, code, messageId: 0xbeef, token: code === '0.00' ? undefined : token });
      const theirs = generate({
        code,
        messageId: 0xbeef,
        token: code === '0.00' ? Buffer.alloc(0) : token,
        confirmable: type === 'CON',
        ack: type === 'ACK',
        reset: type === 'RST',
      });
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
      const decoded = decodeMessage(ours);
      expect(decoded.ok && [decoded.message.type, decoded.message.code]).toEqual([type, code]);
    }
  });
});
