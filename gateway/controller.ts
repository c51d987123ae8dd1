// Composition root: builds the broker, device registry, adapters, HTTP endpoints and the API,
// starts them in order and stops them in reverse.
import { resolve } from 'node:path';
import { adapterModules } from '../adapters/registry.js';
import type { AdapterContext, AdapterModule, DeviceCommand, DeviceSeen, StateValues } from './adapter.js';
import { AdapterHost } from './adapter-host.js';
import { RequestError, RequestRouter } from './api/router.js';
import { type BridgeEventPayload, type DevicesListEntry, devicePayload, topics } from './api/topics.js';
import { startBroker } from './broker/broker.js';
import type { EmbeddedBroker, PublishOptions } from './broker/types.js';
import type { DeviceConfig, GatewayConfig } from './config/schema.js';
import { prepareDataDir } from './datadir.js';
import { DeviceRegistry } from './devices/registry.js';
import { type HttpServer, startHttpServer } from './http.js';
import type { Logger } from './logger.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  logger: Logger;
  configPath?: string | undefined;
}

const AVAILABILITY_CHECK_MS = 5_000;

export class Gateway {
  readonly metrics: GatewayMetrics = createMetrics();
  readonly devices = new DeviceRegistry();
  readonly router: RequestRouter<Gateway>;
  readonly #hosts = new Map<string, AdapterHost>();
  readonly #rateLog: RateLimitedLog;
  readonly #unknownSeen = new Map<string, number>();
  #broker: EmbeddedBroker | undefined;
  #http: HttpServer | undefined;
  #availabilityTimer: NodeJS.Timeout | undefined;
  #permitJoinUntil = 0;
  #started = false;
  #unsubscribes: Array<() => void> = [];

  constructor(
    public config: GatewayConfig,
    readonly options: GatewayOptions,
  ) {
    this.#rateLog = new RateLimitedLog(options.logger.child({ module: 'decode' }));
    this.router = createRouter();
  }

  get logger(): Logger {
    return this.options.logger;
  }

  get base(): string {
    return this.config.gateway.base_topic;
  }

  get dataDir(): string {
    return resolve(this.config.gateway.data_dir);
  }

