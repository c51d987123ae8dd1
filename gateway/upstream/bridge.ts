// The upstream bridge: local publishes selected by `out` mappings go through the durable queue to the
// upstream broker; upstream messages selected by `in` mappings are published locally.
//
// Loop prevention: messages the bridge publishes locally are marked (their payload Buffer is remembered) and
// never queued out again; upstream echoes of our own publishes are suppressed with MQTT 5 No Local, and on
// 3.1.1 by remembering what was just sent.
//
// This class builds the parts and runs start, stop and reconfigure; the parts do the work: upstream-link.ts (the
// connection), queue-sender.ts (queue -> upstream), local-to-queue.ts and upstream-to-local.ts (the mappings),
// link-state.ts (the online state), close-blame.ts (what a close counts against), bridge-report.ts (errors,
// counts, metrics).
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { EmbeddedBroker } from '../broker/types.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../prometheus.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { BridgeReport } from './bridge-report.js';
import { OFFLINE } from './client-options.js';
import { CloseBlame } from './close-blame.js';
import type { UpstreamConfig } from './config.js';
import { redactUrl } from './describe-error.js';
import { EchoFilter } from './echo-filter.js';
import { HeapGuard } from './heap-guard.js';
import { LinkStatePublisher } from './link-state.js';
import { LocalToQueue } from './local-to-queue.js';
import { OwnReports } from './own-reports.js';
import { PoisonGuard } from './poison-guard.js';
import { PubrecHandover } from './pubrec-handover.js';
import type { DiskQueue, QueueOptions } from './queue/disk-queue.js';
import { checkQueueSpace, openUpstreamQueue } from './queue-opening.js';
import { QueueSender } from './queue-sender.js';
import { RefusedTopics } from './refused-topics.js';
import { subscriptions } from './subscriptions.js';
import { defaultRemotePrefix, type ResolvedMapping, resolveMappings } from './topic-map.js';
import { UpstreamLink } from './upstream-link.js';
import { UpstreamToLocal } from './upstream-to-local.js';

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

/** Queued messages from which the heap is kept small (see heap-guard.ts). */
const HEAP_GUARD_BACKLOG = 10_000;

export class UpstreamBridge {
  #config: UpstreamConfig;
  #mappings: ResolvedMapping[];
  #queue: DiskQueue | undefined;
  #removeInterceptor: (() => void) | undefined;
  #queueOpening: Promise<void> = Promise.resolve();
  readonly #queueLog: RateLimitedLog;
  readonly #report: BridgeReport;
  readonly #own: OwnReports;
  readonly #refused = new RefusedTopics();
  readonly #poison = new PoisonGuard();
  readonly #pubrecs = new PubrecHandover();
  readonly #echoes = new EchoFilter();
  readonly #heap = new HeapGuard(() => (this.#queue?.unreadCount() ?? 0) >= HEAP_GUARD_BACKLOG);
  readonly #linkState: LinkStatePublisher;
  readonly #sender: QueueSender;
  readonly #link: UpstreamLink;
  readonly #toQueue: LocalToQueue;
  readonly #toLocal: UpstreamToLocal;
  /** The upstream (URL and mappings) the local retained messages were last queued for. */
  #replayedFor: string | undefined;
  /** connect() was called since the last start: until then a reconfigure must not connect on its own. */
  #connectAllowed = false;

