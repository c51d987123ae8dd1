// A small MQTT server (mqtt-packet) on loopback for what aedes cannot do: MQTT 5 CONNACK properties (Maximum QoS,
// Retain Available), DISCONNECT with a reason code, and cloud brokers that close the socket on what their policy
// refuses (CONNECT, a topic) instead of answering. Every CONNECT and PUBLISH it receives is recorded.
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type ISubscribePacket, type Packet } from 'mqtt-packet';
import { waitUntil } from './brokers.js';

/** What the server does with a packet: accept it, close the socket without a word (FIN, or RST with 'reset'),
 * or send a packet and close. */
export type Verdict = 'accept' | 'close' | 'reset' | { send: Packet };

export interface FakeUpstreamOptions {
  version: 4 | 5;
  /** MQTT 5 CONNACK properties (maximumQoS, retainAvailable...). */
  connackProperties?: Record<string, unknown>;
  onConnect?: (packet: IConnectPacket) => Verdict;
  onPublish?: (packet: IPublishPacket) => Verdict;
  onPubrel?: () => Verdict;
  onSubscribe?: (packet: ISubscribePacket) => Verdict;
  /** Answer a reconnect with clean session off with CONNACK Session Present (the QoS 2 state is kept). */
  keepsSessions?: boolean;
}

export interface FakeUpstream {
  url: string;
  connects: IConnectPacket[];
  publishes: IPublishPacket[];
  waitFor(check: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const connects: IConnectPacket[] = [];
  const publishes: IPublishPacket[] = [];
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };
  const sockets = new Set<Socket>();
  const generate = { protocolVersion: opts.version };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = mqttPacket.parser(generate);
    let dead = false;
    const send = (p: Packet) => socket.write(mqttPacket.generate(p, generate));
    const apply = (verdict: Verdict): boolean => {
      if (verdict === 'accept') return true;
      dead = true;
      if (verdict === 'close') socket.destroy();
      else if (verdict === 'reset') socket.resetAndDestroy();
      else socket.end(mqttPacket.generate(verdict.send, generate));
      return false;
    };
    parser.on('packet', (p: Packet) => {
      if (dead) return;
      if (p.cmd === 'connect') {
        connects.push(p);
        changed();
        if (!apply(opts.onConnect?.(p) ?? 'accept')) return;
        const props = opts.version === 5 ? { properties: opts.connackProperties ?? {} } : {};
        send({
          cmd: 'connack',
          sessionPresent: Boolean(opts.keepsSessions) && !p.clean && connects.length > 1,
          ...(opts.version === 5 ? { reasonCode: 0 } : { returnCode: 0 }),
          ...props,
        });
      } else if (p.cmd === 'publish') {
        if (!apply(opts.onPublish?.(p) ?? 'accept')) return;
        publishes.push(p);
        changed();
        if (p.qos === 1) send({ cmd: 'puback', messageId: p.messageId });
        if (p.qos === 2) send({ cmd: 'pubrec', messageId: p.messageId });
      } else if (p.cmd === 'pubrel') {
        if (apply(opts.onPubrel?.() ?? 'accept')) send({ cmd: 'pubcomp', messageId: p.messageId });
      } else if (p.cmd === 'subscribe') {
        if (!apply(opts.onSubscribe?.(p) ?? 'accept')) return;
        send({ cmd: 'suback', messageId: p.messageId, granted: p.subscriptions.map(() => 1) });
      } else if (p.cmd === 'pingreq') {
        send({ cmd: 'pingresp' });
      } else if (p.cmd === 'disconnect') {
        socket.end();
      }
    });
    socket.on('data', (d) => parser.parse(d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    connects,
    publishes,
    waitFor: (check, timeoutMs = 10_000, what = 'condition') => waitUntil(listeners, check, timeoutMs, what),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
