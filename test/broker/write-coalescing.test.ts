// Packets aedes writes from separate setImmediate callbacks of one loop turn leave in one socket write.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../gateway/broker/write-coalescing.js';

interface SocketPair {
  server: Server;
  serverSide: Socket;
  clientSide: Socket;
}

let pair: SocketPair | undefined;

afterEach(async () => {
  pair?.clientSide.destroy();
  pair?.serverSide.destroy();
  if (pair) await new Promise((resolve) => pair?.server.close(resolve));
  pair = undefined;
});

async function socketPair(): Promise<SocketPair> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const clientSide = connect(port, '127.0.0.1');
  const [serverSide] = (await accepted) as [Socket];
  pair = { server, serverSide, clientSide };
  return pair;
}

/** Counts the writes the stream hands to the socket (each is one send system call). */
function countSocketWrites(socket: Socket): () => number {
  const internals = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = internals[method].bind(socket);
    internals[method] = (...args: unknown[]) => {
      writes++;
      original(...args);
    };
  }
  return () => writes;
}

function publishPacket(i: number) {
  return {
    cmd: 'publish' as const,
    topic: `t/${i}`,
    payload: Buffer.from(`v${i}`),
    qos: 0 as const,
    retain: false,
    dup: false,
  };
}

/** Writes `count` PUBLISH packets the way aedes does: each from its own setImmediate callback. */
async function writeAsAedes(socket: Socket, count: number): Promise<void> {
  for (let i = 0; i < count; i++) setImmediate(() => mqttPacket.writeToStream(publishPacket(i), socket));
  await new Promise((resolve) => setImmediate(resolve));
}

async function receivedTopics(socket: Socket, count: number): Promise<string[]> {
  const parser = mqttPacket.parser();
  const topics: string[] = [];
  const done = new Promise<void>((resolve) =>
    parser.on('packet', (packet) => {
      if (packet.cmd === 'publish') topics.push(packet.topic);
      if (topics.length === count) resolve();
    }),
  );
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  await done;
  return topics;
}

describe('coalesceWrites', () => {
  it('sends the packets written in one loop turn with one socket write, in order', async () => {
    const { serverSide, clientSide } = await socketPair();
    coalesceWrites(serverSide);
    const writes = countSocketWrites(serverSide);
    const received = receivedTopics(clientSide, 32);
    await writeAsAedes(serverSide, 32);
    expect(await received).toEqual(Array.from({ length: 32 }, (_, i) => `t/${i}`));
    expect(writes()).toBe(1);
  });

  it('without it, each such packet is its own socket write (what the test above guards against)', async () => {
    const { serverSide, clientSide } = await socketPair();
    const writes = countSocketWrites(serverSide);
    const received = receivedTopics(clientSide, 32);
    await writeAsAedes(serverSide, 32);
    await received;
    expect(writes()).toBe(32);
  });

  it('keeps backpressure: a turn that passes half the high-water mark is sent at once, and write() still reports a full buffer', async () => {
    const { serverSide } = await socketPair();
    coalesceWrites(serverSide);
    const writes = countSocketWrites(serverSide);
    const half = Buffer.alloc(serverSide.writableHighWaterMark / 2);
    expect(serverSide.write(Buffer.alloc(10))).toBe(true);
    expect(writes()).toBe(0);
    serverSide.write(half);
    expect(writes()).toBe(1);
    expect(serverSide.write(Buffer.alloc(serverSide.writableHighWaterMark * 4))).toBe(false);
  });

  it("turns Nagle off, so a turn's write is not held back waiting for an ACK", async () => {
    const { serverSide } = await socketPair();
    const calls: boolean[] = [];
    const setNoDelay = serverSide.setNoDelay.bind(serverSide);
    serverSide.setNoDelay = (on?: boolean) => {
      calls.push(on ?? true);
      return setNoDelay(on);
    };
    coalesceWrites(serverSide);
    expect(calls).toEqual([true]);
  });
});
