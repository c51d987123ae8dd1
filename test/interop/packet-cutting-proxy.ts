// A TCP proxy between an MQTT client and a broker that, on its first connection only, drops the first `swallow`
// packets of one type going one way and then cuts the connection, so that the broker's session holds the messages
// those packets would have moved on. Later connections pass everything.
import { createConnection, createServer, type Socket } from 'node:net';

export interface PacketCuttingProxyOptions {
  /** The broker's port on 127.0.0.1. */
  target: number;
  /** The side whose packets are dropped: the broker's (PUBREC) or the client's (PUBREL). */
  from: 'broker' | 'client';
  /** MQTT control packet type dropped (the high four bits of its first byte): 5 PUBREC, 6 PUBREL. */
  packetType: number;
  swallow: number;
}

export async function packetCuttingProxy(opts: PacketCuttingProxyOptions) {
  let first = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const broker = createConnection(opts.target, '127.0.0.1');
    for (const s of [client, broker]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        broker.destroy();
      });
    }
    const [source, sink] = opts.from === 'broker' ? [broker, client] : [client, broker];
    sink.pipe(source);
    if (!first) {
      source.pipe(sink);
      return;
    }
    first = false;
    let pending = Buffer.alloc(0);
    let swallowed = 0;
    source.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = packetEnd(pending);
        if (end === undefined) return;
        const packet = pending.subarray(0, end);
        pending = pending.subarray(end);
        if (packet[0]! >> 4 !== opts.packetType) sink.write(packet);
        else if (++swallowed === opts.swallow) {
          source.destroy();
          return;
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Where the first MQTT packet in `bytes` ends (its fixed header's Remaining Length, 1 to 4 bytes, read), or
 * undefined while it has not all arrived. */
function packetEnd(bytes: Buffer): number | undefined {
  let length = 0;
  let multiplier = 1;
  let i = 1;
  for (; i < bytes.length && i < 5; i++) {
    length += (bytes[i]! & 0x7f) * multiplier;
    multiplier *= 128;
    if ((bytes[i]! & 0x80) === 0) break;
  }
  const end = i + 1 + length;
  return i >= bytes.length || end > bytes.length ? undefined : end;
}
