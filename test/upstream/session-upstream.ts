// A small MQTT server (mqtt-packet) on loopback that plays a broker keeping sessions: the test says which CONNACK
// has Session Present, which PUBLISH or PUBREL goes unanswered or closes the connection, and which retained
// messages a SUBSCRIBE gets. Every packet it receives is recorded with the number of its connection (1, 2...).
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import type { UpstreamConfigInput } from '../../gateway/upstream/config.js';
import { waitUntil } from './brokers.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';

/** What the server does with a PUBLISH or PUBREL: answer it, leave it unanswered, close the connection, or
 * answer with a reason code (MQTT 5). */
export type Answer = 'answer' | 'ignore' | 'close' | { reasonCode: number };

export interface SessionUpstreamOptions {
  version: 4 | 5;
  /** Loopback port to listen on. */
  port: number;
  sessionPresent(conn: number, connect: IConnectPacket): boolean;
  /** The CONNACK waits for this (the bridge stays connecting meanwhile). */
  beforeConnack?(conn: number): Promise<void>;
  onPublish?(packet: IPublishPacket, conn: number): Answer;
  onPubrel?(messageId: number, conn: number): Answer;
  /** Retained messages sent (QoS 1) after the SUBACK of a SUBSCRIBE to `filter`. */
  retained?: Array<{ filter: string; topic: string; payload: string }>;
}

export interface Received {
  conn: number;
  packet: Packet;
}

export interface SessionUpstream {
  url: string;
  received: Received[];
  /** Connections accepted so far. */
  readonly connections: number;
  waitFor(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Closes every open connection (the bridge reconnects). */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startSessionUpstream(opts: SessionUpstreamOptions): Promise<SessionUpstream> {
  const received: Received[] = [];
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };
  const sockets = new Set<Socket>();
  const generate = { protocolVersion: opts.version };
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = mqttPacket.parser(generate);
    let conn = 0;
    let nextId = 1;
    const send = (p: Packet) => {
      if (!socket.destroyed) socket.write(mqttPacket.generate(p, generate));
    };
    const v5 = opts.version === 5 ? { reasonCode: 0 } : {};
    parser.on('packet', (p: Packet) => {
      if (socket.destroyed) return;
      if (p.cmd === 'connect') conn = ++connections;
      received.push({ conn, packet: p });
      changed();
      if (p.cmd === 'connect') {
        const connack: Packet = {
          cmd: 'connack',
          sessionPresent: opts.sessionPresent(conn, p),
          ...(opts.version === 5 ? { reasonCode: 0, properties: {} } : { returnCode: 0 }),
        };
        void (opts.beforeConnack?.(conn) ?? Promise.resolve()).then(() => send(connack));
      } else if (p.cmd === 'publish') {
        const answer = opts.onPublish?.(p, conn) ?? 'answer';
        if (answer === 'close') socket.destroy();
        if (answer === 'close' || answer === 'ignore') return;
        const code = answer === 'answer' ? v5 : answer;
        if (p.qos === 1) send({ cmd: 'puback', messageId: p.messageId, ...code });
        if (p.qos === 2) send({ cmd: 'pubrec', messageId: p.messageId, ...code });
      } else if (p.cmd === 'pubrel') {
        const answer = opts.onPubrel?.(p.messageId ?? 0, conn) ?? 'answer';
        if (answer === 'close') socket.destroy();
        if (answer === 'close' || answer === 'ignore') return;
        send({ cmd: 'pubcomp', messageId: p.messageId, ...(answer === 'answer' ? v5 : answer) });
      } else if (p.cmd === 'subscribe') {
        send({ cmd: 'suback', messageId: p.messageId, granted: p.subscriptions.map((s) => s.qos) });
        for (const s of p.subscriptions)
          for (const r of opts.retained ?? [])
            if (r.filter === s.topic)
              send({
                cmd: 'publish',
                topic: r.topic,
                payload: r.payload,
                qos: 1,
                messageId: nextId++,
                retain: true,
                dup: false,
              });
      } else if (p.cmd === 'unsubscribe') {
        send({ cmd: 'unsuback', messageId: p.messageId, granted: p.unsubscriptions.map(() => 0) });
      } else if (p.cmd === 'pingreq') {
        send({ cmd: 'pingresp' });
      } else if (p.cmd === 'disconnect') {
        socket.end();
      }
    });
    socket.on('data', (d) => parser.parse(d));
  });
  server.listen(opts.port, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${opts.port}`,
    received,
    get connections() {
      return connections;
    },
    waitFor: (check, what, timeoutMs = 10_000) => waitUntil(listeners, check, timeoutMs, what),
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The PUBLISH packets of connection `conn` on `topic`. */
export const publishesOn = (received: Received[], conn: number, topic: string): IPublishPacket[] =>
  received.flatMap((r) =>
    r.conn === conn && r.packet.cmd === 'publish' && r.packet.topic === topic ? [r.packet] : [],
  );

/** A bridge config to `url` with a persistent session (clean_session false), quick reconnects and no link state,
 * unless `config` says otherwise. */
export const sessionBridgeConfig = (url: string, config: Partial<UpstreamConfigInput>): UpstreamConfigInput => ({
  url,
  clean_session: false,
  link_state: false,
  reconnect_min: 0.05,
  reconnect_max: 0.2,
  ...config,
});

/** A local broker and a started bridge with sessionBridgeConfig; `cleanups` gets what stops and removes them. */
export async function startSessionBridge(
  url: string,
  config: Partial<UpstreamConfigInput>,
  cleanups: Array<() => Promise<unknown>>,
) {
  const dir = await tempDataDir(cleanups);
  const b = await startLocalBridge(cleanups, dir, sessionBridgeConfig(url, config));
  await b.bridge.start();
  return b;
}
