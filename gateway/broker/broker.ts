// The embedded MQTT broker: aedes behind the EmbeddedBroker interface.
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import type { BrokerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { BrokerMessage, EmbeddedBroker, ListenerAddress, PublishInterceptor, PublishOptions } from './types.js';

export interface BrokerDeps {
  config: BrokerConfig;
  logger: Logger;
  dataDir: string;
}

export async function startBroker({ config, logger }: BrokerDeps): Promise<EmbeddedBroker> {
  const interceptors = new Set<PublishInterceptor>();
  const runInterceptors = async (msg: BrokerMessage): Promise<void> => {
    for (const fn of interceptors) await fn(msg);
  };

  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, _password, done) => {
      if (username === undefined && config.allow_anonymous) return done(null, true);
      const err = Object.assign(new Error('Bad username or password'), { returnCode: 4 as const });
      done(err, null);
    },
    authorizePublish: (client, packet, callback) => {
      if (packet.topic.startsWith('$SYS')) return callback(new Error('$SYS is read-only'));
      const msg: BrokerMessage = {
        topic: packet.topic,
        payload: Buffer.from(packet.payload),
        qos: packet.qos,
        retain: packet.retain,
        clientId: client?.id,
      };
      runInterceptors(msg).then(
        () => callback(null),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });

  const servers: Array<{ server: Server; address: ListenerAddress }> = [];
  for (const listener of config.listeners) {
    if (listener.type !== 'mqtt') {
      logger.warn({ listener }, 'listener type not supported yet, skipped');
      continue;
    }
    const server = createServer(aedes.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listener.port, listener.host, () => resolve());
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : listener.port;
    servers.push({ server, address: { type: 'mqtt', host: listener.host, port } });
    logger.info({ host: listener.host, port }, 'MQTT listener up');
  }

  return {
    async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}) {
      const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
      const qos = opts.qos ?? 0;
      const retain = opts.retain ?? false;
      await runInterceptors({ topic, payload: buf, qos, retain });
      await new Promise<void>((resolve, reject) =>
        aedes.publish({ cmd: 'publish', topic, payload: buf, qos, retain, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    },
    subscribe(filter: string, handler: (msg: BrokerMessage) => void) {
      const deliver = (packet: AedesPublishPacket, cb: () => void) => {
        try {
          handler({
            topic: packet.topic,
            payload: Buffer.from(packet.payload),
            qos: packet.qos,
            retain: packet.retain,
          });
        } catch (err) {
          logger.error({ err, topic: packet.topic }, 'in-process subscriber failed');
        }
        cb();
      };
      aedes.subscribe(filter, deliver, () => {});
      return () => aedes.unsubscribe(filter, deliver, () => {});
    },
    addInterceptor(fn: PublishInterceptor) {
      interceptors.add(fn);
      return () => interceptors.delete(fn);
    },
    clientCount: () => aedes.connectedClients,
    addresses: () => servers.map((s) => s.address),
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(
        servers.map(
          ({ server }) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
