// Composition root: builds the broker, device registry, adapters, HTTP endpoints and the API,
// starts them in order and stops them in reverse.
import { resolve } from 'node:path';
import type { Document } from 'yaml';
import { adapterModules } from '../adapters/registry.js';
import type {
  AdapterContext,
  AdapterModule,
  AdapterStatus,
  DeviceCommand,
  DeviceSeen,
  DeviceSeenVerdict,
  StateValues,
  TelemetryVerdict,
} from './adapter.js';
import { registerAdapterGauges } from './adapter-gauges.js';
import { AdapterHost } from './adapter-host.js';
import { BridgeLogging } from './api/bridge-logging.js';
import { createRequestRouter } from './api/requests/index.js';
import { AdapterRequestError, RequestError, type RequestRouter } from './api/router.js';
import {
  type BridgeEventPayload,
  type BridgeInfoPayload,
  type ConfigDiff,
  type DevicesListEntry,
  devicePayload,
  isMomentary,
  RESERVED_SUBTOPICS,
  topics,
} from './api/topics.js';
import { startBroker } from './broker/broker.js';
import type { EmbeddedBroker, PublishOptions } from './broker/types.js';
import { ConfigEditError, editedText, parseForEdit } from './config/edit.js';
import { ConfigError, formatIssue } from './config/errors.js';
import { parseConfigText, readConfigText } from './config/load.js';
import {
  buildConfigSchema,
  configSchema,
  type DeviceConfig,
  type GatewayConfig,
  RESTART_ONLY,
} from './config/schema.js';
import { adapterDisabled, devicesOnDisabledAdapters, strandedDevicesIssue } from './config/stranded-devices.js';
import { suggestDeviceId, uniqueDeviceId } from './config/suggested-id.js';
import { writeFileAtomic } from './config/write-atomic.js';
import { logTail } from './dashboard/log-tail.js';
import type { Dashboard } from './dashboard/server.js';
import { prepareDataDir, releaseDataDir } from './datadir.js';
import { deferred } from './deferred.js';
import { filterAttributes } from './devices/attribute-filter.js';
import { blockingEntry } from './devices/blocklist.js';
import { configuredAndBlocked } from './devices/configured-blocked.js';
import { eventPayload } from './devices/event-payload.js';
import { heardAtFromLastSeen, parseLastSeen } from './devices/last-seen.js';
import { type DeviceRecord, DeviceRegistry } from './devices/registry.js';
import { type Pacing, pacingOf, ReportPacer } from './devices/report-pacer.js';
import { reportedAs, sameDevice } from './devices/reported-as.js';
import {
  fitState,
  type StateLimitSetting,
  type StateLimits,
  UPDATE_KEY,
  withinStateLimits,
} from './devices/state-limits.js';
import { FirmwareCheck } from './firmware-check.js';
import type { DiscoveryDevice } from './homeassistant/discovery.js';
import { stableIdentity } from './homeassistant/identity.js';
import type { HomeAssistantDiscovery } from './homeassistant/index.js';
import { type HttpServer, startHttpServer } from './http.js';
import { type Logger, ModuleLoggers, parseModuleLevels, rootLogLevel } from './logger.js';
import { BRIDGE_REQUEST, createMetrics, type GatewayMetrics, NO_ADAPTER } from './metrics.js';
import { RateLimitedLog } from './rate-limited-log.js';
import type { UpstreamBridgeHandle } from './upstream/index.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  logger: Logger;
  configPath?: string | undefined;
  /** Adapter modules beside the built-in ones (tests, plugins); their kinds join the config schema. */
  adapterModules?: readonly AdapterModule<unknown>[] | undefined;
  /** Environment for `${VAR}` substitution on reload and `LOG_LEVELS` (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Restarts the gateway (`bridge/request/restart`): stop, read the config file, start. Given by the process that
   * owns the gateway (`zephyr2mqtt run`); without it the request is refused. */
  restart?: (() => void) | undefined;
}

export interface ApplyOptions {
  /** A device whose id changed: its state, last_seen and availability move to the new id. */
  renamed?: { from: string; to: string };
}

/** A device's availability as a transport, the config or the timeout decides it. */
interface AvailabilityChange {
  /** Said in the log line when the availability changes. */
  readonly why: string;
  /** The caller has stamped last_seen already. */
  readonly lastSeenSet?: boolean;
  /** Online at least this long (an LwM2M lifetime), whatever availability_timeout says. */
  readonly validForMs?: number | undefined;
  /** When the device was last heard, if earlier than now. */
  readonly lastHeard?: Date | undefined;
}

/** Every message a device sends says it is online: one object for all, not one per message. */
const HEARD: AvailabilityChange = { why: 'heard from it' };
const HEARD_STAMPED: AvailabilityChange = { ...HEARD, lastSeenSet: true };

/** Shortest interval between two bridge/devices publications. */
const DEVICES_MIN_INTERVAL_MS = 200;

/** Availability is checked at a quarter of the shortest timeout, within these bounds. */
const AVAILABILITY_CHECK_MIN_MS = 250;
const AVAILABILITY_CHECK_MAX_MS = 5_000;

/** bridge/request/restart answers first, then restarts (as Zigbee2MQTT does, after 500 ms). */
const RESTART_DELAY_MS = 500;

/** Adapter status changes (ports opening and closing) gathered into one bridge/info. */
const INFO_DEBOUNCE_MS = 250;

/** Unknown devices one address may announce a minute (device_seen_unknown), each name once. */
const SEEN_NAMES_PER_ADDRESS = 8;

export class Gateway {
  readonly metrics: GatewayMetrics = createMetrics();
  readonly devices = new DeviceRegistry();
  readonly router: RequestRouter<Gateway>;
  readonly modules: readonly AdapterModule<unknown>[];
  readonly configSchema: typeof configSchema;
  readonly #hosts = new Map<string, AdapterHost>();
  #configQueue: Promise<unknown> = Promise.resolve();
  readonly #rateLog: RateLimitedLog;
  /** Failed bridge requests, by request name. */
  readonly #requestLog: RateLimitedLog;
  readonly #loggers: ModuleLoggers;
  readonly #unknownSeen = new Map<string, number>();
  /** Per transport and address: how many names it announced in the minute since `since`. */
  readonly #seenNames = new Map<string, { since: number; count: number }>();
  readonly #disabledDevicesOf = new WeakMap<GatewayConfig, DeviceSeen[]>();
  #broker: EmbeddedBroker | undefined;
  #upstream: UpstreamBridgeHandle | undefined;
  #http: HttpServer | undefined;
  #devicesPublish: Promise<void> | undefined;
  /** performance.now() of the last bridge/devices publication. */
  #devicesPublishedAt = Number.NEGATIVE_INFINITY;
  #dashboard: Dashboard | undefined;
  #homeAssistant: HomeAssistantDiscovery | undefined;
  #availabilityTimer: NodeJS.Timeout | undefined;
  /** performance.now() at which permit join ends: NTP stepping the wall clock must not end or extend it. */
  #permitJoinUntil = 0;
  #bridgeLogging: BridgeLogging | undefined;
  /** What the adapter says of each device entry (a reload makes new entries): bridge/devices asks at every change. */
  readonly #updatable = new WeakMap<object, boolean>();
  readonly #identities = new WeakMap<object, string>();
  /** Restart-only settings a reload changed in the file and that still run with their old values. */
  #restartRequired: readonly string[] = [];
  /** The device added last by a reload or device/add (device/rename's `last`), under its current id. */
  #lastJoined: string | undefined;
  #permitJoinTimer: NodeJS.Timeout | undefined;
  #infoTimer: NodeJS.Timeout | undefined;
  #started = false;
  #messagesReceived = 0;
  #unsubscribes: Array<() => void> = [];
  /** Reads the newest image of each device's firmware/<id>/ at start-up and for devices a reload adds or changes. */
  #firmwareCheck: FirmwareCheck | undefined;
  readonly #pacer = new ReportPacer((id, keys) => this.#publishHeld(id, keys));

  constructor(
    public config: GatewayConfig,
    readonly options: GatewayOptions,
  ) {
    this.modules = [...adapterModules, ...(options.adapterModules ?? [])] as readonly AdapterModule<unknown>[];
    this.configSchema = gatewayConfigSchema(options.adapterModules);
    this.#loggers = new ModuleLoggers(options.logger, this.#moduleLevels());
    this.#rateLog = new RateLimitedLog(this.moduleLogger('decode'));
    this.#requestLog = new RateLimitedLog(this.moduleLogger('api'));
    this.router = createRequestRouter();
    registerAdapterGauges(this.metrics.registry, () => this.#enabledAdapterStatuses());
  }

  /** The logger of `module`, at the level `gateway.log_levels` or `LOG_LEVELS` gives it (a reload changes it). */
  moduleLogger(module: string): Logger {
    return this.#loggers.get(module);
  }

  #moduleLevels(): Record<string, string> {
    return {
      ...this.config.gateway.log_levels,
      ...parseModuleLevels((this.options.env ?? process.env).LOG_LEVELS),
    };
  }

