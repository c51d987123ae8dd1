// The embedded MQTT broker: aedes behind the EmbeddedBroker interface, with our listeners, authentication,
// ACLs, packet size limit, on-disk persistence and the MQTT 3.1.1 fixes aedes needs.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import type { BrokerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../prometheus.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { ClientAcl } from './acl.js';
import { Authenticator } from './auth.js';
import { BrokerStartError } from './errors.js';
import { exactDedupe, forwardPacket, preferHighestQos, withGrantedQos } from './forward.js';
import { type OpenListener, openListener } from './listeners.js';
import { createMessageQueue } from './message-queue.js';
import { holdUntilConnected, noteResending } from './ordered-resume.js';
import { guardPacketSize } from './packet-size-guard.js';
import type { PersistenceEvent } from './persistence-report.js';
import { openPersistence } from './persistence-setup.js';
import { checkBrokerPolicy } from './policy.js';
import { startSessionExpiry } from './session-expiry.js';
import { markSessionPresent } from './session-present.js';
import { isSharedSubscription, SHARED_SUBSCRIPTION_REFUSED } from './shared-subscription.js';
import { writeOncePerTurn } from './turn-writes.js';
import type { BrokerMessage, EmbeddedBroker, PublishInterceptor, PublishOptions } from './types.js';
import { guardUtf8Strings } from './utf8-string-guard.js';

export { BrokerStartError, type PersistenceEvent };

export interface BrokerDeps {
  config: BrokerConfig;
  logger: Logger;
  dataDir: string;
  /** Gets zephyr2mqtt_broker_persistence_errors_total{reason}. */
  registry?: Registry;
  /** The broker journal started failing (disk full) or holds every change again. */
  onPersistenceEvent?: (event: PersistenceEvent) => void;
  /**
   * Clients that connect before this settles get their CONNACK only once it resolves (refused when it rejects):
   * until then the gateway's retained state may be the last run's, and its requests and /set commands would reach
   * nobody. Clients may send before CONNACK; aedes reads their next packets only once the CONNECT is handled.
   * aedes gives a held client no timeout of its own: the promise must settle on every path of the start.
   */
  admitClientsWhen?: Promise<void>;
}

type Done = (err?: Error | null) => void;
type AedesPublish = (packet: PublishPacket, client: Client | null | Done, done?: Done) => void;

/** MQTT allows client ids up to 65535 bytes; aedes defaults to 3.1's 23, which real devices exceed. */
const MAX_CLIENT_ID_LENGTH = 65_535;

/**
 * A payload Buffer with its own backing store. `Buffer.from(string)` slices small strings out of Node's shared 8 KiB
 * pool, and one slice that outlives a young-generation GC (a retained packet, a write queued to a slow subscriber)
 * keeps its whole slab alive until the next full GC: at 15k+ publishes/s that pinned tens of MB of external memory
 * between mark-compacts (docs/benchmarks.md, coap). An exact-size store holds only its own bytes.
 */
export function ownBuffer(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const buf = Buffer.allocUnsafeSlow(length);
  buf.write(payload, 0, length);
  return buf;
}

/** The remote address of each connection, taken when it was accepted (a WebSocket stream has none of its own). */
const remotes = new WeakMap<Client, string | undefined>();
/** The connection each client came in on (aedes keeps it untyped, as `conn`). */
const streams = new WeakMap<Client, Duplex>();

function peer(client: Client | null): Record<string, unknown> {
  return { clientId: client?.id, remote: client ? remotes.get(client) : undefined };
}

function remoteAddress(stream: Duplex, req: IncomingMessage | undefined): string | undefined {
  return req?.socket.remoteAddress ?? (stream as Duplex & { remoteAddress?: string }).remoteAddress;
}