  get broker(): EmbeddedBroker {
    if (!this.#broker) throw new Error('gateway not started');
    return this.#broker;
  }

  get httpAddress(): { host: string; port: number } | undefined {
    return this.#http?.address();
  }

  async start(): Promise<void> {
    const started = Date.now();
    await prepareDataDir(this.dataDir, this.logger.child({ module: 'datadir' }));
    this.#broker = await startBroker({
      config: this.config.broker,
      logger: this.logger.child({ module: 'broker' }),
      dataDir: this.dataDir,
    });
    this.devices.configure(this.config.devices);
    this.#subscribeApi();
    await this.publishJson(topics.bridgeState(this.base), { state: 'online' }, { retain: true, qos: 1 });
    for (const module of adapterModules) await this.#startAdapter(module as AdapterModule<unknown>);
    if (this.config.http.enabled) this.#http = await startHttpServer(this, this.config.http);
    this.#availabilityTimer = setInterval(() => this.#checkAvailability(), AVAILABILITY_CHECK_MS);
    this.#availabilityTimer.unref();
    this.#started = true;
    await this.publishDevices();
    await this.publishInfo();
    this.logger.info({ ms: Date.now() - started, version: VERSION }, 'zephyr2mqtt started');
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (this.#availabilityTimer) clearInterval(this.#availabilityTimer);
    for (const host of [...this.#hosts.values()].reverse()) await host.stop();
    this.#hosts.clear();
    for (const rec of this.devices.all()) {
      await this.publishJson(
        topics.deviceAvailability(this.base, rec.config.id),
        { state: 'offline' },
        { retain: true, qos: 1 },
      );
    }
    await this.publishJson(topics.bridgeState(this.base), { state: 'offline' }, { retain: true, qos: 1 });
    for (const unsub of this.#unsubscribes) unsub();
    await this.#http?.close();
    await this.#broker?.close();
    this.logger.info('zephyr2mqtt stopped');
  }

  /** Apply a new, already validated config without dropping MQTT clients. */
  async applyConfig(next: GatewayConfig): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    this.config = next;
    const diff = this.devices.configure(next.devices);
    for (const id of diff.removed) {
      await this.publish(topics.deviceState(this.base, id), '', { retain: true });
      await this.publish(topics.deviceAvailability(this.base, id), '', { retain: true });
      this.event('device_left', { id });
    }
    for (const id of diff.added) this.event('device_joined', { id });
    for (const module of adapterModules) {
      const host = this.#hosts.get(module.kind);
      const adapterConfig = this.#adapterConfig(module.kind);
      const enabled = (adapterConfig as { enabled?: boolean }).enabled !== false;
      if (host && enabled) await host.reconfigure(adapterConfig);
      else if (host && !enabled) {
        await host.stop();
        this.#hosts.delete(module.kind);
      } else if (!host && enabled) await this.#startAdapter(module as AdapterModule<unknown>);
    }
    await this.publishDevices();
    await this.publishInfo();
    return diff;
  }

  // ---- publishing -------------------------------------------------------------------------------

  async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    try {
      await this.broker.publish(topic, payload, opts);
    } catch (err) {
      this.logger.error({ err, topic }, 'publish failed');
    }
  }

  publishJson(topic: string, payload: unknown, opts: PublishOptions = {}): Promise<void> {
    return this.publish(topic, JSON.stringify(payload), opts);
  }

  event(type: BridgeEventPayload['type'], data: Record<string, unknown>): void {
    void this.publishJson(topics.bridgeEvent(this.base), { type, data });
  }

  async publishDevices(): Promise<void> {
    const list: DevicesListEntry[] = this.devices.all().map((rec) => ({
      id: rec.config.id,
      ...(rec.config.name ? { name: rec.config.name } : {}),
      transport: rec.config.transport,
      ...deviceAddress(rec.config),
      availability: rec.online ? 'online' : 'offline',
      last_seen: rec.lastSeen?.toISOString() ?? null,
      disabled: rec.config.disabled,
      info: rec.info,
    }));
    await this.publishJson(topics.bridgeDevices(this.base), list, { retain: true });
  }

  info(): Record<string, unknown> {
    return {
      version: VERSION,
      gateway_id: this.config.gateway.id,
      base_topic: this.base,
      permit_join: this.permitJoin(),
      permit_join_timeout:
        this.#permitJoinUntil > Date.now() ? Math.ceil((this.#permitJoinUntil - Date.now()) / 1000) : 0,
      devices: this.devices.all().length,
      listeners: this.#broker?.addresses() ?? [],
      adapters: this.adapterStatuses(),
    };
  }

  async publishInfo(): Promise<void> {
    await this.publishJson(topics.bridgeInfo(this.base), this.info(), { retain: true });
  }

  adapterStatuses(): Record<string, unknown> {
    return Object.fromEntries([...this.#hosts].map(([kind, host]) => [kind, host.status()]));
  }

  /** Ready when the broker listens and every enabled adapter is running or reported unavailable. */
  ready(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.#started) reasons.push('starting');
    for (const [kind, host] of this.#hosts) {
      const s = host.status();
      if (s.state === 'starting' || s.state === 'failed')
        reasons.push(`${kind}: ${s.state}${s.reason ? ` (${s.reason})` : ''}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  // ---- permit join ------------------------------------------------------------------------------

  permitJoin(): boolean {
    return this.#permitJoinUntil > Date.now();
  }

  setPermitJoin(seconds: number): void {
    this.#permitJoinUntil = seconds > 0 ? Date.now() + seconds * 1000 : 0;
    this.#unknownSeen.clear();
    void this.publishInfo();
  }

  // ---- adapters ---------------------------------------------------------------------------------

  #adapterConfig(kind: string): unknown {
    return (this.config.adapters as Record<string, unknown>)[kind] ?? {};
  }

  async #startAdapter(module: AdapterModule<unknown>): Promise<void> {
    const config = this.#adapterConfig(module.kind);
    if ((config as { enabled?: boolean }).enabled === false) return;
    const logger = this.logger.child({ module: module.kind });
    const level = this.config.gateway.log_levels[module.kind];
    if (level) logger.level = level;
    const host = new AdapterHost(module, config, this.#contextFor(module.kind, logger), logger);
    this.#hosts.set(module.kind, host);
    await host.start();
  }

  adapterFor(deviceId: string): { device: DeviceConfig; host: AdapterHost } {
    const rec = this.devices.get(deviceId);
    if (!rec) throw new RequestError(`unknown device "${deviceId}"`);
    const host = this.#hosts.get(rec.config.transport);
    if (!host?.adapter) throw new RequestError(`the ${rec.config.transport} adapter is not running`);
    return { device: rec.config, host };
  }

  #contextFor(kind: string, logger: Logger): AdapterContext {
    return {
      kind,
      logger,
      dataDir: AdapterHost.dataDirFor(this.dataDir, kind),
      devices: () => this.devices.ofTransport(kind).filter((d) => !d.disabled) as never,
      permitJoin: () => this.permitJoin(),
      telemetry: (id, values) => this.#onTelemetry(kind, id, values),
      availability: (id, online) => this.#onAvailability(id, online),
      deviceInfo: (id, info) => {
        if (this.devices.mergeInfo(id, info)) void this.publishDevices();
      },
      deviceSeen: (seen) => this.#onDeviceSeen(seen),
      publish: (id, subtopic, payload, opts) => {
        const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
        void this.publish(topics.deviceSub(this.base, id, subtopic), body, opts);
      },
      decodeError: (reason, detail) => {
        this.metrics.decodeErrors.inc({ adapter: kind, reason });
        this.#rateLog.warn(
          `${kind}:${reason}`,
          {
            adapter: kind,
            reason,
            device: detail?.deviceId,
            bytes: detail?.bytes ? Buffer.from(detail.bytes.subarray(0, 64)).toString('hex') : undefined,
            err: detail?.error,
          },
          'could not decode device data',
        );
      },
      countMessage: (direction) => this.metrics.messages.inc({ adapter: kind, direction }),
    };
  }

  #onTelemetry(kind: string, id: string, values: StateValues): void {
    if (!this.devices.get(id)) return;
    this.metrics.messages.inc({ adapter: kind, direction: 'in' });
    const state = this.devices.mergeState(id, values, new Date());
    if (!state) return;
    void this.publishJson(topics.deviceState(this.base, id), state, { retain: true });
    if (this.config.api.property_topics) {
      for (const [key, value] of Object.entries(values)) {
        const plain = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
        void this.publish(topics.deviceProperty(this.base, id, key), plain, { retain: true });
      }
    }
    this.#onAvailability(id, true);
  }

  #onAvailability(id: string, online: boolean): void {
    if (online) this.devices.touch(id, new Date());
    if (!this.devices.setOnline(id, online)) return;
    this.metrics.devicesOnline.set(this.devices.all().filter((d) => d.online).length);
    void this.publishJson(
      topics.deviceAvailability(this.base, id),
      { state: online ? 'online' : 'offline' },
      { retain: true, qos: 1 },
    );
    void this.publishDevices();
  }

  #onDeviceSeen(seen: DeviceSeen): void {
    if (!this.permitJoin()) return;
    const key = `${seen.transport}|${seen.address}`;
    const last = this.#unknownSeen.get(key);
    if (last !== undefined && Date.now() - last < 60_000) return;
    if (this.#unknownSeen.size >= 1000) this.#unknownSeen.delete(this.#unknownSeen.keys().next().value as string);
    this.#unknownSeen.set(key, Date.now());
    this.event('device_seen_unknown', { ...seen });
  }

  #checkAvailability(): void {
    const now = Date.now();
    for (const rec of this.devices.all()) {
      if (!rec.online || !rec.lastSeen) continue;
      const timeout = (rec.config.availability_timeout ?? this.config.api.availability_timeout) * 1000;
      if (now - rec.lastSeen.getTime() > timeout) this.#onAvailability(rec.config.id, false);
    }
    this.metrics.brokerClients.set(this.#broker?.clientCount() ?? 0);
  }

  // ---- MQTT API ---------------------------------------------------------------------------------

  #subscribeApi(): void {
    const broker = this.broker;
    const base = this.base;
    this.#unsubscribes.push(
      broker.subscribe(`${base}/+/set`, (msg) => void this.#onDeviceCommand(msg.topic, 'set', msg.payload)),
      broker.subscribe(`${base}/+/get`, (msg) => void this.#onDeviceCommand(msg.topic, 'get', msg.payload)),
      broker.subscribe(`${base}/bridge/request/#`, (msg) => void this.#onRequest(msg.topic, msg.payload)),
    );
  }

  async #onRequest(topic: string, payload: Buffer): Promise<void> {
    const name = topic.slice(`${this.base}/bridge/request/`.length);
    const response = await this.router.dispatch(this, name, payload);
    await this.publishJson(topics.bridgeResponse(this.base, name), response);
  }

  async #onDeviceCommand(topic: string, kind: DeviceCommand['kind'], payload: Buffer): Promise<void> {
    const id = topic.slice(this.base.length + 1, -(kind.length + 1));
    if (id === 'bridge') return;
    const errorTopic = topics.deviceSub(this.base, id, `${kind}/error`);
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      await this.publishJson(errorTopic, {
        error: 'payload is not valid JSON',
        payload: payload.toString('utf8', 0, 256),
      });
      return;
    }
    const parsed = devicePayload.safeParse(body);
    if (!parsed.success) {
      await this.publishJson(errorTopic, { error: 'payload must be a JSON object' });
      return;
    }
    try {
      const { host } = this.adapterFor(id);
      const result = await host.adapter!.command(id, { kind, payload: parsed.data });
      this.metrics.messages.inc({ adapter: host.module.kind, direction: 'out' });
      if (result.data && result.merge !== false) this.#onTelemetry(host.module.kind, id, result.data);
    } catch (err) {
      const rec = this.devices.get(id);
      if (rec) this.metrics.commandErrors.inc({ adapter: rec.config.transport });
      await this.publishJson(errorTopic, {
        error: err instanceof Error ? err.message : String(err),
        request: parsed.data,
      });
    }
  }
}

function deviceAddress(device: DeviceConfig): { address?: string; profile?: string } {
  const d = device as Record<string, unknown>;
  const out: { address?: string; profile?: string } = {};
  if (typeof d.address === 'string') out.address = d.address;
  else if (typeof d.path === 'string') out.address = d.path;
  if (typeof d.profile === 'string') out.profile = d.profile;
  return out;
}

function createRouter(): RequestRouter<Gateway> {
  const router = new RequestRouter<Gateway>(async (gw, name, data) => {
    // Transport-specific requests: bridge/request/device/<name> with {device: "<id>", ...}.
    if (!name.startsWith('device/')) throw new RequestError(`unknown request "${name}"`);
    const deviceId = typeof data.device === 'string' ? data.device : typeof data.id === 'string' ? data.id : undefined;
    if (!deviceId) throw new RequestError('missing "device"');
    const { host } = gw.adapterFor(deviceId);
    if (!host.adapter?.request) throw new RequestError(`the ${host.module.kind} adapter has no "${name}" request`);
    return host.adapter.request(name.slice('device/'.length), deviceId, data);
  });
  router.register('permit_join', (gw, data) => {
    const value = data.value ?? data.time;
    const seconds = value === true ? 254 : value === false ? 0 : typeof value === 'number' ? value : Number.NaN;
    if (!Number.isFinite(seconds) || seconds < 0) throw new RequestError('expected {"value": true|false|seconds}');
    gw.setPermitJoin(seconds);
    return { value: seconds > 0, time: seconds };
  });
  router.register('health_check', (gw) => ({ healthy: gw.ready().ready, ...gw.ready() }));
  router.register('info', (gw) => gw.info());
  return router;
}