  /** Device messages the adapters received since start-up (all of them, also counted per adapter in /metrics). */
  get messagesReceived(): number {
    return this.#messagesReceived;
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

  /** Starts everything, or fails with every part that did start closed again (so the process can exit). */
  async start(): Promise<void> {
    const started = performance.now();
    this.#warnConfiguredBlocked();
    this.#warnDevicesOnDisabledAdapters();
    const admission = deferred();
    // A start that fails with no client waiting (or before the broker exists) is not an unhandled rejection.
    admission.promise.catch(() => {});
    try {
      await prepareDataDir(this.dataDir, this.moduleLogger('datadir'));
      // Loaded before the broker listens so the bridge's interceptor is in place before any client publishes:
      // a publish acknowledged before it would never be queued upstream.
      const upstreamFactory = this.config.bridge.enabled
        ? (await import('./upstream/index.js')).createUpstreamBridge
        : undefined;
      this.#broker = await startBroker({
        config: this.config.broker,
        logger: this.moduleLogger('broker'),
        dataDir: this.dataDir,
        registry: this.metrics.registry,
        // Journal writes failing (disk full) and recovering; published once the broker is up to carry them.
        onPersistenceEvent: (e) => {
          if (this.#broker) this.event('broker', { ...e });
        },
        admitClientsWhen: admission.promise,
      });
      if (upstreamFactory) await this.#startUpstream(upstreamFactory);
      // The dashboard follows the gateway through its MQTT topics: subscribe before anything is published.
      // Optional parts are imported only when enabled: they cost memory (mqtt.js alone is tens of MB).
      if (this.config.http.enabled && this.config.http.dashboard) {
        const { createDashboard } = await import('./dashboard/index.js');
        this.#dashboard = createDashboard({
          broker: this.#broker,
          brokerConfig: this.config.broker,
          baseTopic: this.base,
          logger: this.moduleLogger('dashboard'),
          firmware: { dataDir: this.dataDir, updatableTransport: (id) => this.#firmwareTransport(id) },
          trustedProxies: this.config.http.trusted_proxies,
        });
      }
      this.devices.lastSeenFormat = this.config.api.last_seen;
      this.devices.configure(this.config.devices);
      this.metrics.devicesConfigured.set(this.config.devices.length);
      this.#subscribeApi();
      await this.publishJson(topics.bridgeState(this.base), { state: 'online' }, { retain: true, qos: 1 });
      const quiet = await this.#restoreDevices();
      // From here a client reads this run's bridge/state and availability, and its requests are answered.
      admission.resolve();
      if (this.config.http.enabled) {
        this.#http = await startHttpServer(this, this.config.http, this.#dashboard ? [this.#dashboard.route] : []);
      }
      for (const module of this.modules) {
        await this.#startAdapter(module);
        await this.#publishStillOffline(quiet, module.kind);
      }
      await this.#publishStillOffline(quiet); // devices of a transport no module serves
      await this.#syncHomeAssistant();
    } catch (err) {
      admission.reject(err);
      // bridge/state (and restored availability) may already say online: the store outlives this process.
      if (this.#broker) await this.#publishOffline();
      await this.#teardown();
      throw err;
    }
    // Only now: a persistent upstream session delivers the commands kept for us right after the CONNACK, and the
    // API and the adapters that execute them must be listening by then.
    this.#upstream?.connect();
    this.#started = true;
    this.#bridgeLogging = new BridgeLogging(
      (message) => void this.publishJson(topics.bridgeLogging(this.base), message),
      this.config.api.bridge_logging,
    );
    this.#bridgeLogging.start(logTail);
    this.#scheduleAvailabilityChecks();
    await this.publishDevices();
    await this.publishInfo();
    const http = this.httpAddress;
    this.logger.info(
      {
        ms: Math.round(performance.now() - started),
        version: VERSION,
        listeners: this.broker.addresses(),
        http,
        ...(http && this.#dashboard ? { dashboard: dashboardUrl(http) } : {}),
        adapters: adapterSummary(this.adapterStatuses()),
      },
      'zephyr2mqtt started',
    );
    if (this.config.devices.length === 0) this.logger.info(this.#onboardingHint());
    this.#firmwareCheck = new FirmwareCheck({
      dataDir: this.dataDir,
      logger: this.moduleLogger('firmware'),
      updatableTransport: (id) => this.#firmwareTransport(id),
      state: (id) => this.devices.get(id)?.state,
      publishStatus: (id, values) => {
        this.#mergeAndPublish(id, values, false);
      },
    });
    void this.#firmwareCheck.check(this.devices.all().map((r) => r.config.id));
  }

  /** For a first run: how to get from an empty device list to a device publishing. */
  #onboardingHint(): string {
    const permitJoin = `publish {"value":120} to ${this.base}/bridge/request/permit_join`;
    return (
      `no devices configured: to add one, ${this.#dashboard ? 'press Permit join in the dashboard or ' : ''}` +
      `${permitJoin}, then send the suggested_config of a device_seen_unknown event on ${this.base}/bridge/event ` +
      `to ${this.base}/bridge/request/device/add`
    );
  }

  /** Each device starts from the state it last published (retained, so kept by the broker's persistence) and its
   * availability is decided from that last_seen: after a crash the retained "online" would otherwise stay until
   * the device talks again, and the next report would replace the whole state instead of merging into it.
   * Returns the devices found offline: theirs is published once the adapters have started (#publishStillOffline). */
  async #restoreDevices(): Promise<Set<string>> {
    const quiet = new Set<string>();
    const wallNow = Date.now();
    const monoNow = performance.now();
    for (const rec of this.devices.all()) {
      const id = rec.config.id;
      const retained = withoutMoments(parseRetainedState(this.broker.retained(topics.deviceState(this.base, id))));
      const state = retained && withoutInterruptedUpdate(retained);
      if (state && !this.#retainOf(id)) {
        // retain: false set while the gateway was down: the retained state is cleared, and not restored.
        await this.#clearRetainedState(id, Object.keys(state));
      } else if (state) {
        const seen = parseLastSeen(state.last_seen);
        this.devices.restore(id, state, seen, heardAtFromLastSeen(seen, wallNow, monoNow));
        if (state !== retained) await this.#publishInterruptedUpdate(id, state);
        await this.#dropFiltered(id); // filtered_attributes added while the gateway was down
      }
      const heardAt = rec.heardAt; // restore() updates this record
      const online =
        !rec.config.disabled && heardAt !== null && monoNow - heardAt <= this.#timeoutSeconds(rec.config) * 1000;
      this.devices.setOnline(id, online);
      if (online) await this.#publishAvailability(id, true);
      else quiet.add(id);
    }
    this.#countOnline();
    return quiet;
  }

  /**
   * The offline found at restore, published once the device's adapter has started (`transport`; all that are left
   * without one): an adapter may vouch for a device as it starts (a valid LwM2M registration restored from disk), and
   * an "offline" published before it would flap the device's availability (offline, then online a moment later) for
   * every subscriber and the upstream broker on each restart. Those handled are taken out of `quiet`.
   */
  async #publishStillOffline(quiet: Set<string>, transport?: string): Promise<void> {
    for (const id of [...quiet]) {
      const rec = this.devices.get(id);
      if (rec && transport !== undefined && rec.config.transport !== transport) continue;
      quiet.delete(id);
      if (!rec || rec.online) continue;
      await this.#publishAvailability(id, false);
    }
  }

  /** A firmware upload that a crash (or kill -9) cut short left "updating" behind: published once as failed. */
  async #publishInterruptedUpdate(id: string, state: StateValues): Promise<void> {
    this.logger.warn({ device: id }, `device "${id}": its firmware update was interrupted by a gateway restart`);
    await this.publishJson(topics.deviceState(this.base, id), state, this.#stateOptions(id));
    if (this.config.api.property_topics && isPropertyTopicName(UPDATE_KEY))
      await this.publish(topics.deviceProperty(this.base, id, UPDATE_KEY), propertyText(state[UPDATE_KEY]), {
        retain: this.#retainOf(id),
      });
  }

  #countOnline(): void {
    this.metrics.devicesOnline.set(this.devices.all().filter((d) => d.online).length);
  }

  async #teardown(): Promise<void> {
    this.#bridgeLogging?.stop();
    this.#bridgeLogging = undefined;
    this.#firmwareCheck?.stop();
    this.#firmwareCheck = undefined;
    this.#homeAssistant?.stop();
    this.#homeAssistant = undefined;
    this.#dashboard?.stop();
    this.#dashboard = undefined;
    for (const host of [...this.#hosts.values()].reverse()) await host.stop();
    this.#hosts.clear();
    for (const unsub of this.#unsubscribes) unsub();
    this.#unsubscribes = [];
    await this.#http?.close().catch(() => {});
    // No client publish may be acknowledged once the bridge stopped queueing for the upstream.
    if (this.#upstream) await this.#broker?.disconnectClients().catch(() => {});
    await this.#upstream?.stop().catch((err: unknown) => this.logger.error({ err }, 'upstream bridge stop failed'));
    this.#upstream = undefined;
    await this.#broker?.close().catch(() => {});
    this.metrics.close();
    await releaseDataDir(this.dataDir);
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (this.#availabilityTimer) clearInterval(this.#availabilityTimer);
    if (this.#permitJoinTimer) clearTimeout(this.#permitJoinTimer);
    if (this.#infoTimer) clearTimeout(this.#infoTimer);
    for (const host of [...this.#hosts.values()].reverse()) await host.stop();
    this.#hosts.clear();
    await this.#pacer.releaseAll(); // the last values of throttled and debounced devices
    await this.#publishOffline();
    await this.#teardown();
    this.logger.info('zephyr2mqtt stopped');
  }

  /** Every device and the bridge offline, retained: what clients read until the next start says otherwise. */
  async #publishOffline(): Promise<void> {
    for (const rec of this.devices.all()) await this.#publishAvailability(rec.config.id, false);
    await this.publishJson(topics.bridgeState(this.base), { state: 'offline' }, { retain: true, qos: 1 });
  }

  // ---- config: reload and onboarding -------------------------------------------------------------

  /** Parse config text with this gateway's schema (its adapter modules) and environment. */
  parseConfig(text: string, file = this.options.configPath ?? 'config'): GatewayConfig {
    return parseConfigText(text, file, this.options.env ?? process.env, {
      schema: this.configSchema,
      onNote: (note) => this.logger.info(note),
    });
  }

  /** Re-read the config file and apply it (SIGHUP, bridge/request/config/reload). Invalid: rejected, reported. */
  reload(source: string): Promise<ConfigDiff> {
    return this.#serialized(async () => {
      const file = this.#requireConfigPath();
      try {
        const next = this.parseConfig(await readConfigText(file), file);
        const diff = await this.applyConfig(next);
        this.metrics.configReloads.inc({ result: 'ok' });
        this.logger.info({ source, ...diff }, 'config reloaded');
        this.event('config_reloaded', { source, ...diff });
        return diff;
      } catch (err) {
        this.metrics.configReloads.inc({ result: 'rejected' });
        const message = err instanceof Error ? err.message : String(err);
        this.logger.error({ source, error: message }, 'config reload rejected; the running config stays in force');
        this.event('config_error', {
          source,
          error: message,
          ...(err instanceof ConfigError ? { issues: err.issues } : {}),
        });
        throw err;
      }
    });
  }

  /** Asks the owning process to restart the gateway a moment from now, after the request's response went out;
   * refused while the config file has problems (the restart would only start the running config again). */
  async requestRestart(): Promise<void> {
    const restart = this.options.restart;
    if (!restart) throw new RequestError('this gateway cannot restart itself: it does not run under `zephyr2mqtt run`');
    // The restart reads the file again: from one with problems it would only start the running config again, and
    // the changes the restart was asked for would silently not apply.
    const file = this.#requireConfigPath();
    try {
      this.parseConfig(await readConfigText(file), file);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new RequestError(`not restarting: the config file has problems to fix first: ${listIssues(file, err)}`);
      throw err;
    }
    setTimeout(restart, RESTART_DELAY_MS).unref();
  }

  /** The id of the device a reload or device/add added last, if it is still configured (device/rename's `last`). */
  lastJoinedDevice(): string | undefined {
    return this.#lastJoined;
  }

  /**
   * The id of the device a request names: its id, or its ieee_address in bridge/devices (Zigbee2MQTT's requests
   * take either). An id always wins; a name that fits neither (or the identity of two devices) is returned as it
   * is, for the caller's "unknown device".
   */
  deviceId(ref: string): string {
    if (this.devices.get(ref)) return ref;
    const named = this.devices.all().filter((rec) => this.#identity(rec.config) === ref);
    return named.length === 1 && named[0] ? named[0].config.id : ref;
  }

  /** The device's stable identity (Home Assistant's unique_id base), else its id: bridge/devices' ieee_address. */
  #identity(config: DeviceConfig): string {
    let identity = this.#identities.get(config);
    if (identity === undefined) {
      identity = stableIdentity(config.transport, config as Record<string, unknown>) ?? config.id;
      this.#identities.set(config, identity);
    }
    return identity;
  }

  /** The device's transport when its adapter can update its firmware (device/ota_update), else undefined. */
  #firmwareTransport(id: string): string | undefined {
    const config = this.devices.get(id)?.config;
    if (!config || config.disabled) return undefined;
    let updatable = this.#updatable.get(config);
    if (updatable === undefined) {
      const module = this.modules.find((m) => m.kind === config.transport);
      updatable = module?.firmwareUpdates?.(config as Record<string, unknown>) === true;
      this.#updatable.set(config, updatable);
    }
    return updatable ? config.transport : undefined;
  }

  /** Edit the config file (comments kept), validate the result, write it atomically, then apply it. */
  editConfig(
    edit: (doc: Document) => void,
    what: string,
    options: ApplyOptions = {},
  ): Promise<ConfigDiff & { restart_required?: string[] }> {
    return this.#serialized(async () => {
      const file = this.#requireConfigPath();
      const current = await readConfigText(file);
      try {
        this.parseConfig(current, file);
      } catch (err) {
        // Edited by hand and not reloaded, say: the problem is not the requested change.
        if (err instanceof ConfigError)
          throw new RequestError(`the config file has problems to fix first: ${listIssues(file, err)}`);
        throw err;
      }
      const doc = parseForEdit(current);
      try {
        edit(doc);
      } catch (err) {
        if (err instanceof ConfigEditError) throw new RequestError(err.message);
        throw err;
      }
      const text = editedText(doc);
      let next: GatewayConfig;
      try {
        next = this.parseConfig(text, file);
      } catch (err) {
        if (err instanceof ConfigError)
          throw new RequestError(`the change would make the config invalid: ${listIssues(file, err)}`);
        throw err;
      }
      await writeFileAtomic(file, text);
      const diff = await this.applyConfig(next, options);
      this.metrics.configReloads.inc({ result: 'ok' });
      this.logger.info({ ...diff }, what);
      return diff;
    });
  }

  #requireConfigPath(): string {
    if (!this.options.configPath) throw new RequestError('the gateway runs without a config file');
    return this.options.configPath;
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#configQueue.then(fn, fn);
    this.#configQueue = run.catch(() => {});
    return run;
  }

  /** Apply a new, already validated config without dropping MQTT clients. */
  async applyConfig(
    candidate: GatewayConfig,
    options: ApplyOptions = {},
  ): Promise<ConfigDiff & { restart_required?: string[] }> {
    const restart = RESTART_ONLY.filter(
      (key) => JSON.stringify(pick(candidate, key)) !== JSON.stringify(pick(this.config, key)),
    );
    if (restart.length > 0)
      this.logger.warn({ keys: restart }, `these settings take effect on the next restart: ${restart.join(', ')}`);
    // A later reload that puts a key back as it runs takes it off the list.
    this.#restartRequired = restart;
    const next = keepRestartOnly(candidate, this.config);
    const limitsLowered =
      next.api.max_state_properties < this.config.api.max_state_properties ||
      next.api.max_state_bytes < this.config.api.max_state_bytes;
    if (next.gateway.log_level !== this.config.gateway.log_level)
      this.logger.level = rootLogLevel(next.gateway.log_level, this.options.env ?? process.env);
    this.config = next;
    this.#warnConfiguredBlocked();
    this.#warnDevicesOnDisabledAdapters();
    this.#loggers.setLevels(this.#moduleLevels());
    this.#bridgeLogging?.setLevel(next.api.bridge_logging);
    const propertiesBefore = new Map(this.devices.all().map((r) => [r.config.id, Object.keys(r.state)]));
    const retainedBefore = new Set(this.devices.all().flatMap((r) => (r.config.retain !== false ? [r.config.id] : [])));
    const renamed = options.renamed;
    await this.#pacer.releaseAll(); // published with the pacing they were held under; the new pacing starts afresh
    this.devices.lastSeenFormat = next.api.last_seen;
    const diff = this.devices.configure(next.devices, renamed ? { [renamed.to]: renamed.from } : {});
    this.metrics.devicesConfigured.set(next.devices.length);
    for (const id of diff.removed) {
      this.#pacer.forget(id);
      if (renamed && id === renamed.from) await this.#homeAssistant?.deviceRenamed(renamed.from, renamed.to);
      else await this.#homeAssistant?.deviceRemoved(id, propertiesBefore.get(id) ?? []);
      await this.#clearRetainedState(id, propertiesBefore.get(id) ?? []);
      await this.publish(topics.deviceAvailability(this.base, id), '', { retain: true });
      if (id !== renamed?.from) this.event('device_left', { id });
      if (id === this.#lastJoined) this.#lastJoined = id === renamed?.from ? renamed.to : undefined;
    }
    for (const id of diff.added) {
      if (id === renamed?.to) continue;
      this.#lastJoined = id;
      this.event('device_joined', { id });
      // Offline until its adapter or its first message says otherwise.
      this.#onAvailability(id, false, { why: 'just added: until it is heard from' });
    }
    // Offline at once, as after a restart: its adapter no longer serves it, and availability_timeout could take
    // many minutes to say so.
    for (const id of diff.changed)
      if (this.devices.get(id)?.config.disabled) this.#onAvailability(id, false, { why: 'disabled in the config' });
    const carried = renamed ? this.devices.get(renamed.to) : undefined;
    if (carried) await this.#publishCarried(carried);
    if (limitsLowered) await this.#trimStates();
    for (const id of diff.changed) await this.#dropFiltered(id);
    // retain turned off: the last retained state would otherwise be handed to every new subscriber for ever.
    for (const id of diff.changed)
      if (retainedBefore.has(id) && !this.#retainOf(id))
        await this.#clearRetainedState(id, propertiesBefore.get(id) ?? []);
    for (const module of this.modules) {
      const host = this.#hosts.get(module.kind);
      const adapterConfig = this.#adapterConfig(module.kind);
      const enabled = !this.#adapterDisabled(module.kind);
      if (host && enabled) await host.reconfigure(adapterConfig);
      else if (host && !enabled) {
        await host.stop();
        this.#hosts.delete(module.kind);
        // Offline at once: nothing serves its devices now, and an adapter's stop does not say so (a restart that
        // serves them again must not flap them), while a transport's vouch (an LwM2M lifetime) could last hours.
        for (const rec of this.devices.all())
          if (rec.config.transport === module.kind)
            this.#onAvailability(rec.config.id, false, { why: `adapter ${module.kind} disabled` });
      } else if (!host && enabled) await this.#startAdapter(module);
    }
    this.#countOnline();
    if (this.#upstream) await this.#upstream.reconfigure(next.bridge);
    else if (next.bridge.enabled) await this.#startUpstream();
    this.#scheduleAvailabilityChecks();
    await this.#syncHomeAssistant();
    for (const id of diff.changed) await this.#homeAssistant?.deviceUpdated(this.#discoveryDevice(id), true);
    await this.publishDevices();
    await this.publishInfo();
    void this.#firmwareCheck?.check([...diff.added, ...diff.changed]);
    return restart.length > 0 ? { ...diff, restart_required: [...restart] } : diff;
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

  /**
   * bridge/devices carries the whole list, so bursts of changes (a registration storm of 1,000 LwM2M clients)
   * are coalesced: at most one publish per DEVICES_MIN_INTERVAL_MS, always with the latest list.
   */
  publishDevices(): Promise<void> {
    if (this.#devicesPublish) return this.#devicesPublish;
    const wait = Math.max(0, this.#devicesPublishedAt + DEVICES_MIN_INTERVAL_MS - performance.now());
    this.#devicesPublish = new Promise<void>((resolve) => {
      setTimeout(() => {
        this.#devicesPublish = undefined;
        this.#devicesPublishedAt = performance.now();
        this.#publishDevicesNow().then(resolve, resolve);
      }, wait);
    });
    return this.#devicesPublish;
  }

  async #publishDevicesNow(): Promise<void> {
    if (!this.#broker) return;
    const list: DevicesListEntry[] = this.devices.all().map((rec) => ({
      id: rec.config.id,
      friendly_name: rec.config.id,
      ieee_address: this.#identity(rec.config),
      ...(rec.config.name ? { name: rec.config.name } : {}),
      ...(rec.config.description ? { description: rec.config.description } : {}),
      transport: rec.config.transport,
      ...deviceAddress(rec.config),
      availability: rec.online ? 'online' : 'offline',
      last_seen: rec.lastSeen?.toISOString() ?? null,
      disabled: rec.config.disabled,
      supported: true,
      definition: {
        supports_ota: this.#firmwareTransport(rec.config.id) !== undefined,
        // Zigbee2MQTT: "A device definition will always have an exposes and options property".
        exposes: [],
        options: [],
      },
      info: rec.info,
    }));
    await this.publishJson(topics.bridgeDevices(this.base), list, { retain: true });
  }

  info(): BridgeInfoPayload {
    const perTransport: Record<string, number> = {};
    for (const d of this.config.devices) perTransport[d.transport] = (perTransport[d.transport] ?? 0) + 1;
    return {
      version: VERSION,
      gateway_id: this.config.gateway.id,
      base_topic: this.base,
      permit_join: this.permitJoin(),
      permit_join_timeout: Math.max(0, Math.ceil((this.#permitJoinUntil - performance.now()) / 1000)),
      ...(this.permitJoin()
        ? { permit_join_end: Math.round(Date.now() + this.#permitJoinUntil - performance.now()) }
        : {}),
      restart_required: this.#restartRequired.length > 0,
      log_level: this.logger.level,
      devices: this.devices.all().length,
      listeners: this.#broker?.addresses() ?? [],
      adapters: this.adapterStatuses(),
      ...(this.#upstream ? { upstream: this.#upstream.status() } : {}),
      config: {
        version: this.config.version,
        devices_per_transport: perTransport,
        adapters_enabled: this.modules.map((m) => m.kind).filter((k) => !this.#adapterDisabled(k)),
        property_topics: this.config.api.property_topics,
        bridge_enabled: (this.config.bridge as { enabled?: boolean }).enabled === true,
        http: {
          enabled: this.config.http.enabled,
          host: this.config.http.host,
          port: this.#http?.address().port ?? this.config.http.port,
        },
      },
    };
  }

  /** bridge/info once for a burst of adapter status changes (a port opening, closing, failing to open). */
  #scheduleInfo(): void {
    if (this.#infoTimer || !this.#started) return;
    this.#infoTimer = setTimeout(() => {
      this.#infoTimer = undefined;
      if (this.#started) void this.publishInfo();
    }, INFO_DEBOUNCE_MS);
    this.#infoTimer.unref();
  }

  async publishInfo(): Promise<void> {
    await this.publishJson(topics.bridgeInfo(this.base), this.info(), { retain: true });
  }

  /** Every adapter the gateway has, a disabled one as `stopped` (so an app can tell it from a missing one). */
  adapterStatuses(): BridgeInfoPayload['adapters'] {
    return Object.fromEntries(
      this.modules.map((module) => [
        module.kind,
        this.#hosts.get(module.kind)?.status() ?? { state: 'stopped' as const, reason: 'disabled in the config' },
      ]),
    );
  }

  /** The status of each adapter the gateway runs (a disabled one has none), for /metrics. */
  #enabledAdapterStatuses(): Map<string, AdapterStatus> {
    return new Map([...this.#hosts].map(([kind, host]) => [kind, host.status()]));
  }

  /** The upstream bridge's status (for bridge/info, /readyz and the dashboard), or undefined when off. */
  upstreamStatus(): Record<string, unknown> | undefined {
    return this.#upstream?.status();
  }

  async #startUpstream(factory?: typeof import('./upstream/index.js').createUpstreamBridge): Promise<void> {
    const createUpstreamBridge = factory ?? (await import('./upstream/index.js')).createUpstreamBridge;
    // No await between here and upstream.start(): it registers its broker interceptor synchronously.
    const upstream = createUpstreamBridge({
      config: this.config.bridge,
      broker: this.broker,
      logger: this.moduleLogger('upstream'),
      dataDir: this.dataDir,
      gatewayId: this.config.gateway.id,
      baseTopic: this.base,
      registry: this.metrics.registry,
      event: (type, data) => {
        this.event(type as BridgeEventPayload['type'], data);
        // Connection and queue state changes show in bridge/info (and so in the dashboard).
        if (this.#started) void this.publishInfo();
      },
    });
    // At start-up the gateway connects it once everything is up (start()); on a reload everything is up already.
    if (this.#started) await upstream.start();
    else await upstream.open();
    this.#upstream = upstream;
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
    return this.#permitJoinUntil > performance.now();
  }

  setPermitJoin(seconds: number): void {
    this.#permitJoinUntil = seconds > 0 ? performance.now() + seconds * 1000 : 0;
    this.#unknownSeen.clear();
    if (this.#permitJoinTimer) clearTimeout(this.#permitJoinTimer);
    this.#permitJoinTimer = undefined;
    if (seconds > 0) {
      // bridge/info must say when it turned itself off.
      this.#permitJoinTimer = setTimeout(() => {
        this.#permitJoinTimer = undefined;
        this.#permitJoinUntil = 0; // a timer may fire a millisecond before performance.now() reaches the deadline
        if (this.#started) void this.publishInfo();
      }, seconds * 1000);
      this.#permitJoinTimer.unref();
    }
    void this.publishInfo();
  }

  // ---- adapters ---------------------------------------------------------------------------------

  #adapterConfig(kind: string): unknown {
    return (this.config.adapters as Record<string, unknown>)[kind] ?? {};
  }

  #adapterDisabled(kind: string): boolean {
    return adapterDisabled(this.config, kind);
  }

  async #startAdapter(module: AdapterModule<unknown>): Promise<void> {
    if (this.#adapterDisabled(module.kind)) return;
    const config = this.#adapterConfig(module.kind);
    const logger = this.moduleLogger(module.kind);
    this.metrics.adapterEnabled(module.kind);
    const host = new AdapterHost(module, config, this.#contextFor(module.kind, logger), logger, {
      restarting: () => this.metrics.adapterRestarts.inc({ adapter: module.kind }),
      statusChanged: (status) => {
        if (!this.#started) return; // the start sequence publishes bridge/info itself
        this.event('adapter_status', { adapter: module.kind, ...status });
        void this.publishInfo();
      },
    });
    this.#hosts.set(module.kind, host);
    await host.start();
  }

  adapterFor(deviceId: string): { device: DeviceConfig; host: AdapterHost } {
    const rec = this.devices.get(deviceId);
    if (!rec) throw new RequestError(`unknown device "${deviceId}"`);
    if (rec.config.disabled) throw new RequestError(`device "${deviceId}" is disabled in the config`);
    const kind = rec.config.transport;
    if (this.#adapterDisabled(kind))
      throw new RequestError(`the ${kind} adapter is disabled in the config (adapters.${kind}.enabled: false)`);
    const host = this.#hosts.get(kind);
    if (!host?.adapter) throw new RequestError(`the ${kind} adapter is not running`);
    return { device: rec.config, host };
  }

  /** What the adapter's instances report through; its host gives each instance its own view of it, and takes their
   * fatal errors itself. */
  #contextFor(kind: string, logger: Logger): AdapterContext {
    const saysSo = `adapter ${kind} says so`;
    return {
      kind,
      logger,
      dataDir: AdapterHost.dataDirFor(this.dataDir, kind),
      devices: () => this.devices.ofTransport(kind).filter((d) => !d.disabled) as never,
      permitJoin: () => this.permitJoin(),
      telemetry: (id, values) => {
        // What `log_levels: {<adapter>: debug}` is for: every value a device sent, as it arrived.
        if (logger.isLevelEnabled('debug')) logger.debug({ device: id, values }, 'device data');
        return this.#onTelemetry(id, values);
      },
      deviceStatus: (id, values) => {
        if (logger.isLevelEnabled('debug')) logger.debug({ device: id, values }, 'device status');
        this.#mergeAndPublish(id, values, false);
      },
      availability: (id, online, validForMs, lastHeard) =>
        this.#onAvailability(id, online, { validForMs, lastHeard, why: saysSo }),
      deviceInfo: (id, info) => {
        if (this.devices.mergeInfo(id, info)) void this.publishDevices();
      },
      deviceSeen: (seen) => this.#onDeviceSeen(seen, kind),
      freeDeviceId: (base) => this.#freeDeviceId(base),
      publish: (id, subtopic, payload, opts) => {
        const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
        void this.publish(topics.deviceSub(this.base, id, subtopic), body, opts);
      },
      decodeError: (reason, detail) => {
        // The reason is a metric label: free text (a device's bytes in it) would make a new series each time.
        const label = /^[a-z][a-z0-9_]{0,47}$/.test(reason) ? reason : 'other';
        this.metrics.decodeErrors.inc({ adapter: kind, reason: label });
        // Per configured device, so one noisy board does not hide another's problems (ids a device sent are not
        // keys: they could be endless).
        const device = detail?.deviceId !== undefined && this.devices.get(detail.deviceId) ? detail.deviceId : '';
        this.#rateLog.warn(
          `${kind}:${label}:${device}`,
          {
            adapter: kind,
            reason,
            device: detail?.deviceId,
            bytes: detail?.bytes ? Buffer.from(detail.bytes.subarray(0, 64)).toString('hex') : undefined,
            err: detail?.error ?? (label === reason ? undefined : reason),
          },
          'could not decode device data',
        );
      },
      countMessage: (direction) => {
        if (direction === 'in') this.#messagesReceived++;
        this.metrics.messages.inc({ adapter: kind, direction });
      },
      statusChanged: () => this.#scheduleInfo(),
    };
  }

  /** Start or stop Home Assistant discovery to match the config. */
  async #syncHomeAssistant(): Promise<void> {
    const config = this.config.homeassistant;
    if (config.enabled && !this.#homeAssistant) {
      const { HomeAssistantDiscovery } = await import('./homeassistant/index.js');
      this.#homeAssistant = new HomeAssistantDiscovery({
        config,
        gatewayId: this.config.gateway.id,
        baseTopic: this.base,
        publish: (topic, payload, opts) => this.publish(topic, payload, opts),
        subscribe: (filter, handler) => this.broker.subscribe(filter, handler),
        retained: () => this.broker.retainedMessages(),
        devices: () => this.devices.all().map((r) => this.#discoveryDevice(r.config.id)),
      });
      await this.#homeAssistant.start();
    } else if (!config.enabled && this.#homeAssistant) {
      this.#homeAssistant.stop();
      this.#homeAssistant = undefined;
    }
  }

  #discoveryDevice(id: string): DiscoveryDevice {
    const rec = this.devices.get(id);
    return {
      id,
      ...(rec?.config.name ? { name: rec.config.name } : {}),
      transport: rec?.config.transport ?? 'unknown',
      state: rec?.state ?? {},
      info: rec?.info ?? {},
      // Its match keys (address, serial number, endpoint...) keep Home Assistant's unique_ids across a rename.
      ...(rec ? { config: rec.config as Record<string, unknown> } : {}),
    };
  }

  /** Merges and publishes a device's values, or says why it refused them. */
  #onTelemetry(id: string, values: StateValues): TelemetryVerdict {
    if (Object.hasOwn(values, UPDATE_KEY)) {
      // The gateway's key, like last_seen: a device's own `update` would pose as firmware update progress (and is
      // not counted against the state limits).
      this.#rateLog.warn(
        `reserved_update:${id}`,
        { device: id },
        `device "${id}" sent a property named "update": dropped, the name is the gateway's firmware update status`,
      );
      const { [UPDATE_KEY]: _dropped, ...rest } = values;
      return this.#onTelemetry(id, rest);
    }
    const config = this.devices.get(id)?.config;
    if (!config) return 'unknown_device';
    const kept = filterAttributes(values, config.filtered_attributes);
    if (kept !== values && Object.keys(kept).length === 0) {
      // Heard, with nothing left to publish: a sign of life only.
      this.#onAvailability(id, true, HEARD);
      return 'accepted';
    }
    return this.#mergeAndPublish(id, kept, true);
  }

  /** Merges and publishes a device's values (`heard`: it sent them) or what the gateway reports about it
   * (AdapterContext.deviceStatus: last_seen and availability untouched), or says why it refused them. */
  #mergeAndPublish(id: string, values: StateValues, heard: boolean): TelemetryVerdict {
    const before = this.devices.get(id);
    const stateBefore = before?.state ?? {};
    const lastSeenBefore = before?.lastSeen ?? null;
    const heardAtBefore = before?.heardAt ?? null;
    const transport = before?.config.transport ?? 'unknown';
    // mergeState also stamps last_seen, so availability below need not touch the record again; mergeStatus does not.
    let state = heard
      ? this.devices.mergeState(id, values, new Date(), performance.now())
      : this.devices.mergeStatus(id, values);
    if (!state) return 'unknown_device';
    let text: string;
    try {
      text = JSON.stringify(state);
    } catch (err) {
      // Values nested deeper than the stack allows (the adapters limit nesting; this is the last line): keep the
      // state as it was, or every later report of this device would fail the same way.
      this.devices.restore(id, stateBefore, lastSeenBefore, heardAtBefore);
      this.metrics.decodeErrors.inc({ adapter: transport, reason: 'unserializable' });
      this.#rateLog.warn(`unserializable:${id}`, { id, err }, 'device values cannot be written as JSON, dropped');
      return 'unserializable';
    }
    const limits = this.#stateLimits();
    if (!withinStateLimits(state, text, limits)) {
      const fitted = fitState(state, values, text, limits);
      if (!fitted.ok) {
        this.devices.restore(id, stateBefore, lastSeenBefore, heardAtBefore);
        this.#refusedOverLimit(id, transport, values, fitted.setting);
        return 'state_limit';
      }
      ({ state, text } = fitted);
      this.devices.replaceState(id, state);
      this.#evicted(id, transport, fitted.evicted, fitted.setting);
    }
    const config = before?.config;
    const qos = config?.qos ?? 0;
    const retain = config?.retain !== false;
    const momentary = Object.keys(values).filter(isMomentary);
    let held: readonly string[] | undefined;
    if (momentary.length > 0) {
      // A press is never held: it carries the state, so whatever was held goes with it.
      held = this.#pacer.take(id);
      void this.#publishMoment(id, text, state, momentary, values, { retain, qos });
    } else {
      const pacing = heard && config ? pacingOf(config) : undefined;
      held = this.#pacer.admit(id, Object.keys(values), pacing, ignoredChanged(pacing, stateBefore, values));
      if (held) {
        void this.publish(topics.deviceState(this.base, id), text, { retain, qos });
        if (this.#homeAssistant) void this.#homeAssistant.deviceUpdated({ ...this.#discoveryDevice(id), state });
      }
    }
    if (held && this.config.api.property_topics) {
      for (const [key, value] of Object.entries(values)) this.#publishProperty(id, key, value, { retain, qos });
      for (const key of held)
        if (!Object.hasOwn(values, key)) this.#publishProperty(id, key, state[key], { retain, qos });
    }
    if (heard) this.#onAvailability(id, true, HEARD_STAMPED);
    return 'accepted';
  }

  /** A property's own topic (api.property_topics), retained (unless the device's `retain` is false) but for a press. */
  #publishProperty(id: string, key: string, value: unknown, opts: { retain: boolean; qos: 0 | 1 | 2 }): void {
    // last_seen is the gateway's: a device sending one does not get its own topic for it. A held key may have
    // been dropped by the state limits since (undefined).
    if (key === 'last_seen' || value === undefined || !isPropertyTopicName(key)) return;
    void this.publish(topics.deviceProperty(this.base, id, key), propertyText(value), {
      retain: opts.retain && !isMomentary(key),
      qos: opts.qos,
    });
  }

  /** The end of a throttle or debounce hold: the device's latest state and the property topics of the held keys. */
  async #publishHeld(id: string, keys: readonly string[]): Promise<void> {
    const rec = this.devices.get(id);
    if (!rec) return;
    const state = rec.state;
    const opts = this.#stateOptions(id);
    const published = this.publishJson(topics.deviceState(this.base, id), state, opts);
    if (this.#homeAssistant) void this.#homeAssistant.deviceUpdated({ ...this.#discoveryDevice(id), state });
    if (this.config.api.property_topics) for (const key of keys) this.#publishProperty(id, key, state[key], opts);
    await published;
  }

  /** After a reload lowered api.max_state_*: states over the new limits are trimmed now, not at the next report. */
  async #trimStates(): Promise<void> {
    const limits = this.#stateLimits();
    for (const rec of this.devices.all()) {
      const text = JSON.stringify(rec.state);
      if (withinStateLimits(rec.state, text, limits)) continue;
      // No values of a message to keep: every property but the gateway's own may go, oldest first.
      const fitted = fitState(rec.state, {}, text, limits);
      if (!fitted.ok) continue; // the gateway's keys alone: not within reach of the schema's minimums
      const id = rec.config.id;
      this.devices.replaceState(id, fitted.state);
      this.#evicted(id, rec.config.transport, fitted.evicted, fitted.setting);
      await this.publish(topics.deviceState(this.base, id), fitted.text, this.#stateOptions(id));
    }
  }

  /** A device's `filtered_attributes`, applied to what it reported before (a reload or device/options set them):
   * the matching properties leave its state, their property topics and Home Assistant at once. */
  async #dropFiltered(id: string): Promise<void> {
    const rec = this.devices.get(id);
    if (!rec?.config.filtered_attributes) return;
    const kept = filterAttributes(rec.state, rec.config.filtered_attributes);
    if (kept === rec.state) return;
    const dropped = Object.keys(rec.state).filter((key) => !Object.hasOwn(kept, key));
    this.devices.replaceState(id, kept);
    await this.publishJson(topics.deviceState(this.base, id), kept, this.#stateOptions(id));
    await this.#homeAssistant?.propertiesRemoved(id, dropped);
    if (this.config.api.property_topics)
      for (const key of dropped)
        if (isPropertyTopicName(key))
          await this.publish(topics.deviceProperty(this.base, id, key), '', { retain: true });
  }

  /** Empties the retained state of a device and, with api.property_topics, the topics of these properties. */
  async #clearRetainedState(id: string, keys: readonly string[]): Promise<void> {
    await this.publish(topics.deviceState(this.base, id), '', { retain: true });
    if (!this.config.api.property_topics) return;
    for (const key of keys)
      if (key !== 'last_seen' && isPropertyTopicName(key))
        await this.publish(topics.deviceProperty(this.base, id, key), '', { retain: true });
  }

  /** How a device's state messages are published: its `qos` key, and retained unless its `retain` key is false. */
  #stateOptions(id: string): { retain: boolean; qos: 0 | 1 | 2 } {
    return { retain: this.#retainOf(id), qos: this.devices.get(id)?.config.qos ?? 0 };
  }

  #retainOf(id: string): boolean {
    return this.devices.get(id)?.config.retain !== false;
  }

  #stateLimits(): StateLimits {
    return { maxProperties: this.config.api.max_state_properties, maxBytes: this.config.api.max_state_bytes };
  }

  /** Properties dropped to keep a state within its limits: counted, logged, and their retained topics cleared. */
  #evicted(id: string, transport: string, keys: readonly string[], setting: StateLimitSetting): void {
    this.metrics.stateEvictions.inc({ adapter: transport }, keys.length);
    this.#rateLog.warn(
      `state_evicted:${id}`,
      { device: id, dropped: keys.length, setting: `api.${setting}`, limit: this.config.api[setting] },
      `device "${id}" state reached api.${setting} (${this.config.api[setting]}): dropped ${keys.length} ` +
        `${keys.length === 1 ? 'property' : 'properties'} first reported longest ago (${namesForLog(keys)}); ` +
        `raise api.${setting} to keep more`,
    );
    void this.#homeAssistant?.propertiesRemoved(id, keys);
    if (!this.config.api.property_topics) return;
    for (const key of keys)
      if (isPropertyTopicName(key)) void this.publish(topics.deviceProperty(this.base, id, key), '', { retain: true });
  }

  #refusedOverLimit(id: string, transport: string, values: StateValues, setting: StateLimitSetting): void {
    this.metrics.decodeErrors.inc({ adapter: transport, reason: 'state_limit' });
    this.#rateLog.warn(
      `state_limit:${id}`,
      {
        device: id,
        properties: Object.keys(values).length,
        setting: `api.${setting}`,
        limit: this.config.api[setting],
      },
      `device "${id}" message refused: its values alone exceed api.${setting} (${this.config.api[setting]}); ` +
        `raise api.${setting} if the device really reports that much`,
    );
  }

  /**
   * A press (button, action): the state message that carries it is not retained, and the merged state without it
   * is, so neither a later report nor a new subscriber sees the press again. Home Assistant's event entity is
   * announced before the press, or HA would miss the first one.
   */
  async #publishMoment(
    id: string,
    text: string,
    state: StateValues,
    keys: readonly string[],
    values: StateValues,
    opts: { retain: boolean; qos: 0 | 1 | 2 },
  ): Promise<void> {
    const { qos } = opts;
    if (this.#homeAssistant) await this.#homeAssistant.deviceUpdated({ ...this.#discoveryDevice(id), state });
    const rec = this.devices.get(id);
    const rest = { ...(rec?.state ?? state) };
    for (const key of keys) delete rest[key];
    if (rec) this.devices.restore(id, rest, rec.lastSeen, rec.heardAt);
    await this.publish(topics.deviceState(this.base, id), text, { retain: false, qos });
    for (const key of keys)
      await this.publishJson(topics.deviceEvent(this.base, id, key), eventPayload(key, propertyText(values[key])), {
        qos,
      });
    // Retained, the state without the press replaces the one with it; not retained, it would only repeat the state.
    if (opts.retain) await this.publishJson(topics.deviceState(this.base, id), rest, opts);
  }

  /** A renamed device's state, property topics and availability, republished under its new id. */
  async #publishCarried(rec: DeviceRecord): Promise<void> {
    const id = rec.config.id;
    if (Object.keys(rec.state).length > 0) {
      const opts = this.#stateOptions(id);
      await this.publishJson(topics.deviceState(this.base, id), rec.state, opts);
      if (this.config.api.property_topics)
        for (const [key, value] of Object.entries(rec.state))
          if (key !== 'last_seen' && isPropertyTopicName(key))
            await this.publish(topics.deviceProperty(this.base, id, key), propertyText(value), {
              retain: opts.retain,
            });
    }
    await this.#publishAvailability(id, rec.online);
  }

  #onAvailability(id: string, online: boolean, change: AvailabilityChange): void {
    const { lastSeenSet = false, validForMs, lastHeard } = change;
    if (online && lastHeard)
      this.devices.heardEarlier(id, lastHeard, heardAtFromLastSeen(lastHeard, Date.now(), performance.now()));
    else if (online && !lastSeenSet) this.devices.touch(id, new Date(), performance.now());
    if (online && validForMs !== undefined) this.devices.vouch(id, performance.now() + validForMs);
    if (!this.devices.setOnline(id, online)) return;
    this.logger.info(
      { device: id, availability: online ? 'online' : 'offline', why: change.why },
      `device "${id}" is ${online ? 'online' : 'offline'}: ${change.why}`,
    );
    this.#countOnline();
    void this.#publishAvailability(id, online);
    void this.publishDevices();
  }

  /** A device's availability topic: retained, QoS 1, `{"state":"online"|"offline"}`. */
  #publishAvailability(id: string, online: boolean): Promise<void> {
    return this.publishJson(
      topics.deviceAvailability(this.base, id),
      { state: online ? 'online' : 'offline' },
      { retain: true, qos: 1 },
    );
  }

  /** `kind`: the adapter that saw it (the metric's label; `seen.transport` is what it says). */
  #onDeviceSeen(seen: DeviceSeen, kind: string): DeviceSeenVerdict {
    const blocked = blockingEntry(this.config.blocklist, seen);
    if (blocked) {
      this.metrics.blocked.inc({ adapter: kind });
      const logger = this.moduleLogger(kind);
      if (logger.isLevelEnabled('debug')) logger.debug({ seen: describeSeen(seen), blocked }, 'blocked device');
      return 'blocked';
    }
    if (!this.permitJoin()) return 'noted';
    // A device disabled in the config is known, not new: announcing it would suggest adding it a second time.
    if (this.#disabledDevices().some((known) => sameDevice(known, seen))) return 'noted';
    // By name too: one address may announce several devices (a CoAP client that publishes for more than one id),
    // but at most SEEN_NAMES_PER_ADDRESS a minute, or one address cycling ids would announce without end.
    const key = `${seen.transport}|${seen.address}|${seen.name ?? ''}`;
    const address = `${seen.transport}|${seen.address}`;
    const now = performance.now();
    const last = this.#unknownSeen.get(key);
    if (last !== undefined && now - last < 60_000) return 'noted';
    const names = this.#seenNames.get(address);
    const fresh = names === undefined || now - names.since >= 60_000;
    if (!fresh && names.count >= SEEN_NAMES_PER_ADDRESS) return 'noted';
    this.#seenNames.delete(address);
    this.#seenNames.set(address, fresh ? { since: now, count: 1 } : { since: names.since, count: names.count + 1 });
    if (this.#seenNames.size > 1000) this.#seenNames.delete(this.#seenNames.keys().next().value as string);
    if (this.#unknownSeen.size >= 1000) this.#unknownSeen.delete(this.#unknownSeen.keys().next().value as string);
    this.#unknownSeen.set(key, now);
    this.event('device_seen_unknown', { ...seen, ...this.#withSuggestedId(seen) });
    return 'noted';
  }

  #warnConfiguredBlocked(): void {
    for (const { device, entry } of configuredAndBlocked(this.config))
      this.logger.warn(
        { device, blocklist_entry: entry },
        `device "${device}" is configured and on the blocklist: the configured device is served (remove the blocklist entry, or the device)`,
      );
  }

  /** Devices left on an adapter the config turns off stay offline without a word otherwise: said at start and reload. */
  #warnDevicesOnDisabledAdapters(): void {
    for (const [kind, stranded] of devicesOnDisabledAdapters(this.config)) {
      const devices = stranded.map((d) => d.id);
      const { message, hint } = strandedDevicesIssue(kind, devices);
      this.logger.warn({ adapter: kind, devices }, `${message} (${hint})`);
    }
  }

  /** What the adapters would report of the devices disabled in the config, per config. */
  #disabledDevices(): DeviceSeen[] {
    let devices = this.#disabledDevicesOf.get(this.config);
    if (!devices) {
      devices = this.config.devices.filter((d) => d.disabled).map((d) => reportedAs(d as Record<string, unknown>));
      this.#disabledDevicesOf.set(this.config, devices);
    }
    return devices;
  }

  /** A suggested_config without an id (serial, BLE) gets one, so that device/add takes it as it is. */
  #withSuggestedId(seen: DeviceSeen): Pick<DeviceSeen, 'suggested_config'> {
    const suggested = seen.suggested_config;
    if (!suggested || typeof suggested.id === 'string') return {};
    const base = suggestDeviceId(seen.name ?? `${seen.transport}-${seen.address}`, `${seen.transport}-device`);
    return { suggested_config: { id: this.#freeDeviceId(base), ...suggested } };
  }

  #freeDeviceId(base: string): string {
    return uniqueDeviceId(base, (id) => this.devices.get(id) !== undefined);
  }

  #timeoutSeconds(device: DeviceConfig): number {
    return (
      device.availability_timeout ??
      this.config.api.transport_availability_timeouts[device.transport] ??
      this.config.api.availability_timeout
    );
  }

  #scheduleAvailabilityChecks(): void {
    if (this.#availabilityTimer) clearInterval(this.#availabilityTimer);
    const shortest = Math.min(...this.config.devices.map((d) => this.#timeoutSeconds(d) * 1000), Infinity);
    const interval = Math.max(AVAILABILITY_CHECK_MIN_MS, Math.min(AVAILABILITY_CHECK_MAX_MS, shortest / 4));
    this.#availabilityTimer = setInterval(() => this.#checkAvailability(), interval);
    this.#availabilityTimer.unref();
  }

  #checkAvailability(): void {
    const now = performance.now();
    for (const rec of this.devices.all()) {
      if (!rec.online || rec.heardAt === null || (rec.onlineUntil !== null && now < rec.onlineUntil)) continue;
      const timeout = this.#timeoutSeconds(rec.config) * 1000;
      if (now - rec.heardAt > timeout)
        this.#onAvailability(rec.config.id, false, {
          why: `nothing heard for ${timeout / 1000} s (availability_timeout)`,
        });
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
      // Zigbee2MQTT's <device>/set/<property> and /get/<property> with a plain value.
      broker.subscribe(`${base}/+/set/+`, (msg) => void this.#onPropertyCommand(msg.topic, 'set', msg.payload)),
      broker.subscribe(`${base}/+/get/+`, (msg) => void this.#onPropertyCommand(msg.topic, 'get', msg.payload)),
      broker.subscribe(`${base}/bridge/request/#`, (msg) => void this.#onRequest(msg.topic, msg.payload)),
    );
  }

  async #onRequest(topic: string, payload: Buffer): Promise<void> {
    const name = topic.slice(`${this.base}/bridge/request/`.length);
    // A failure the device's adapter had counts against that adapter, any other against the bridge; it is logged
    // (so on bridge/logging too, as Zigbee2MQTT does), rate-limited per request name.
    const response = await this.router.dispatch(this, name, payload, (err) => {
      this.metrics.commandErrors.inc({ adapter: err instanceof AdapterRequestError ? err.adapter : BRIDGE_REQUEST });
      const reason = err instanceof Error ? err.message : String(err);
      // One rate limit for every name the gateway does not know: a client picks the name, so it cannot make a new
      // key (a new line) per message.
      const known = this.router.names().includes(name) ? name : 'unknown';
      const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      this.#requestLog.warn(known, { request: shown }, `request "${shown}" failed: ${reason}`);
    });
    await this.publishJson(topics.bridgeResponse(this.base, name), response);
  }

  /** `<device>/set/<property>` with a plain value (JSON when it parses as JSON, else the text) is
   * `<device>/set` with `{"<property>": value}`; `/get/<property>` reads that property. */
  async #onPropertyCommand(topic: string, kind: DeviceCommand['kind'], payload: Buffer): Promise<void> {
    const [id, , property] = topic.slice(this.base.length + 1).split('/');
    if (!id || !property || id === 'bridge' || property === 'error') return; // error: our own /set/error replies
    const text = payload.toString('utf8');
    let value: unknown = text;
    if (kind === 'get') value = '';
    else {
      try {
        value = JSON.parse(text);
      } catch {
        // plain text such as ON or open
      }
    }
    await this.#runDeviceCommand(id, kind, { [property]: value });
  }

  async #onDeviceCommand(topic: string, kind: DeviceCommand['kind'], payload: Buffer): Promise<void> {
    const id = topic.slice(this.base.length + 1, -(kind.length + 1));
    if (id === 'bridge') return;
    const errorTopic = topics.deviceCommandError(this.base, id, kind);
    let body: unknown;
    try {
      body = stateWordCommand(payload) ?? JSON.parse(payload.toString('utf8'));
    } catch {
      this.#commandFailed(id);
      await this.publishJson(errorTopic, {
        error: 'payload is not valid JSON',
        payload: payload.toString('utf8', 0, 256),
      });
      return;
    }
    await this.#runDeviceCommand(id, kind, body);
  }

  async #runDeviceCommand(id: string, kind: DeviceCommand['kind'], body: unknown): Promise<void> {
    const errorTopic = topics.deviceCommandError(this.base, id, kind);
    const parsed = devicePayload.safeParse(body);
    if (!parsed.success) {
      this.#commandFailed(id);
      await this.publishJson(errorTopic, { error: 'payload must be a JSON object' });
      return;
    }
    try {
      const { host, device } = this.adapterFor(id);
      const logger = this.moduleLogger(device.transport);
      if (logger.isLevelEnabled('debug')) logger.debug({ device: id, command: kind, payload: parsed.data }, 'command');
      const result = await host.adapter!.command(id, { kind, payload: parsed.data });
      if (logger.isLevelEnabled('debug'))
        logger.debug({ device: id, command: kind, result: result.data }, 'command done');
      if (result.data && result.merge !== false) this.#onTelemetry(id, result.data);
    } catch (err) {
      this.#commandFailed(id);
      await this.publishJson(errorTopic, {
        error: err instanceof Error ? err.message : String(err),
        request: parsed.data,
      });
    }
  }

  /** Counted against the device's transport, or against no adapter for a device not in the config. */
  #commandFailed(id: string): void {
    this.metrics.commandErrors.inc({ adapter: this.devices.get(id)?.config.transport ?? NO_ADAPTER });
  }
}