export async function startBroker({
  config,
  logger,
  dataDir,
  registry,
  onPersistenceEvent,
  admitClientsWhen,
}: BrokerDeps): Promise<EmbeddedBroker> {
  for (const warning of checkBrokerPolicy(config)) logger.warn({ security: true }, warning);
  admitClientsWhen?.catch(() => {}); // rejected with no client waiting: the start's failure is reported by its caller
  const rateLog = new RateLimitedLog(logger);
  const authenticator = new Authenticator(config);
  const acls = new WeakMap<Client, ClientAcl>();
  // Packets whose publish the ACL denied: acknowledged to the client (MQTT 3.1.1 has no negative PUBACK,
  // Mosquitto does the same) but never routed, retained or queued.
  const denied = new WeakSet<object>();
  const idRejected = new WeakSet<Client>();
  const interceptors = new Set<PublishInterceptor>();
  const runInterceptors = (msg: BrokerMessage, done: (err?: Error) => void): void => {
    const it = interceptors.values();
    const next = (err?: Error): void => {
      const step = err ? undefined : it.next();
      if (!step || step.done) {
        done(err);
        return;
      }
      try {
        step.value(msg, next);
      } catch (thrown) {
        done(thrown instanceof Error ? thrown : new Error(String(thrown)));
      }
    };
    next();
  };
  const runInterceptorsAsync = (msg: BrokerMessage): Promise<void> =>
    new Promise((resolve, reject) => runInterceptors(msg, (err) => (err ? reject(err) : resolve())));

  const persistence = await openPersistence({
    dataDir,
    enabled: config.persistence,
    maxQueued: config.max_queued,
    logger,
    rateLog,
    registry,
    onEvent: onPersistenceEvent,
    prepareResend: (client, queued) => {
      noteResending(client, queued);
      return queued.map((packet) => withGrantedQos(client as Client, packet));
    },
  });
  const { sessionOwners } = persistence;

  const aedes = await Aedes.createBroker({
    persistence,
    mq: createMessageQueue(),
    maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
    maxInflightInbound: config.max_inflight,
    preConnect: (client, packet, callback) => {
      // aedes would invent an id and keep the session; 3.1.1 demands CONNACK 0x02 [MQTT-3.1.3-8].
      if (!packet.clientId && !packet.clean) idRejected.add(client);
      if (!admitClientsWhen) return callback(null, true);
      admitClientsWhen.then(
        () => callback(null, true),
        () => callback(new Error('the gateway did not start'), false),
      );
    },
    authenticate: (client, username, password, done) => {
      if (idRejected.has(client)) {
        const reason = 'a persistent session (clean session 0) needs a client id';
        return done(Object.assign(new Error(reason), { returnCode: 2 as const }), null);
      }
      authenticator.authenticate(username, password).then(
        (result) => {
          if (result.ok) {
            acls.set(client, new ClientAcl(result.rules, result.username, client.id));
            return takeSession(client, result.username).then(
              () => done(null, true),
              (err: unknown) => done(Object.assign(new Error(String(err)), { returnCode: 3 as const }), null),
            );
          }
          rateLog.warn(
            `auth:${peer(client).remote}`,
            { ...peer(client), username, reason: result.reason },
            'MQTT login refused',
          );
          done(Object.assign(new Error(result.reason), { returnCode: result.returnCode }), null);
        },
        (err: unknown) => done(Object.assign(new Error(String(err)), { returnCode: 3 as const }), null),
      );
    },
    authorizePublish: (client, packet, callback) => {
      // client is null only for wills of sessions from an earlier broker run, which passed the ACL at CONNECT.
      const acl = client ? acls.get(client) : undefined;
      if (client && (!acl || packet.topic.startsWith('$SYS') || !acl.canPublish(packet.topic))) {
        denied.add(packet);
        rateLog.warn(
          `deny-pub:${client.id}`,
          { ...peer(client), topic: packet.topic },
          'publish denied by ACL, message dropped',
        );
        return callback(null);
      }
      if (interceptors.size === 0) return callback(null);
      // A QoS 2 PUBLISH sent again before PUBREL (DUP, or after a reconnect of a persistent session) is the message
      // the interceptors already took: aedes routes it once, at PUBREL, and so must they (MQTT-4.3.3).
      if (client && packet.qos === 2 && persistence.hasIncoming(client.id, packet.messageId ?? 0))
        return callback(null);
      const msg: BrokerMessage = {
        topic: packet.topic,
        payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
        qos: packet.qos,
        retain: packet.retain,
        clientId: client?.id,
      };
      runInterceptors(msg, (err) => callback(err ?? null));
    },
    authorizeSubscribe: (client, sub, callback) => {
      if (isSharedSubscription(sub.topic)) {
        rateLog.warn(`shared-sub:${client.id}`, { ...peer(client), filter: sub.topic }, SHARED_SUBSCRIPTION_REFUSED);
        return callback(null, null); // SUBACK return code 0x80
      }
      const acl = acls.get(client);
      if (acl?.canSubscribe(sub.topic)) return callback(null, sub);
      rateLog.warn(`deny-sub:${client.id}`, { ...peer(client), filter: sub.topic }, 'subscribe denied by ACL');
      callback(null, null); // SUBACK return code 0x80
    },
    // Also the path of queued messages of a resumed session: nothing reaches a client its ACL may not read.
    authorizeForward: (client, packet: AedesPublishPacket) =>
      acls.get(client)?.canReceive(packet.topic) ? forwardPacket(client, packet) : null,
  });

  aedes.on('subscribe', (_subs, client) => persistence.noteSubscriber(client));

  const connectedClients = (aedes as unknown as { clients: Record<string, Client> }).clients;
  const expiry =
    config.session_expiry > 0
      ? startSessionExpiry({
          expirySeconds: config.session_expiry,
          stored: persistence.sessionIds(),
          isConnected: (clientId) => clientId in connectedClients,
          forget: async (clientId) => {
            await persistence.forgetSession({ id: clientId });
            sessionOwners.claim(clientId, undefined, false);
          },
          onExpired: (clientId, awaySeconds) =>
            logger.info(
              { clientId, away_s: awaySeconds, session_expiry: config.session_expiry },
              'persistent session expired: its client was away longer than broker.session_expiry',
            ),
        })
      : undefined;
  if (expiry) {
    aedes.on('client', expiry.connected);
    aedes.on('clientDisconnect', expiry.disconnected);
  }

  /**
   * A persistent session left by another user is emptied before this one resumes it (it starts clean). One that
   * resumes gets Session Present 1 even when it has no subscriptions, which is all aedes looks at [MQTT-3.2.2-2].
   */
  async function takeSession(client: Client, username: string | undefined): Promise<void> {
    await expiry?.settled(client.id);
    const persistent = !client.clean;
    // MQTT 3.1 has no session present flag: its CONNACK byte is reserved.
    let resumed = persistent && client.version === 4 && persistence.hasSession(client.id);
    if (persistent && sessionOwners.ownedByOther(client.id, username)) {
      resumed = false;
      await persistence.forgetSession(client);
      rateLog.warn(
        `takeover:${client.id}`,
        { ...peer(client), username },
        'persistent session of another user discarded',
      );
    }
    sessionOwners.claim(client.id, username, persistent);
    const stream = streams.get(client);
    if (resumed && stream) markSessionPresent(stream);
  }

  const publishThrough = aedes.publish.bind(aedes) as AedesPublish;
  (aedes as unknown as { publish: AedesPublish }).publish = (packet, client, done) => {
    const cb = (typeof client === 'function' ? client : done) ?? (() => {});
    if (denied.has(packet)) return cb(null);
    publishThrough(packet, client, done);
  };

  const handle = (stream: Duplex, req?: IncomingMessage) => {
    const client = aedes.handle(stream, req);
    remotes.set(client, remoteAddress(stream, req));
    streams.set(client, stream);
    // Order matters: the QoS 0 path must step aside before a delivery is recorded as done, and a held delivery is
    // let go through all the others.
    exactDedupe(client);
    preferHighestQos(client);
    writeOncePerTurn(client);
    holdUntilConnected(client, config.max_queued, (packet) =>
      rateLog.warn(
        `resume-drop:${client.id}`,
        { ...peer(client), topic: packet.topic, max: config.max_queued },
        'QoS 0 message dropped: more than broker.max_queued arrived while a resumed session was sent its queue',
      ),
    );
    const parser = (client as unknown as { _parser: { parse(buf: Buffer): unknown } })._parser;
    guardPacketSize(parser, config.max_packet_size, (announced) => {
      rateLog.warn(
        'oversize',
        { ...peer(client), announced, max: config.max_packet_size },
        announced < 0 ? 'malformed packet length, connection closed' : 'packet over max_packet_size, connection closed',
      );
      stream.destroy();
    });
    guardUtf8Strings(parser, ({ packet, reason, connectClientId }) => {
      const clientId = client.id ?? connectClientId;
      rateLog.warn(
        `malformed-string:${clientId ?? remotes.get(client)}`,
        { ...peer(client), clientId, packet, reason },
        'MQTT string with U+0000 or ill-formed UTF-8 (MQTT-1.5.3), connection closed',
      );
      stream.destroy();
    });
  };

  const listeners: OpenListener[] = [];
  try {
    for (const [i, listenerConfig] of config.listeners.entries()) {
      // WebSocket frames carry MQTT bytes; a frame larger than one maximal packet is refused outright.
      const listener = await openListener(listenerConfig, handle, {
        key: `broker.listeners[${i}]`,
        maxFrameBytes: config.max_packet_size + 5,
        onOriginRefused: (origin, remote) =>
          rateLog.warn(
            `origin:${origin}`,
            { origin, remote, port: listenerConfig.port },
            'WebSocket connection from a web page refused: its origin is not in allowed_origins',
          ),
      });
      listeners.push(listener);
      logger.info(listener.address, 'MQTT listener up');
    }
  } catch (err) {
    expiry?.stop();
    await Promise.all(listeners.map((l) => l.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    persistence.close();
    throw err;
  }

  let closed = false;
  let listenersClosing: Promise<void> | undefined;
  return {
    publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
      const buf = typeof payload === 'string' ? ownBuffer(payload) : payload;
      const qos = opts.qos ?? 0;
      const retain = opts.retain ?? false;
      const route = (): Promise<void> =>
        new Promise<void>((resolve, reject) =>
          aedes.publish({ cmd: 'publish', topic, payload: buf, qos, retain, dup: false }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
      // Without interceptors (no upstream bridge) no extra async step per publish: state updates are the hot path.
      if (interceptors.size === 0) return route();
      return runInterceptorsAsync({ topic, payload: buf, qos, retain }).then(route);
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
    retained: (topic) => persistence.retainedPayload(topic),
    *retainedMessages() {
      for (const m of persistence.retainedMessages()) yield { ...m, retain: true };
    },
    clientCount: () => aedes.connectedClients,
    addresses: () => listeners.map((l) => l.address),
    disconnectClients() {
      listenersClosing ??= Promise.all(listeners.map((l) => l.close())).then(() => {});
      // aedes keeps its connected clients in `clients` (not in its typings).
      const clients = Object.values(connectedClients);
      return Promise.all([
        listenersClosing,
        ...clients.map((c) => new Promise<void>((resolve) => c.close(() => resolve()))),
      ]).then(() => {});
    },
    async close() {
      if (closed) return;
      closed = true;
      expiry?.stop();
      listenersClosing ??= Promise.all(listeners.map((l) => l.close())).then(() => {});
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listenersClosing;
      persistence.close();
    },
  };
}