  constructor(private readonly deps: UpstreamDeps) {
    const { logger, event } = deps;
    this.#config = deps.config;
    this.#mappings = resolveMappings(deps.config, deps.baseTopic, deps.gatewayId);
    this.#own = new OwnReports(deps.baseTopic, this.#mappings);
    this.#queueLog = new RateLimitedLog(logger);
    this.#report = new BridgeReport({
      logger,
      registry: deps.registry,
      event,
      gauges: () => ({ connected: this.#link.state === 'connected', queue: this.#queue?.stats() }),
    });
    const report = this.#report;
    const setError = (error: string) => report.setError(error);
    const config = () => this.#config;
    const mappings = () => this.#mappings;
    const stateTopic = () => this.#stateTopic();
    const queue = () => this.#queue;
    const url = () => redactUrl(this.#config.url);
    const isCurrent = (gen: number) => this.#link.isCurrent(gen);
    this.#linkState = new LinkStatePublisher({
      enabled: () => this.#config.link_state,
      stateTopic,
      clientId: () => this.#clientId(),
      url,
      limits: () => this.#link.limits,
      acked: () => report.counts.acked,
      isCurrent,
      isConnected: (gen) => this.#link.isLive(gen),
      setError,
      retryMs: deps.stateRetryMs,
    });
    const blame = new CloseBlame({
      url,
      poison: this.#poison,
      linkState: this.#linkState,
      refused: this.#refused,
      setError,
      hasQueue: () => this.#queue !== undefined,
      giveUp: (seq, reason) => {
        this.#queue?.ack(seq);
        report.rejected(reason, this.#own.settled(seq));
      },
    });
    this.#sender = new QueueSender(
      {
        logger,
        report,
        poison: this.#poison,
        own: this.#own,
        refused: this.#refused,
        echoes: this.#echoes,
        pubrecs: this.#pubrecs,
        queue,
        config,
        limits: () => this.#link.limits,
        isCurrent,
        isLive: (gen) => this.#link.isLive(gen),
        tracksEchoes: () => this.#tracksEchoes(),
        reconnectToResend: (error) => this.#link.reconnectToResend(error),
        failed: (gen, error) => this.#link.fail(gen, error),
      },
      deps.config.drain_rate,
    );
    this.#link = new UpstreamLink({
      logger,
      event,
      report,
      linkState: this.#linkState,
      blame,
      sender: this.#sender,
      config,
      clientId: () => this.#clientId(),
      stateTopic,
      mappings,
      settlePubrecs: (sessionPresent) => this.#settlePubrecs(sessionPresent),
      onMessage: (topic, payload, retain, qos) => void this.#toLocal.onMessage(topic, payload, retain, qos),
      connected: () => this.#replayRetained(),
    });
    this.#toLocal = new UpstreamToLocal({
      broker: deps.broker,
      logger,
      report,
      echoes: this.#echoes,
      mappings,
      stateTopic,
    });
    this.#toQueue = new LocalToQueue({
      own: this.#own,
      fromUpstream: (payload) => this.#toLocal.published(payload),
      config,
      mappings,
      stateTopic,
      queue,
      queueOpening: () => this.#queueOpening,
      markOwnDropped: (count) => report.markOwnDropped(count),
      refusedTopic: (topic, reason, own) => {
        this.#queueLog.warn(
          `refused-topic:${topic}`,
          { topic, reason },
          'message not sent upstream: the upstream would close the connection on its topic',
        );
        report.rejected(reason, own);
      },
    });
  }

  /**
   * The first connection to an upstream (its URL and mappings) in this run gets the local retained messages, so a
   * new or switched broker has every device's state and availability at once, not at each device's next report.
   */
  #replayRetained(): void {
    const target = JSON.stringify([this.#config.url, this.#mappings]);
    if (target === this.#replayedFor) return;
    this.#replayedFor = target;
    const result = this.#toQueue.replayRetained(this.deps.broker.retainedMessages());
    const url = redactUrl(this.#config.url);
    if ('skipped' in result)
      this.deps.logger.warn(
        { url, retained: result.skipped },
        'local retained messages not sent to the upstream: the queue is too full (they go up with the next reports)',
      );
    else if (result.queued > 0)
      this.deps.logger.info({ url, retained: result.queued }, 'local retained messages queued for the upstream');
  }

  get queueDir(): string {
    return join(this.deps.dataDir, 'upstream', 'queue');
  }

  /** open(), then connect(). */
  async start(): Promise<void> {
    if (await this.open()) this.connect();
  }

  /** Registers the broker interceptor synchronously (before the first await), then opens the queue; false when it
   * was open already. Publishes intercepted while the queue opens wait for it. */
  async open(): Promise<boolean> {
    if (this.#link.state !== 'stopped') return false;
    this.#link.starting();
    this.#report.metrics.showGauges();
    let opened!: () => void;
    this.#queueOpening = new Promise<void>((resolve) => {
      opened = resolve;
    });
    this.#removeInterceptor = this.deps.broker.addInterceptor((msg, done) => this.#toQueue.intercept(msg, done));
    this.#report.clearQueueErrors(); // a new queue finds its own
    try {
      if (!this.#queue) await this.#openQueue();
    } catch (err) {
      this.#removeInterceptor();
      this.#removeInterceptor = undefined;
      this.#link.startFailed();
      throw err;
    } finally {
      opened();
    }
    this.#heap.start();
    return true;
  }

  /** Connects to the upstream, once opened. A persistent session's commands arrive right after the CONNACK: the
   * gateway connects once whatever executes them listens (gateway/controller.ts). */
  connect(): void {
    this.#connectAllowed = true;
    void this.#link.connect();
  }

  async #openQueue(): Promise<void> {
    const report = this.#report;
    await openUpstreamQueue(this.#config.queue, {
      dir: this.queueDir,
      logger: this.deps.logger,
      event: this.deps.event,
      queueLog: this.#queueLog,
      dropped: (count, reason) => report.onDropped(count, reason),
      cursorFailing: (error) => report.setQueueError('cursor', error),
      options: this.deps.queueOptions,
      opened: (queue) => {
        this.#queue = queue;
        queue.onData = () => this.#sender.wake();
      },
    });
    await this.#checkQueueSpace();
  }

  #checkQueueSpace(): Promise<void> {
    return checkQueueSpace(this.#queue, this.#config.queue, {
      dir: this.queueDir,
      logger: this.deps.logger,
      event: this.deps.event,
    });
  }

  async stop(): Promise<void> {
    this.#connectAllowed = false;
    if (this.#link.state === 'stopped' && !this.#queue) return;
    const client = this.#link.stop();
    this.#linkState.stop();
    this.#pubrecs.clear(); // the queue is opened anew on a start: those messages are sent again (at least once)
    this.#removeInterceptor?.();
    this.#removeInterceptor = undefined;
    this.#sender.wake();
    try {
      if (client) await this.#sayOffline(client);
      await this.#sender.finished(); // the sender reported its failure
      this.#report.flushDrops();
    } finally {
      // Always: closing the queue writes its cursor.
      this.#heap.stop();
      await this.#queue?.close();
      this.#queue = undefined;
      this.#report.metrics.hideGauges();
    }
  }

  async #sayOffline(client: MqttClient): Promise<void> {
    if (client.connected && this.#linkState.publishes()) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(this.#stateTopic(), OFFLINE, this.#linkState.options(), () => {
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
    this.#toQueue.remapped();
    this.#refused.clear();
    this.#sender.setRate(config.drain_rate);
    this.#queue?.reconfigure(config.queue);
    if (!config.enabled) {
      await this.stop();
      return;
    }
    if (this.#link.state === 'stopped') {
      await this.start();
      return;
    }
    if (config.queue.max_bytes !== old.queue.max_bytes) await this.#checkQueueSpace();
    // What was given up "until a reload" is tried again: the broker's policy may have been fixed. A given-up state
    // is published on a new connection, which sets the last will again too.
    const stateGivenUp = this.#linkState.reload();
    this.#link.reload();
    // Opened but not yet told to connect (the gateway is still starting): connect() will use the new settings.
    if (!this.#connectAllowed) return;
    const keyChanged = connectionKey(old) !== connectionKey(config);
    const client = this.#link.client;
    if (keyChanged || (stateGivenUp && config.link_state)) {
      this.deps.logger.info(
        keyChanged ? 'upstream connection settings changed: reconnecting' : 'reconnecting to publish the link state',
      );
      this.#link.reconnectNow();
    } else if (client && this.#link.state === 'connected') {
      // New `in` patterns on the live connection (a new connection subscribes to them anyway).
      const before = subscriptions(oldMappings);
      const after = subscriptions(this.#mappings);
      const gone = [...before.keys()].filter((f) => !after.has(f));
      if (gone.length > 0) client.unsubscribe(gone);
      this.#link.subscribe(
        client,
        [...after].filter(([f, qos]) => before.get(f) !== qos),
      );
    }
  }

  status(): Record<string, unknown> {
    const q = this.#queue?.stats();
    const state = this.#link.state;
    return {
      enabled: this.#config.enabled,
      state,
      connected: state === 'connected',
      url: redactUrl(this.#config.url),
      client_id: this.#clientId(),
      protocol_version: this.#config.protocol_version,
      last_error: this.#report.shownError(this.#linkState.problem),
      draining: this.#sender.draining,
      queue: q
        ? {
            depth: q.depth,
            bytes: q.bytes,
            oldest_age_s: q.oldestTs === undefined ? null : Math.max(0, (Date.now() - q.oldestTs) / 1000),
            disk_full: q.diskFull,
          }
        : null,
      messages: { ...this.#report.counts },
      dropped: { ...this.#report.drops },
    };
  }

  /** QoS 2 records the last connection got a PUBREC for: done if the upstream kept the session (the PUBREL
   * mqtt.js resends completes them), else left in the queue to be sent again by the rewind. */
  #settlePubrecs(sessionPresent: boolean): void {
    const done = this.#pubrecs.settle(sessionPresent, this.#queue, (seq) => this.#own.settled(seq));
    if (done === 0) return;
    this.#report.counts.acked += done;
    this.#report.metrics.acked.inc(done);
  }

  /** MQTT 3.1.1 has no No Local: with an `in` mapping our own publishes may come back and are remembered. */
  #tracksEchoes(): boolean {
    return this.#config.protocol_version !== '5' && this.#mappings.some((m) => m.direction !== 'out');
  }

  #clientId(): string {
    return this.#config.client_id ?? `zephyr2mqtt-${this.deps.gatewayId}`;
  }

  #stateTopic(): string {
    return this.#config.state_topic ?? `${defaultRemotePrefix(this.#config, this.deps.gatewayId)}bridge/state`;
  }
}

/** Everything that needs a new connection when it changes. */
function connectionKey(c: UpstreamConfig): string {
  const { queue: _q, topics: _t, drain_rate: _d, enabled: _e, bridge_topics: _b, ...rest } = c;
  return JSON.stringify(rest);
}