/** What a debug line says of a device seen: the keys blocklist entries compare, cut short (they come from devices). */
function describeSeen(seen: DeviceSeen): Record<string, unknown> {
  const cut = (s: string | undefined) => (s !== undefined && s.length > 80 ? `${s.slice(0, 80)}...` : s);
  return { transport: seen.transport, address: cut(seen.address), name: cut(seen.name) };
}

function deviceAddress(device: DeviceConfig): { address?: string; profile?: string } {
  const d = device as Record<string, unknown>;
  const out: { address?: string; profile?: string } = {};
  if (typeof d.address === 'string') out.address = d.address;
  else if (typeof d.path === 'string') out.address = d.path;
  if (typeof d.profile === 'string') out.profile = d.profile;
  return out;
}

/** A URL to open the dashboard from this host: a wildcard bind answers on loopback too. */
function dashboardUrl(http: { host: string; port: number }): string {
  const host = http.host === '0.0.0.0' || http.host === '::' || http.host === '' ? '127.0.0.1' : http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${http.port}/`;
}

/** Each adapter's state, with the port it listens on when its status names one (CoAP's UDP port). */
function adapterSummary(statuses: BridgeInfoPayload['adapters']): Record<string, { state: string; port?: number }> {
  return Object.fromEntries(
    Object.entries(statuses).map(([kind, status]) => {
      const port = (status.details as { port?: unknown } | undefined)?.port;
      return [kind, { state: status.state, ...(typeof port === 'number' ? { port } : {}) }];
    }),
  );
}

/** The config schema of a gateway with the built-in adapters plus `extra` ones. */
export function gatewayConfigSchema(extra: readonly AdapterModule<unknown>[] = []): typeof configSchema {
  return extra.length === 0 ? configSchema : buildConfigSchema([...adapterModules, ...extra]);
}

function pick(config: GatewayConfig, key: (typeof RESTART_ONLY)[number]): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

/** `candidate` with the running value of every RESTART_ONLY setting (a section, or a key of a section). */
function keepRestartOnly(candidate: GatewayConfig, running: GatewayConfig): GatewayConfig {
  const next: Record<string, unknown> = { ...candidate };
  for (const key of RESTART_ONLY) {
    const [section, leaf] = key.split('.') as [keyof GatewayConfig, string | undefined];
    next[section] =
      leaf === undefined ? running[section] : { ...(next[section] as object), [leaf]: pick(running, key) };
  }
  return next as GatewayConfig;
}

function listIssues(file: string, err: ConfigError): string {
  return err.issues.map((i) => formatIssue(file, i)).join('; ');
}

/** A property that may have its own topic: not a reserved subtopic, and no MQTT level or wildcard characters. */
function isPropertyTopicName(key: string): boolean {
  return !RESERVED_SUBTOPICS.has(key) && !key.includes('/') && !key.includes('+') && !key.includes('#');
}

/** A few property names, each cut short: names come from devices and may be long. */
function namesForLog(keys: readonly string[]): string {
  const names = keys.slice(0, 5).map((k) => (k.length > 40 ? `${k.slice(0, 40)}...` : k));
  return keys.length > names.length ? `${names.join(', ')}, ...` : names.join(', ');
}

function propertyText(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** A press left in a state retained before presses were kept out of it would come back after a restart. */
function withoutMoments(state: StateValues | undefined): StateValues | undefined {
  if (!state) return state;
  const keys = Object.keys(state).filter(isMomentary);
  if (keys.length === 0) return state;
  const rest = { ...state };
  for (const key of keys) delete rest[key];
  return rest;
}

/** No upload survives a restart (they run in the gateway process): a retained `"updating"` became a failure. */
function withoutInterruptedUpdate(state: StateValues): StateValues {
  const update = state[UPDATE_KEY];
  if (typeof update !== 'object' || update === null || (update as Record<string, unknown>).state !== 'updating')
    return state;
  return { ...state, [UPDATE_KEY]: { state: 'failed', error: 'interrupted by a gateway restart' } };
}

/** A retained device state as an object, or undefined when there is none or it is not a JSON object. */
function parseRetainedState(payload: Buffer | undefined): StateValues | undefined {
  if (!payload) return undefined;
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as StateValues) : undefined;
  } catch {
    return undefined;
  }
}

/** With debounce_ignore: whether a report gives one of those properties a new value (published at once). */
function ignoredChanged(pacing: Pacing | undefined, before: StateValues, values: StateValues): boolean {
  if (!pacing?.debounceIgnore) return false;
  return pacing.debounceIgnore.some(
    (key) => Object.hasOwn(values, key) && JSON.stringify(values[key]) !== JSON.stringify(before[key]),
  );
}

/** Zigbee2MQTT's plain-text commands on `<device>/set`: `ON`, `off`, `toggle`... mean `{"state": "<word>"}`. */
const STATE_WORDS = new Set(['on', 'off', 'toggle', 'open', 'close', 'stop', 'lock', 'unlock']);

function stateWordCommand(payload: Buffer): { state: string } | undefined {
  if (payload.length > 8) return undefined;
  const word = payload.toString('utf8').trim();
  return STATE_WORDS.has(word.toLowerCase()) ? { state: word } : undefined;
}
