// The connection to the upstream broker: connecting, CONNACK (the link is up, its limits), the events of the
// connection, and reconnecting with back-off when it closes. Each connection gets a new generation: callbacks of
// an older connection find their generation stale and do nothing.
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import { reconnectDelayMs } from './backoff.js';
import type { BridgeReport } from './bridge-report.js';
import { buildClientOptions } from './client-options.js';
import { CloseBlame } from './close-blame.js';
import type { UpstreamConfig } from './config.js';
import { type ConnectionRecord, newConnectionRecord } from './connection-record.js';
import { describeConnectError, redactUrl } from './describe-error.js';
import { describeReason, type LinkLimits, linkLimits } from './link-limits.js';
import type { LinkStatePublisher } from './link-state.js';
import { routePubAcks } from './puback-fast-path.js';
import { BridgeOutgoingStore } from './publish-batch.js';
import { type QueueSender, ResendIdProvider } from './queue-sender.js';
import { subscribe, subscriptions } from './subscriptions.js';
import type { ResolvedMapping } from './topic-map.js';

export type LinkState = 'stopped' | 'connecting' | 'connected' | 'waiting';

/** A connection that stays up this long resets the reconnect back-off (a broker that accepts and then drops
 * the bridge at once must not be hit at reconnect_min forever). */
const STABLE_MS = 10_000;
/** CONNACK / DISCONNECT 0x9A Retain not supported. */
const RETAIN_NOT_SUPPORTED = 0x9a;

export interface UpstreamLinkDeps {
  logger: Logger;
  event: (type: string, data: Record<string, unknown>) => void;
  report: BridgeReport;
  linkState: LinkStatePublisher;
  blame: CloseBlame;
  sender: QueueSender;
  config(): UpstreamConfig;
  clientId(): string;
  stateTopic(): string;
  mappings(): ResolvedMapping[];
  /** A CONNACK: the QoS 2 messages the last connection handed over are settled (pubrec-handover.ts). */
  settlePubrecs(sessionPresent: boolean): void;
  /** A message from upstream. */
  onMessage(topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 | 2): void;
  /** Connected (before the queue is sent): the bridge may queue what this upstream should have. */
  connected?(): void;
}

export class UpstreamLink {
  #state: LinkState = 'stopped';
  #generation = 0;
  #attempt = 0;
  #everConnected = false;
  #client: MqttClient | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stableTimer: NodeJS.Timeout | undefined;
  /** From the upstream's MQTT 5 CONNACK and `bridge:`: in-flight window, largest packet, highest QoS, retain. */
  #limits: LinkLimits;
  #conn: ConnectionRecord = newConnectionRecord();
  /** The upstream refused a retained will (CONNACK 0x9A): connect without retain until a reload. */
  #retainRefused = false;
  /** Shared by every connection's client: PUBRELs still owed for QoS 2 messages the upstream acknowledged with
   * PUBREC stay in it, and mqtt.js sends them again first when the next connection comes up (MQTT §4.4). */
  readonly #outgoingStore = new BridgeOutgoingStore();

  constructor(private readonly deps: UpstreamLinkDeps) {
    this.#limits = linkLimits(deps.config());
  }

  get state(): LinkState {
    return this.#state;
  }

  get limits(): LinkLimits {
    return this.#limits;
  }

  /** The current connection's client, connected or not. */
  get client(): MqttClient | undefined {
    return this.#client;
  }

  get connection(): ConnectionRecord {
    return this.#conn;
  }

  /** The connection of `gen` is still the current one. */
  isCurrent(gen: number): boolean {
    return gen === this.#generation;
  }

  /** ... and connected. */
  isLive(gen: number): boolean {
    return gen === this.#generation && this.#state === 'connected';
  }

  /** The bridge starts: the first connection follows once the queue is open. It is not a reconnect, also when
   * the bridge ran before (turned off and on by reloads). */
  starting(): void {
    this.#state = 'connecting';
    this.#everConnected = false;
  }

  /** The bridge could not start (its queue did not open). */
  startFailed(): void {
    this.#state = 'stopped';
  }

  /** The bridge stops: no more connections. Returns the client, for the bridge to close. */
  stop(): MqttClient | undefined {
    this.#state = 'stopped';
    this.#generation++;
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    return client;
  }

  /** A reload tries again what was given up (the upstream may have been reconfigured). */
  reload(): void {
    this.#retainRefused = false;
  }

