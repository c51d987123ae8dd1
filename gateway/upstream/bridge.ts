// The upstream bridge: local publishes selected by `out` mappings go through the durable queue to the
// upstream broker; upstream messages selected by `in` mappings are published locally.
//
// Loop prevention: messages the bridge publishes locally are marked (their payload Buffer is remembered) and
// never queued out again; upstream echoes of our own publishes are suppressed with MQTT 5 No Local, and on
// 3.1.1 by remembering what was just sent.
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import mqtt, {
  type IClientOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type MqttClient,
  type Packet,
} from 'mqtt';
import type { Registry } from 'prom-client';
import type { BrokerMessage, EmbeddedBroker } from '../broker/types.js';
import type { Logger } from '../logger.js';
import { OldestKey } from '../oldest-key.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { reconnectDelayMs } from './backoff.js';
import { buildClientOptions, OFFLINE, ONLINE } from './client-options.js';
import type { UpstreamConfig } from './config.js';
import { describeConnectError, redactUrl } from './describe-error.js';
import { blamesMessage } from './disconnect-reasons.js';
import { type DropCounts, DropReport } from './drop-report.js';
import { HeapGuard } from './heap-guard.js';
import { describeReason, type LinkLimits, linkLimits } from './link-limits.js';
import { createUpstreamMetrics, type UpstreamMetrics } from './metrics.js';
import { OwnReports } from './own-reports.js';
import { ISOLATE_AFTER, PoisonGuard } from './poison-guard.js';
import { routePubAcks, type TakePubAck } from './puback-fast-path.js';
import { BridgeOutgoingStore, PublishBatch } from './publish-batch.js';
import {
  type AppendResult,
  DiskQueue,
  type DropReason,
  type QueueOptions,
  QueueReadError,
} from './queue/disk-queue.js';
import type { RecordView } from './queue/record.js';
import { freeBytes, maxBytesWarning } from './queue/space.js';
import { RateLimiter } from './rate-limiter.js';
import { READ_RETRIES, ReadRetry } from './read-retry.js';
import { RefusedTopics } from './refused-topics.js';
import {
  defaultRemotePrefix,
  type ResolvedMapping,
  type Route,
  resolveMappings,
  routeIn,
  routeOut,
} from './topic-map.js';

export interface UpstreamDeps {
  config: UpstreamConfig;
  broker: EmbeddedBroker;
  logger: Logger;
  dataDir: string;
  gatewayId: string;
  baseTopic: string;
  registry: Registry;
  event: (type: string, data: Record<string, unknown>) => void;
  /** Test hooks for the queue's timers. */
  queueOptions?: QueueOptions;
  /** Test hook for STATE_RETRY_MS. */
  stateRetryMs?: number;
}

type LinkState = 'stopped' | 'connecting' | 'connected' | 'waiting';

/** What one connection got to before it closed. */
interface Connection {
  /** The upstream answered CONNECT with a successful CONNACK. */
  accepted: boolean;
  /** An error (or an MQTT 5 DISCONNECT) was reported for it: its close needs no guess of its own. */
  reported: boolean;
  /** The MQTT 5 DISCONNECT the upstream sent before closing, described, and its reason code. */
  disconnect: string | undefined;
  disconnectCode: number | undefined;
  /** Filters subscribed to whose SUBACK has not come. */
  subscribing: Set<string>;
  /** The online state was published and the upstream has not answered it. */
  statePending: boolean;
  stateSentAt: number;
  /** messages.acked when the state was published. */
  ackedAtState: number;
}

const newConnection = (): Connection => ({
  accepted: false,
  reported: false,
  disconnect: undefined,
  disconnectCode: undefined,
  subscribing: new Set(),
  statePending: false,
  stateSentAt: 0,
  ackedAtState: 0,
});

const ECHO_WINDOW_MS = 30_000;
const ECHO_MAX = 4096;
/** Bytes of records read (and packets encoded) per batch. */
const READ_BATCH_BYTES = 256 * 1024;
/** The sender waits while more than this is queued on the socket (a slow upstream), so memory stays bounded. */
const WRITE_BUFFER_BYTES = 1024 * 1024;
const ROUTE_CACHE_MAX = 4096;
/** Queued messages from which the heap is kept small (see heap-guard.ts). */
const HEAP_GUARD_BACKLOG = 10_000;
/** A connection that stays up this long resets the reconnect back-off (a broker that accepts and then drops
 * the bridge at once must not be hit at reconnect_min forever). */
const STABLE_MS = 10_000;
/** MQTT 5 reason codes that refuse a publish for now, not for good (the bridge caused them: too many in flight,
 * a packet id still in use): the message is sent again on a new connection, never dropped. */
const TRANSIENT_REASONS = new Set([0x91, 0x97]);
/** CONNACK / DISCONNECT 0x9A Retain not supported. */
const RETAIN_NOT_SUPPORTED = 0x9a;
/** Connections closed right after the online state publish (nothing else answered) before the bridge stops
 * publishing the state: a broker policy refusing the state topic must not keep the queue from being sent. */
const STATE_STRIKES = 2;
/** A close this soon after the state publish, with it unanswered, is blamed on the state publish. */
const STATE_WINDOW_MS = 10_000;
/** Once given up, the state is published again on a connection that has stayed up this long, then twice as
 * long each time it is refused again, up to STATE_RETRY_MAX_MS: a link that dropped twice right after the state
 * publish may have been flaky, and a retained "offline" from an earlier last will must not stay for good. */
const STATE_RETRY_MS = 10_000;
const STATE_RETRY_MAX_MS = 60 * 60_000;