  /** Drops the connection and connects again at once (new settings, or a link state to publish). */
  reconnectNow(): void {
    this.#attempt = 0;
    this.#dropConnection();
    clearTimeout(this.#reconnectTimer);
    void this.connect();
  }

  async connect(): Promise<void> {
    if (this.#state === 'stopped') return;
    const gen = ++this.#generation;
    this.#state = 'connecting';
    const conn = newConnectionRecord();
    this.#conn = conn;
    this.#outgoingStore.forgetPublishes();
    const config = this.deps.config();
    const url = config.url;
    let opts: IClientOptions;
    try {
      const retainWill = config.retain === 'keep' && !this.#retainRefused;
      opts = await buildClientOptions(config, this.deps.clientId(), this.deps.stateTopic(), retainWill);
    } catch (err) {
      this.fail(gen, err instanceof Error ? err.message : String(err));
      return;
    }
    if (gen !== this.#generation) return;
    let client: MqttClient;
    try {
      client = mqtt.connect(url, {
        ...opts,
        outgoingStore: this.#outgoingStore,
        messageIdProvider: new ResendIdProvider(),
        manualConnect: true,
      });
      routePubAcks(client as unknown as { streamBuilder: unknown }, () => this.deps.sender.takePubAck);
      client.connect();
    } catch (err) {
      // tls.connect throws here for a client certificate and key it cannot use (not PEM, not a pair). Nothing
      // was opened, so there is nothing to end; retried with back-off (the files are read again each time).
      this.fail(gen, describeConnectError(err, redactUrl(url)));
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
        this.deps.report.setError(
          `upstream ${redactUrl(url)} refused the connection: Retain not supported (0x9A); reconnecting with a non-retained last will and sending without retain (set bridge.retain: strip to configure it so)`,
        );
        return;
      }
      this.deps.report.setError(describeConnectError(err, redactUrl(url), conn.accepted));
    });
    client.on('close', () => {
      if (gen !== this.#generation) return;
      this.#onClose();
    });
    client.on('message', (topic, payload, packet) => {
      if (gen === this.#generation) this.deps.onMessage(topic, payload, packet.retain, packet.qos);
    });
  }

  #onConnack(gen: number, connack: IConnackPacket): void {
    if (gen !== this.#generation || this.#state === 'stopped') return;
    const { report } = this.deps;
    const config = this.deps.config();
    const url = redactUrl(config.url);
    this.#state = 'connected';
    this.#conn.accepted = true;
    clearTimeout(this.#stableTimer);
    this.#stableTimer = setTimeout(() => {
      if (gen === this.#generation) this.#attempt = 0;
    }, STABLE_MS);
    this.#stableTimer.unref();
    this.#limits = linkLimits(config, connack);
    if (this.#retainRefused) this.#limits.retain = false;
    this.deps.settlePubrecs(connack.sessionPresent);
    report.clearError();
    if (this.#everConnected) {
      report.counts.reconnects++;
      report.metrics.reconnects.inc();
    }
    this.#everConnected = true;
    const { maxQos, retain } = this.#limits;
    this.deps.logger.info({ url, max_qos: maxQos, retain }, 'connected to upstream');
    this.deps.event('upstream', { event: 'connected', url });
  }

  /** mqtt.js is done with what it had stored: publish the state, subscribe, send the queue. */
  #onConnect(client: MqttClient, gen: number): void {
    if (gen !== this.#generation || this.#state !== 'connected') return;
    const { linkState, sender } = this.deps;
    // Before the link state publish and the SUBSCRIBEs take packet ids: not those the queue sends again.
    sender.reserveResendIds(client);
    linkState.publish(client, gen, this.#conn);
    linkState.retryLater(client, gen, this.#conn);
    this.subscribe(client, subscriptions(this.deps.mappings()));
    this.deps.connected?.();
    sender.start(client, gen);
  }

  subscribe(client: MqttClient, filters: Iterable<[string, 0 | 1 | 2]>): void {
    const v5 = this.deps.config().protocol_version === '5';
    subscribe(client, filters, this.#conn, v5, (error) => this.deps.report.setError(error));
  }

  /** MQTT 5: the upstream says why it ends the connection (0x90 Topic Name invalid, 0x9B QoS not supported...). */
  #onDisconnectPacket(packet: IDisconnectPacket): void {
    const reason = describeReason(packet.reasonCode ?? 0, packet.properties?.reasonString);
    this.#conn.disconnect = reason;
    this.#conn.disconnectCode = packet.reasonCode ?? 0;
    this.#conn.reported = true;
    this.deps.report.setError(`upstream ${redactUrl(this.deps.config().url)} disconnected the bridge: ${reason}`);
  }

  /** The upstream refused a message for now (`error`): closed, so the next connection sends it again. */
  reconnectToResend(error: string): void {
    this.#conn.reported = true;
    this.deps.report.setError(error);
    this.#onClose();
  }

  #onClose(): void {
    const wasConnected = this.#state === 'connected';
    const conn = this.#conn;
    const { report } = this.deps;
    clearTimeout(this.#stableTimer);
    this.#dropConnection();
    const config = this.deps.config();
    const url = redactUrl(config.url);
    if (!wasConnected) {
      // Closed without a word before CONNACK: AWS IoT Core and Azure IoT Hub do that for a client id, will topic
      // or retained will their policy does not allow. Otherwise this would retry forever with nothing reported.
      if (!conn.reported && this.#state !== 'stopped') {
        const will = config.link_state ? this.deps.stateTopic() : undefined;
        report.setError(CloseBlame.beforeConnack(url, this.deps.clientId(), will));
      }
    } else {
      this.deps.blame.accepted(conn);
      this.deps.logger.warn({ url, error: report.lastError }, 'upstream connection lost');
      this.deps.event('upstream', { event: 'disconnected', url, error: report.lastError ?? null });
    }
    this.#scheduleReconnect();
  }

  /** Forgets the current client without scheduling anything. */
  #dropConnection(): void {
    this.#generation++;
    const client = this.#client;
    this.#client = undefined;
    if (this.#state !== 'stopped') this.#state = 'waiting';
    this.deps.sender.wake();
    client?.removeAllListeners('close');
    client?.on('error', () => {});
    client?.end(true);
  }

  #scheduleReconnect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'waiting';
    const config = this.deps.config();
    const delay = reconnectDelayMs(this.#attempt++, config.reconnect_min * 1000, config.reconnect_max * 1000);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.#reconnectTimer.unref();
  }

  /** The connection of `gen` failed (`error`): dropped, and tried again with back-off. */
  fail(gen: number, error: string): void {
    if (gen !== this.#generation) return;
    this.deps.report.setError(error);
    this.#dropConnection();
    this.#scheduleReconnect();
  }
}

/** A successful CONNACK (MQTT 3.1.1 return code or MQTT 5 reason code 0). */
function connackSucceeded(packet: { reasonCode?: number; returnCode?: number }): boolean {
  return (packet.reasonCode ?? packet.returnCode ?? 0) === 0;
}