export class UpstreamBridge {
  #config: UpstreamConfig;
  #mappings: ResolvedMapping[];
  #queue: DiskQueue | undefined;
  #client: MqttClient | undefined;
  #state: LinkState = 'stopped';
  #generation = 0;
  #attempt = 0;
  #everConnected = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stableTimer: NodeJS.Timeout | undefined;
  /** From the upstream's MQTT 5 CONNACK and `bridge:`: in-flight window, largest packet, highest QoS, retain. */
  #limits: LinkLimits;
  #conn: Connection = newConnection();
  /** The upstream refused a retained will (CONNACK 0x9A): connect without retain until a reload. */
  #retainRefused = false;
  /** Connections in a row the upstream closed right after the online state publish; at STATE_STRIKES the state
   * is given up: published again only after a back-off on a stable connection (STATE_RETRY_MS) or a reload. */
  #stateStrikes = 0;
  /** Times the given-up state was published again and refused: doubles the wait before the next try. */
  #stateRetries = 0;
  #stateRetryTimer: NodeJS.Timeout | undefined;
  /** A problem that outlives reconnects (the state publish given up): shown as last_error while nothing else is. */
  #linkProblem: string | undefined;
  readonly #refused = new RefusedTopics();
  /** Shared by every connection's client: PUBRELs still owed for QoS 2 messages the upstream acknowledged with
   * PUBREC stay in it, and mqtt.js sends them again first when the next connection comes up (MQTT §4.4). */
  readonly #outgoingStore = new BridgeOutgoingStore();
  /** Queue records of QoS 2 publishes the upstream answered with PUBREC, whose PUBCOMP has not come. The upstream
   * owns such a message (MQTT 4.3.3): if the connection drops, the next one only owes it the stored PUBREL, as
   * long as the upstream kept the session (CONNACK Session Present); without the session it is sent again. */
  readonly #pubrecd = new Set<number>();
  #lastError: string | undefined;
  /** Problems of the queue's files (one it could not read, cursor.json that cannot be written): shown as
   * last_error while the connection has none, and not cleared by a reconnect. */
  readonly #queueErrors = new Map<'read' | 'cursor', string>();
  readonly #readRetry = new ReadRetry();
  readonly #queueLog: RateLimitedLog;
  #removeInterceptor: (() => void) | undefined;
  #pumpDone: Promise<void> = Promise.resolve();
  #queueOpening: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  /** The running pump's handler for PUBACKs of its publishes (puback-fast-path.ts). */
  #takePubAck: TakePubAck | undefined;
  #backlogEnd = 0;
  #draining = false;
  #limiter: RateLimiter;
  #metrics: UpstreamMetrics;
  readonly #inbound = new WeakSet<Buffer>();
  readonly #poison = new PoisonGuard();
  readonly #heap = new HeapGuard(() => (this.#queue?.unreadCount() ?? 0) >= HEAP_GUARD_BACKLOG);
  /** Per topic + payload checksum: when it was last sent and how many sent copies may still come back. */
  readonly #recentOut = new Map<string, { at: number; copies: number }>();
  /** Each send re-inserts its key and evicts the oldest: O(1) while the map churns (see oldest-key.ts). */
  readonly #oldestOut = new OldestKey(this.#recentOut);
  /** routeOut per local topic (devices publish on the same few topics over and over). */
  readonly #routes = new Map<string, Route | null>();
  readonly #counts = { sent: 0, acked: 0, resent: 0, received: 0, reconnects: 0, echoes: 0 };
  readonly #dropped: Record<DropReason, number> = {
    queue_full: 0,
    max_age: 0,
    disk_full: 0,
    corrupt: 0,
    rejected: 0,
  };
  /** The upstream's words for the last message it refused (MQTT 5 reason code), for the drop report. */
  #lastRejection: string | undefined;
  readonly #dropReport = new DropReport((counts) => this.#sendDropReport(counts));
  readonly #own: OwnReports;

  constructor(private readonly deps: UpstreamDeps) {
    this.#config = deps.config;
    this.#limits = linkLimits(deps.config);
    this.#mappings = resolveMappings(deps.config, deps.baseTopic, deps.gatewayId);
    this.#own = new OwnReports(deps.baseTopic, this.#mappings);
    this.#limiter = new RateLimiter(deps.config.drain_rate);
    this.#queueLog = new RateLimitedLog(deps.logger);
    this.#metrics = createUpstreamMetrics(deps.registry, () => ({
      connected: this.#state === 'connected',
      queue: this.#queue?.stats(),
    }));
  }

  get queueDir(): string {
    return join(this.deps.dataDir, 'upstream', 'queue');
  }

  /** Registers the broker interceptor synchronously (before the first await), then opens the queue and connects.
   * Publishes intercepted while the queue opens wait for it. */
  async start(): Promise<void> {
    if (this.#state !== 'stopped') return;
    this.#state = 'connecting';
    let opened!: () => void;
    this.#queueOpening = new Promise<void>((resolve) => {
      opened = resolve;
    });
    this.#removeInterceptor = this.deps.broker.addInterceptor((msg, done) => this.#intercept(msg, done));
    this.#queueErrors.clear(); // a new queue finds its own
    try {
      if (!this.#queue) await this.#openQueue();
    } catch (err) {
      this.#removeInterceptor();
      this.#removeInterceptor = undefined;
      this.#state = 'stopped';
      throw err;
    } finally {
      opened();
    }
    this.#heap.start();
    void this.#connect();
  }

  async #openQueue(): Promise<void> {
    const { logger } = this.deps;
    const { queue, recovery } = await DiskQueue.open(
      this.queueDir,
      this.#config.queue,
      {
        dropped: (count, reason) => this.#onDropped(count, reason),
        diskFull: (error) => {
          logger.error({ err: error, dir: this.queueDir }, 'upstream queue cannot write: refusing new messages');
          this.deps.event('upstream', { event: 'queue_disk_full', error: error.message, dir: this.queueDir });
        },
        recovered: () => {
          logger.warn({ dir: this.queueDir }, 'upstream queue writes again');
          this.deps.event('upstream', { event: 'queue_recovered', dir: this.queueDir });
        },
        warn: (message, details) => this.#queueLog.warn(String(details.file ?? message), details, message),
        cursorFailing: (error) => this.#setQueueError('cursor', error),
      },
      this.deps.queueOptions,
    );
    this.#queue = queue;
    queue.onData = () => this.#wake?.();
    logger.info({ depth: recovery.depth, dir: this.queueDir }, 'upstream queue open');
    await this.#checkQueueSpace();
  }

  /** Warns when queue.max_bytes does not fit on the disk: the disk would fill up before the queue's own limit. */
  async #checkQueueSpace(): Promise<void> {
    const queue = this.#queue;
    const free = queue && (await freeBytes(this.queueDir));
    if (!queue || free === undefined) return;
    const { max_bytes } = this.#config.queue;
    const warning = maxBytesWarning(max_bytes, free, queue.stats().bytes, this.queueDir);
    if (!warning) return;
    this.deps.logger.warn({ max_bytes, free_bytes: free, dir: this.queueDir }, warning);
    this.deps.event('upstream', { event: 'queue_space_low', warning, max_bytes, free_bytes: free, dir: this.queueDir });
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' && !this.#queue) return;
    this.#state = 'stopped';
    this.#generation++;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#stateRetryTimer);
    this.#pubrecd.clear(); // the queue is opened anew on a start: those messages are sent again (at least once)
    this.#removeInterceptor?.();
    this.#removeInterceptor = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.#wake?.();
    try {
      if (client) await this.#sayOffline(client);
      await this.#pumpDone.catch(() => {}); // #pumpSafely reported it
      this.#dropReport.flush();
    } finally {
      // Always: closing the queue writes its cursor.
      this.#heap.stop();
      await this.#queue?.close();
      this.#queue = undefined;
      this.#metrics.unregister();
    }
  }

  async #sayOffline(client: MqttClient): Promise<void> {
    if (client.connected && this.#publishesState()) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(this.#stateTopic(), OFFLINE, this.#stateOptions(), () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await client.endAsync(true).catch(() => {});
  }

  /** Applies a new `bridge:` config. The queue is kept as is; only its limits change. */
  async reconfigure(config: UpstreamConfig): Promise<void> {
    const old = this.#config;
    const oldMappings = this.#mappings;
    this.#config = config;
    this.#mappings = resolveMappings(config, this.deps.baseTopic, this.deps.gatewayId);
    this.#own.remap(this.#mappings);
    this.#routes.clear();
    this.#refused.clear();
    this.#limiter.setRate(config.drain_rate);
    this.#queue?.reconfigure(config.queue);
    if (!config.enabled) {
      await this.stop();
      return;
    }
    if (this.#state === 'stopped') {
      this.#metrics = createUpstreamMetrics(this.deps.registry, () => ({
        connected: this.#state === 'connected',
        queue: this.#queue?.stats(),
      }));
      await this.start();
      return;
    }
    if (config.queue.max_bytes !== old.queue.max_bytes) await this.#checkQueueSpace();
    // What was given up "until a reload" is tried again: the broker's policy may have been fixed. A given-up state
    // is published on a new connection, which sets the last will again too.
    const stateGivenUp = this.#stateStrikes >= STATE_STRIKES;
    this.#retainRefused = false;
    this.#stateStrikes = 0;
    this.#stateRetries = 0;
    this.#linkProblem = undefined;
    const keyChanged = connectionKey(old) !== connectionKey(config);
    if (keyChanged || (stateGivenUp && config.link_state)) {
      this.deps.logger.info(
        keyChanged ? 'upstream connection settings changed: reconnecting' : 'reconnecting to publish the link state',
      );
      this.#attempt = 0;
      this.#dropConnection();
      clearTimeout(this.#reconnectTimer);
      void this.#connect();
    } else if (this.#client && this.#state === 'connected') {
      // New `in` patterns on the live connection (a new connection subscribes to them anyway).
      const before = subscriptions(oldMappings);
      const after = subscriptions(this.#mappings);
      const gone = [...before.keys()].filter((f) => !after.has(f));
      if (gone.length > 0) this.#client.unsubscribe(gone);
      this.#subscribe(
        this.#client,
        [...after].filter(([f, qos]) => before.get(f) !== qos),
      );
    }
  }

  status(): Record<string, unknown> {
    const q = this.#queue?.stats();
    return {
      enabled: this.#config.enabled,
      state: this.#state,
      connected: this.#state === 'connected',
      url: redactUrl(this.#config.url),
      client_id: this.#clientId(),
      protocol_version: this.#config.protocol_version,
      last_error: this.#lastError ?? this.#linkProblem ?? [...this.#queueErrors.values()].at(-1) ?? null,
      draining: this.#draining,
      queue: q
        ? {
            depth: q.depth,
            bytes: q.bytes,
            oldest_age_s: q.oldestTs === undefined ? null : Math.max(0, (Date.now() - q.oldestTs) / 1000),
            disk_full: q.diskFull,
          }
        : null,
      messages: { ...this.#counts },
      dropped: { ...this.#dropped },
    };
  }

  // ---- local -> queue ----

  #intercept(msg: BrokerMessage, done: (err?: Error) => void): void {
    // Came from upstream: never send it back.
    if (this.#inbound.has(msg.payload) || this.#own.isLinkEvent(msg.topic, msg.payload)) {
      done();
      return;
    }
    let route = this.#routes.get(msg.topic);
    if (route === undefined) {
      route = routeOut(this.#mappings, msg.topic) ?? null;
      if (route?.topic === this.#stateTopic()) route = null; // the LWT topic belongs to the link itself
      if (!this.#config.bridge_topics && this.#own.isBridgeTopic(msg.topic)) route = null;
      if (this.#routes.size >= ROUTE_CACHE_MAX) this.#routes.clear();
      this.#routes.set(msg.topic, route);
    }
    if (!route) {
      done();
      return;
    }
    const queue = this.#queue;
    if (queue) {
      // Whether queued or refused (full, disk full: counted and reported by the queue), the publish goes on.
      const appended = this.#own.isOwn(msg.topic) ? this.#ownAppended(done) : () => done();
      queue.appendThen(route.topic, msg.payload, route.qos, msg.retain, appended);
      return;
    }
    // Publishes that arrive while the queue opens wait for it (and pass if it could not be opened).
    this.#queueOpening.then(() => {
      if (!this.#queue) {
        done();
        return;
      }
      try {
        this.#intercept(msg, done);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** The queue refuses a message after counting the drop (same tick): for an own report, the drop report learns
   * it was one. */
  #ownAppended(done: () => void): (result: AppendResult) => void {
    return (result) => {
      if (result === 'dropped') this.#dropReport.markOwn(1);
      done();
    };
  }

  // ---- connection ----

  async #connect(): Promise<void> {
    if (this.#state === 'stopped') return;
    const gen = ++this.#generation;
    this.#state = 'connecting';
    const conn = newConnection();
    this.#conn = conn;
    this.#outgoingStore.forgetPublishes();
    const url = this.#config.url;
    let opts: IClientOptions;
    try {
      const retainWill = this.#config.retain === 'keep' && !this.#retainRefused;
      opts = await buildClientOptions(this.#config, this.#clientId(), this.#stateTopic(), retainWill);
    } catch (err) {
      this.#fail(gen, err instanceof Error ? err.message : String(err));
      return;
    }
    if (gen !== this.#generation) return;
    let client: MqttClient;
    try {
      client = mqtt.connect(url, { ...opts, outgoingStore: this.#outgoingStore, manualConnect: true });
      routePubAcks(client as unknown as { streamBuilder: unknown }, () => this.#takePubAck);
      client.connect();
    } catch (err) {
      // tls.connect throws here for a client certificate and key it cannot use (not PEM, not a pair). Nothing
      // was opened, so there is nothing to end; retried with back-off (the files are read again each time).
      this.#fail(gen, describeConnectError(err, redactUrl(url)));
      return;
    }
    this.#client = client;
    // The CONNACK makes the link connected; mqtt.js' 'connect' comes later, once it has sent the PUBRELs still
    // owed (one at a time, each waiting for its PUBCOMP).
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack' && gen === this.#generation && connackSucceeded(packet))
        this.#onConnack(gen, packet);
    });
    client.on('connect', () => this.#onConnect(client, gen));
    client.on('disconnect', (packet) => {
      if (gen === this.#generation) this.#onDisconnectPacket(packet);
    });
    client.on('error', (err) => {
      if (gen !== this.#generation) return;
      conn.reported = true;
      if ((err as { code?: unknown }).code === RETAIN_NOT_SUPPORTED && !this.#retainRefused) {
        this.#retainRefused = true;
        this.#setError(
          `upstream ${redactUrl(url)} refused the connection: Retain not supported (0x9A); reconnecting with a non-retained last will and sending without retain (set bridge.retain: strip to configure it so)`,
        );
        return;
      }
      this.#setError(describeConnectError(err, redactUrl(url), conn.accepted));
    });
    client.on('close', () => {
      if (gen !== this.#generation) return;
      this.#onClose();
    });
    client.on('message', (topic, payload, packet) => {
      if (gen === this.#generation) void this.#onMessage(topic, payload, packet.retain, packet.qos);
    });
  }

  #onConnack(gen: number, connack: IConnackPacket): void {
    if (gen !== this.#generation || this.#state === 'stopped') return;
    const url = redactUrl(this.#config.url);
    this.#state = 'connected';
    this.#conn.accepted = true;
    clearTimeout(this.#stableTimer);
    this.#stableTimer = setTimeout(() => {
      if (gen === this.#generation) this.#attempt = 0;
    }, STABLE_MS);
    this.#stableTimer.unref();
    this.#limits = linkLimits(this.#config, connack);
    if (this.#retainRefused) this.#limits.retain = false;
    this.#settlePubrecs(connack.sessionPresent);
    this.#lastError = undefined;
    if (this.#everConnected) {
      this.#counts.reconnects++;
      this.#metrics.reconnects.inc();
    }
    this.#everConnected = true;
    const { maxQos, retain } = this.#limits;
    this.deps.logger.info({ url, max_qos: maxQos, retain }, 'connected to upstream');
    this.deps.event('upstream', { event: 'connected', url });
  }

  /** QoS 2 records the last connection got a PUBREC for: done if the upstream kept the session (the PUBREL
   * mqtt.js resends completes them), else left in the queue to be sent again by the rewind. */
  #settlePubrecs(sessionPresent: boolean): void {
    const queue = this.#queue;
    if (this.#pubrecd.size === 0 || !queue) return;
    if (sessionPresent) {
      for (const seq of this.#pubrecd) {
        queue.ack(seq);
        this.#own.settled(seq);
      }
      this.#counts.acked += this.#pubrecd.size;
      this.#metrics.acked.inc(this.#pubrecd.size);
    }
    this.#pubrecd.clear();
  }

  /** mqtt.js is done with what it had stored: publish the state, subscribe, send the queue. */
  #onConnect(client: MqttClient, gen: number): void {
    if (gen !== this.#generation || this.#state !== 'connected') return;
    this.#publishState(client, gen);
    this.#retryStateLater(client, gen);
    this.#subscribe(client, subscriptions(this.#mappings));
    const previous = this.#pumpDone;
    this.#pumpDone = previous.catch(() => {}).then(() => this.#pumpSafely(client, gen));
  }

  #publishesState(): boolean {
    return this.#config.link_state && this.#stateStrikes < STATE_STRIKES;
  }

  #stateOptions(): { qos: 0 | 1; retain: boolean } {
    return { qos: Math.min(1, this.#limits.maxQos) as 0 | 1, retain: this.#limits.retain };
  }

  #publishState(client: MqttClient, gen: number): void {
    if (!this.#publishesState()) return;
    const conn = this.#conn;
    conn.statePending = true;
    conn.stateSentAt = performance.now();
    conn.ackedAtState = this.#counts.acked;
    client.publish(this.#stateTopic(), ONLINE, this.#stateOptions(), (err) => {
      if (gen !== this.#generation) return;
      const code = (err as { code?: unknown } | undefined)?.code;
      if (err && typeof code !== 'number') return; // the connection ended: not an answer
      conn.statePending = false;
      if (!err) {
        this.#stateStrikes = 0;
        this.#stateRetries = 0;
        this.#linkProblem = undefined;
        return;
      }
      this.#setError(
        `upstream refused the link state on ${this.#stateTopic()}: ${err.message} (check bridge.state_topic and the broker's policy, or set bridge.link_state: false)`,
      );
    });
  }

  /** The state was given up: once this connection has stayed up for the back-off, it is published again (one
   * more strike gives it up again, with a longer back-off). */
  #retryStateLater(client: MqttClient, gen: number): void {
    clearTimeout(this.#stateRetryTimer);
    if (!this.#config.link_state || this.#publishesState()) return;
    const first = this.deps.stateRetryMs ?? STATE_RETRY_MS;
    const wait = Math.min(first * 2 ** this.#stateRetries, STATE_RETRY_MAX_MS);
    this.#stateRetryTimer = setTimeout(() => {
      if (gen !== this.#generation || this.#state !== 'connected') return;
      this.#stateRetries++;
      this.#stateStrikes = STATE_STRIKES - 1;
      this.#publishState(client, gen);
    }, wait);
    this.#stateRetryTimer.unref();
  }

  /** MQTT 5: the upstream says why it ends the connection (0x90 Topic Name invalid, 0x9B QoS not supported...). */
  #onDisconnectPacket(packet: IDisconnectPacket): void {
    const reason = describeReason(packet.reasonCode ?? 0, packet.properties?.reasonString);
    this.#conn.disconnect = reason;
    this.#conn.disconnectCode = packet.reasonCode ?? 0;
    this.#conn.reported = true;
    this.#setError(`upstream ${redactUrl(this.#config.url)} disconnected the bridge: ${reason}`);
  }

  #subscribe(client: MqttClient, filters: Iterable<[string, 0 | 1 | 2]>): void {
    const v5 = this.#config.protocol_version === '5';
    const conn = this.#conn;
    for (const [filter, qos] of filters) {
      conn.subscribing.add(filter);
      client.subscribe(filter, { qos, ...(v5 ? { nl: true } : {}) }, (err) => {
        // A connection that closed before the SUBACK subscribes again on the next one: that is no refusal.
        if (err && typeof (err as { code?: unknown }).code !== 'number') return;
        conn.subscribing.delete(filter);
        if (err) this.#setError(`upstream refused the subscription to ${filter}: ${err.message}`);
      });
    }
  }

  #onClose(): void {
    const wasConnected = this.#state === 'connected';
    const conn = this.#conn;
    clearTimeout(this.#stableTimer);
    this.#dropConnection();
    const url = redactUrl(this.#config.url);
    if (!wasConnected) {
      // Closed without a word before CONNACK: AWS IoT Core and Azure IoT Hub do that for a client id, will topic
      // or retained will their policy does not allow. Otherwise this would retry forever with nothing reported.
      if (!conn.reported && this.#state !== 'stopped') {
        const will = this.#config.link_state ? `, the will topic ${this.#stateTopic()} and retain` : '';
        this.#setError(
          `upstream ${url} closed the connection before CONNACK: check the broker's policy for client_id ${this.#clientId()}${will} (bridge.client_id, bridge.state_topic, bridge.retain, bridge.link_state)`,
        );
      }
    } else {
      this.#blameClose(conn);
      this.deps.logger.warn({ url, error: this.#lastError }, 'upstream connection lost');
      this.deps.event('upstream', { event: 'disconnected', url, error: this.#lastError ?? null });
    }
    this.#scheduleReconnect();
  }

  /** Decides what an accepted connection's close counts against: nothing (an MQTT 5 DISCONNECT that names the
   * server or the connection as the reason, a SUBSCRIBE still unanswered), the link state publish, or the first
   * message in flight (poison-guard.ts). Whatever it does not count against starts a fresh poison window. */
  #blameClose(conn: Connection): void {
    if (conn.disconnectCode !== undefined && !blamesMessage(conn.disconnectCode)) {
      this.#poison.connectionStarted();
      return;
    }
    const filter = conn.subscribing.values().next().value;
    if (filter !== undefined) {
      this.#poison.connectionStarted();
      const why = conn.disconnect ? ` (${conn.disconnect})` : '';
      this.#setError(
        `upstream ${redactUrl(this.#config.url)} closed the connection before answering the subscription to ${filter}${why}: check that the broker's policy allows subscribing to it (the \`in\` and \`both\` mappings of bridge.topics)`,
      );
      return;
    }
    if (this.#closedOnState(conn)) this.#poison.connectionStarted();
    else this.#givePoisonUp(conn);
  }

  /** The upstream closed the connection right after the online state publish, with nothing else answered: a
   * policy refusing the state topic (or retain) on MQTT 3.1.1. Reported; after STATE_STRIKES the state is given
   * up (retried after a back-off, see STATE_RETRY_MS), so the queue gets sent. */
  #closedOnState(conn: Connection): boolean {
    const quick = performance.now() - conn.stateSentAt < STATE_WINDOW_MS;
    if (!conn.statePending || !quick || this.#counts.acked > conn.ackedAtState) return false;
    this.#stateStrikes++;
    const given = this.#stateStrikes >= STATE_STRIKES;
    const why = conn.disconnect ? ` (${conn.disconnect})` : '';
    const problem = `upstream ${redactUrl(this.#config.url)} closed the connection right after the link state publish on ${this.#stateTopic()}${why}: check that the broker's policy lets ${this.#clientId()} publish${this.#limits.retain ? ' retained messages' : ''} there (bridge.state_topic, bridge.retain)${given ? '; the link state is not published for now (tried again on a connection that stays up, and on a reload; bridge.link_state: false turns it off)' : ''}`;
    if (given) this.#linkProblem = problem;
    this.#setError(problem);
    return true;
  }

  /** A message the upstream closed the connection on each time: given up, and so is its topic (refused-topics.ts). */
  #givePoisonUp(conn: Connection): void {
    const poison = this.#poison.connectionClosed();
    if (!poison || !this.#queue) {
      if (!conn.reported) this.#setError(this.#closedWithoutWord());
      return;
    }
    // Still in flight (the next connection rewinds): acknowledging it moves the queue past it.
    this.#queue.ack(poison.seq);
    const why = conn.disconnect ? ` (${conn.disconnect})` : '';
    const { topic, strikes } = poison;
    this.#lastRejection = `the upstream closed the connection each time this message was sent (${strikes} times, the last time alone)${why}: topic ${topic}; later messages on it are dropped without sending for an hour or until a reload`;
    if (topic !== undefined) {
      this.#refused.add(
        topic,
        `the upstream closes the connection on topic ${topic}${why}: dropped without sending (for an hour or until a reload)`,
      );
    }
    this.#onDropped(1, 'rejected', this.#own.settled(poison.seq));
  }

  /** The upstream closed an accepted connection without saying why (MQTT 3.1.1 has no way to). */
  #closedWithoutWord(): string {
    const closed = `upstream ${redactUrl(this.#config.url)} closed the connection`;
    const suspect = this.#poison.suspect();
    if (!suspect?.topic) return closed;
    const times = suspect.strikes === 1 ? 'once' : `${suspect.strikes} times in a row`;
    return `${closed} with a message on ${suspect.topic} in flight (${times}): a broker policy refusing that topic? It is given up after ${ISOLATE_AFTER + 1}`;
  }

  /** Forgets the current client without scheduling anything. */
  #dropConnection(): void {
    this.#generation++;
    const client = this.#client;
    this.#client = undefined;
    if (this.#state !== 'stopped') this.#state = 'waiting';
    this.#wake?.();
    client?.removeAllListeners('close');
    client?.on('error', () => {});
    client?.end(true);
  }

  #scheduleReconnect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'waiting';
    const delay = reconnectDelayMs(
      this.#attempt++,
      this.#config.reconnect_min * 1000,
      this.#config.reconnect_max * 1000,
    );
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), delay);
    this.#reconnectTimer.unref();
  }

  #fail(gen: number, error: string): void {
    if (gen !== this.#generation) return;
    this.#setError(error);
    this.#dropConnection();
    this.#scheduleReconnect();
  }

  #setError(error: string): void {
    if (error !== this.#lastError) {
      this.deps.logger.error({ error }, 'upstream bridge error');
      this.deps.event('upstream', { event: 'error', error });
    }
    this.#lastError = error;
  }

  /** A problem of the queue's files, or undefined once it is gone: logged and sent on bridge/event when it changes. */
  #setQueueError(key: 'read' | 'cursor', error: string | undefined): void {
    const before = this.#queueErrors.get(key);
    if (error === before) return;
    this.#queueErrors.delete(key);
    if (error === undefined) {
      this.deps.logger.info({ was: before }, 'upstream queue problem solved');
      return;
    }
    this.#queueErrors.set(key, error);
    this.deps.logger.error({ error }, 'upstream queue error');
    this.deps.event('upstream', { event: 'error', error });
  }

  // ---- queue -> upstream ----

  /** #pump, whose failure (a bug, not a file it cannot read: see #onUnreadable) is reported and retried on a new
   * connection with back-off, instead of leaving a connection that sends nothing. */
  async #pumpSafely(client: MqttClient, gen: number): Promise<void> {
    try {
      await this.#pump(client, gen);
    } catch (err) {
      this.deps.logger.error({ err }, 'sending the upstream queue failed');
      this.#fail(gen, `sending the upstream queue failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A queue file that cannot be read: tried again after a back-off if the error may pass, else skipped. */
  async #onUnreadable(queue: DiskQueue, err: QueueReadError, live: () => boolean): Promise<void> {
    const fix = err.fix ? ` Fix: ${err.fix}` : '';
    const retry = this.#readRetry.next(err);
    if (retry !== undefined) {
      const ms = reconnectDelayMs(retry, this.#config.reconnect_min * 1000, this.#config.reconnect_max * 1000);
      this.#setQueueError(
        'read',
        `${err.message}: trying again in ${(ms / 1000).toFixed(1)} s (${retry + 1} of ${READ_RETRIES}), then its ${err.messages} messages are skipped.${fix}`,
      );
      await this.#backOff(ms, live);
      return;
    }
    // Said before it happens: the drop report follows.
    this.#setQueueError('read', `${err.message}: skipped its ${err.messages} messages (dropped, corrupt).${fix}`);
    queue.skipUnreadable(err);
  }

  /** Waits `ms` or until the connection ends; new data and acknowledgements do not cut it short. */
  async #backOff(ms: number, live: () => boolean): Promise<void> {
    const until = performance.now() + ms;
    while (live() && performance.now() < until) await this.#sleepUntilWoken(until - performance.now());
  }

  /**
   * Sends queued records in order, at most max_inflight unacknowledged, until the connection changes. Records
   * are read in batches and encoded straight from the queue's read buffer into one socket write per batch
   * (PublishBatch); mqtt.js still matches the acknowledgements (client.outgoing) and owns the connection.
   */
  async #pump(client: MqttClient, gen: number): Promise<void> {
    const queue = this.#queue;
    if (!queue || gen !== this.#generation) return;
    const resend = queue.inflightCount();
    if (resend > 0) {
      this.#counts.resent += resend;
      this.#metrics.resent.inc(resend);
    }
    queue.rewind();
    this.#poison.connectionStarted();
    this.#own.connectionStarted();
    this.#backlogEnd = queue.stats().depth;
    let position = 0;
    this.#draining = this.#backlogEnd > 0;
    const { receiveMaximum, maximumPacketSize: maxPacket, maxQos, retain } = this.#limits;
    const window = Math.min(this.#config.max_inflight, receiveMaximum);
    const live = () => gen === this.#generation && this.#state === 'connected';
    const stream = client.stream as unknown as NodeJS.WritableStream & {
      writableLength?: number;
      cork?: () => void;
      uncork?: () => void;
    };
    const onDrain = () => this.#wake?.();
    stream.on('drain', onDrain);
    const batch = new PublishBatch(this.#config.protocol_version === '5');
    let ackedUncounted = 0;
    const acked = (seq: number) => {
      queue.ack(seq);
      this.#own.settled(seq);
      this.#counts.acked++;
      ackedUncounted++;
    };
    let ackWake = false;
    const wakeAfterAcks = () => {
      ackWake = false;
      this.#metrics.acked.inc(ackedUncounted);
      ackedUncounted = 0;
      this.#wake?.();
    };
    // One callback and one pending entry shared by every publish of this connection (no closure per
    // message): the acknowledged message id leads back to the queue record.
    const seqOfId = new Float64Array(65536);
    const onAck = (id: number, rejected = false) => {
      this.#poison.answered();
      // A rejected message is done with, but not counted as acknowledged.
      if (rejected) queue.ack(seqOfId[id]!);
      else acked(seqOfId[id]!);
      // Wake the sender once per burst of acknowledgements, not once per PUBACK.
      if (!ackWake) {
        ackWake = true;
        queueMicrotask(wakeAfterAcks);
      }
    };
    const pending = {
      volatile: false,
      cmd: 'publish' as const,
      cb: (err: Error | null | undefined, packet?: { messageId?: number }) => {
        const id = packet?.messageId;
        if (id === undefined || gen !== this.#generation) return;
        if (this.#pubrecd.size > 0) this.#pubrecd.delete(seqOfId[id]!);
        // A failure reason code (MQTT 5: not authorized, quota exceeded, payload format...): resending would be
        // refused again and hold the queue's cursor for good, so the message is dropped, counted and reported.
        if (err) {
          if (TRANSIENT_REASONS.has((err as { code?: number }).code ?? 0)) {
            this.#poison.answered();
            this.#conn.reported = true;
            this.#setError(`upstream refused a message for now (${err.message}): reconnecting to send it again`);
            this.#onClose();
            return;
          }
          this.#lastRejection = err.message;
          this.#onDropped(1, 'rejected', this.#own.settled(seqOfId[id]!));
        }
        onAck(id, Boolean(err));
      },
    };
    const onPubrec = (packet: Packet) => {
      if (packet.cmd !== 'pubrec' || gen !== this.#generation) return;
      const id = packet.messageId ?? 0;
      // A failure reason code is no PUBREC to complete: the pending callback drops the message.
      if ((client.outgoing as Record<number, unknown>)[id] !== pending || (packet.reasonCode ?? 0) >= 0x80) return;
      this.#pubrecd.add(seqOfId[id]!);
    };
    client.on('packetreceive', onPubrec);
    // Plain PUBACKs skip mqtt.js; this does what its ack handler does for them.
    this.#takePubAck = (id) => {
      const outgoing = client.outgoing as Record<number, unknown>;
      if (outgoing[id] !== pending || gen !== this.#generation) return false;
      delete outgoing[id];
      client.messageIdProvider.deallocate(id);
      onAck(id);
      return true;
    };
    const qos0: number[] = [];
    let echoes = false;
    /** Records of the batch given up instead of sent (too large, a refused topic). */
    let skipped = 0;
    let visiting: RecordView | undefined;
    const visitingTopic = () => (visiting ? topicOf(visiting) : '');
    const giveUp = (seq: number, own: boolean, reason: string) => {
      queue.ack(seq);
      this.#own.settled(seq);
      skipped++;
      this.#lastRejection = reason;
      this.#onDropped(1, 'rejected', own);
    };
    const visit = (view: RecordView, seq: number) => {
      const own = this.#own.sent(view, seq);
      // The record is larger than the packet it becomes, so most messages skip computing the packet size.
      if (view.bytes > maxPacket && packetBytes(view, batch.v5) > maxPacket) {
        giveUp(
          seq,
          own,
          `a message on ${topicOf(view)} is ${packetBytes(view, batch.v5)} bytes, the upstream accepts at most ${maxPacket} (its Maximum Packet Size)`,
        );
        return;
      }
      const refused = this.#refused.size > 0 ? this.#refused.reason(topicOf(view)) : undefined;
      if (refused !== undefined) {
        giveUp(seq, own, refused);
        return;
      }
      const qos = Math.min(view.qos, maxQos) as 0 | 1 | 2;
      let id = 0;
      if (qos > 0) {
        // Skip ids still pending (a PUBREL owed from the previous connection, the link state publish).
        do id = client.messageIdProvider.allocate() ?? 0;
        while (client.outgoing[id] !== undefined);
        seqOfId[id] = seq;
        client.outgoing[id] = pending;
      } else {
        qos0.push(seq);
      }
      batch.add(view, id, qos, retain && view.retain);
      if (qos > 0) {
        visiting = view;
        this.#poison.sent(seq, visitingTopic);
        visiting = undefined;
      }
      if (echoes) this.#rememberOut(topicOf(view), view.buf.subarray(view.topicEnd, view.payloadEnd));
    };
    try {
      while (live()) {
        let room = Math.min(window, this.#poison.maxInflight()) - queue.inflightCount();
        // Draining a backlog, wait until a quarter of the window is free: the upstream still has three quarters to
        // work on, and the sender writes (and the upstream reads) in bursts instead of a few messages at a time
        // (drain CPU per message 14.5-18.8 -> 5.9-6.9 us). Live traffic is sent as soon as there is room.
        const worthWaiting = this.#draining && room < window >> 2 && queue.inflightCount() > 0;
        if (room <= 0 || worthWaiting || (stream.writableLength ?? 0) > WRITE_BUFFER_BYTES) {
          await this.#sleepUntilWoken(); // an acknowledgement or the socket draining wakes us
          continue;
        }
        let granted = 0;
        if (this.#draining) {
          if (position >= this.#backlogEnd) {
            this.#draining = false;
          } else if (this.#limiter.limited) {
            room = Math.min(room, this.#backlogEnd - position);
            granted = this.#limiter.takeUpTo(room);
            if (granted === 0) {
              await new Promise((r) => setTimeout(r, this.#limiter.waitMs()));
              continue;
            }
            room = granted;
          }
        }
        echoes = this.#tracksEchoes();
        skipped = 0;
        let n: number;
        try {
          n = (await queue.readBatch(room, READ_BATCH_BYTES, visit)) - skipped;
        } catch (err) {
          // Nothing was handed out: the queue reads only before the first record of a batch.
          if (granted > 0) this.#limiter.refund(granted);
          if (!(err instanceof QueueReadError)) throw err;
          if (live()) await this.#onUnreadable(queue, err, live);
          continue;
        }
        if (this.#readRetry.succeeded()) this.#setQueueError('read', undefined);
        if (granted > n) this.#limiter.refund(granted - n);
        const parts = batch.take();
        if (!live()) break;
        if (n === 0 && skipped > 0) continue;
        if (n === 0) {
          this.#draining = false;
          const sleep = this.#sleepUntilWoken(); // woken by new data (queue.onData) or an ack
          if (queue.unreadCount() > 0) this.#wake?.(); // data that arrived while readBatch was returning
          await sleep;
          continue;
        }
        if (this.#draining) position += n + skipped;
        this.#counts.sent += n;
        this.#metrics.sent.inc(n);
        if (parts.length > 1) stream.cork?.();
        for (const part of parts) stream.write(part);
        if (parts.length > 1) stream.uncork?.();
        // QoS 0 is done once written to the socket (as mqtt.js does for its own QoS 0 publishes).
        for (const seq of qos0) acked(seq);
        qos0.length = 0;
        if (ackedUncounted > 0 && !ackWake) {
          this.#metrics.acked.inc(ackedUncounted);
          ackedUncounted = 0;
        }
      }
    } finally {
      stream.removeListener('drain', onDrain);
      client.removeListener('packetreceive', onPubrec);
      this.#takePubAck = undefined;
      qos0.length = 0;
    }
  }

  #sleepUntilWoken(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        if (this.#wake === wake) this.#wake = undefined;
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(wake, timeoutMs);
      this.#wake = wake;
    });
  }

  // ---- upstream -> local ----

  async #onMessage(topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 | 2): Promise<void> {
    const route = routeIn(this.#mappings, topic);
    if (!route || topic === this.#stateTopic()) return;
    if (this.#isEcho(topic, payload)) {
      this.#counts.echoes++;
      return;
    }
    const buf = Buffer.from(payload);
    this.#inbound.add(buf);
    this.#counts.received++;
    this.#metrics.received.inc();
    try {
      await this.deps.broker.publish(route.topic, buf, { qos: Math.min(qos, route.qos) as 0 | 1 | 2, retain });
    } catch (err) {
      this.deps.logger.warn({ err, topic: route.topic }, 'could not publish an upstream message locally');
    }
  }

  /** MQTT 3.1.1 has no No Local: with an `in` mapping our own publishes may come back and are remembered. */
  #tracksEchoes(): boolean {
    return this.#config.protocol_version !== '5' && this.#mappings.some((m) => m.direction !== 'out');
  }

  /** On MQTT 3.1.1 brokers send our own publishes back to an overlapping subscription: remember them. */
  #rememberOut(topic: string, payload: Buffer): void {
    const key = `${topic}\0${crc32(payload)}`;
    const now = performance.now();
    const seen = this.#recentOut.get(key);
    this.#recentOut.delete(key);
    if (seen) {
      seen.copies = now - seen.at < ECHO_WINDOW_MS ? seen.copies + 1 : 1;
      seen.at = now;
    }
    this.#recentOut.set(key, seen ?? { at: now, copies: 1 });
    if (this.#recentOut.size > ECHO_MAX) {
      const oldest = this.#oldestOut.take();
      if (oldest !== undefined) this.#recentOut.delete(oldest);
    }
  }

  #isEcho(topic: string, payload: Buffer): boolean {
    const key = `${topic}\0${crc32(payload)}`;
    const seen = this.#recentOut.get(key);
    if (seen === undefined) return false;
    if (--seen.copies === 0) this.#recentOut.delete(key);
    return performance.now() - seen.at < ECHO_WINDOW_MS;
  }

  // ---- reporting ----

  /** `own`: the gateway's own reports, counted but not reported by themselves (see drop-report.ts). */
  #onDropped(count: number, reason: DropReason, own = false): void {
    this.#dropped[reason] += count;
    this.#metrics.dropped.inc({ reason }, count);
    this.#dropReport.add(count, reason, own);
  }

  #sendDropReport(counts: DropCounts): void {
    for (const [reason, count] of Object.entries(counts)) {
      const upstream = reason === 'rejected' ? { upstream_error: this.#lastRejection } : {};
      this.deps.logger.warn({ reason, count, ...upstream }, 'upstream queue dropped messages');
      this.deps.event('queue_dropped', { reason, count, total: this.#dropped[reason as DropReason], ...upstream });
    }
  }

  #clientId(): string {
    return this.#config.client_id ?? `zephyr2mqtt-${this.deps.gatewayId}`;
  }

  #stateTopic(): string {
    return this.#config.state_topic ?? `${defaultRemotePrefix(this.#config, this.deps.gatewayId)}bridge/state`;
  }
}

const topicOf = (view: RecordView): string => view.buf.toString('utf8', view.topicStart, view.topicEnd);

/** A successful CONNACK (MQTT 3.1.1 return code or MQTT 5 reason code 0). */
function connackSucceeded(packet: { reasonCode?: number; returnCode?: number }): boolean {
  return (packet.reasonCode ?? packet.returnCode ?? 0) === 0;
}

/** The upstream filters the `in` and `both` mappings subscribe to, with their QoS. */
function subscriptions(mappings: ResolvedMapping[]): Map<string, 0 | 1 | 2> {
  const filters = new Map<string, 0 | 1 | 2>();
  for (const m of mappings)
    if (m.direction !== 'out' && !filters.has(m.remoteFilter)) filters.set(m.remoteFilter, m.qos);
  return filters;
}

/** The size of the PUBLISH packet PublishBatch encodes for the record. */
function packetBytes(view: RecordView, v5: boolean): number {
  const remaining =
    2 + view.topicEnd - view.topicStart + (view.qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + view.payloadEnd - view.topicEnd;
  return 1 + (remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4) + remaining;
}

/** Everything that needs a new connection when it changes. */
function connectionKey(c: UpstreamConfig): string {
  const { queue: _q, topics: _t, drain_rate: _d, enabled: _e, bridge_topics: _b, ...rest } = c;
  return JSON.stringify(rest);
}
