// The LwM2M server: registrations from /rd and /dp, operations on clients, and their MQTT view.

import type { AdapterContext, CommandResult, DeviceCommand, DeviceConfigOf } from '../../../gateway/adapter.js';
import { suggestDeviceId } from '../../../gateway/config/suggested-id.js';
import type {
  CoapEndpoint,
  CoapIncomingRequest,
  CoapObservation,
  CoapOutgoingResponse,
  CoapPeer,
} from '../endpoint.js';
import { CF, decodePayload, FORMAT_NAMES } from './codecs/content-format.js';
import { CommandQueue } from './command-queue.js';
import { type Lwm2mDeviceConfig, type Lwm2mServerConfig, lwm2mDeviceSchema } from './config.js';
import { Limiter } from './limiter.js';
import type { LinkEntry } from './link-format.js';
import { loadObjectModel, type ObjectModel } from './object-model.js';
import { Lwm2mOperations, type OperationTarget } from './operations.js';
import { formatPath, type Lwm2mPath, parsePath } from './path.js';
import { rawRequestSchema } from './raw-request.js';
import { RawTopics } from './raw-topics.js';
import { type Admission, createRdHandler } from './rd-handler.js';
import { objectsOf, type RegistrationInfo, registrationInfo, sameRegistrationInfo } from './registration-info.js';
import { type Registration, RegistrationStore } from './registration-store.js';
import type { SavedRegistration } from './registrations-file.js';
import { SavedRegistrations } from './saved-registrations.js';
import { coerceValue, rawSubtopic, recordsToState, resolveKey } from './state-mapping.js';
import { type Lwm2mRecord, toJsonValue } from './values.js';

export interface Lwm2mServerOptions {
  endpoint: CoapEndpoint;
  ctx: AdapterContext;
  config: Lwm2mServerConfig;
  /**
   * Wall clock, only for times shown to users (registered_at, when a client was last heard) and SenML relative times;
   * defaults to Date.now.
   */
  now?: () => number;
  /**
   * Monotonic clock for lifetimes and queue-mode wake windows, so an NTP step (a Pi without RTC boots at an old
   * time) neither keeps nor ends a registration early; defaults to performance.now.
   */
  monotonicNow?: () => number;
  /**
   * Where the registrations are saved (lwm2m-registrations.json), to be served again after a restart; without it
   * they live in memory only.
   */
  dataDir?: string;
}

export interface Lwm2mServer {
  /** Reads the saved registrations, before the socket opens; start() restores them (and reads them if not yet). */
  load(): Promise<void>;
  start(): Promise<void>;
  /** The socket could not be opened: no configured client can be reached (their saved registrations stay saved). */
  unreachable(): void;
  stop(): Promise<void>;
  handles(deviceId: string): boolean;
  command(deviceId: string, cmd: DeviceCommand): Promise<CommandResult>;
  request(deviceId: string, data: Record<string, unknown>): Promise<unknown>;
  /** Re-maps registrations after the device list changed (onboarding needs no re-registration). */
  devicesChanged(): void;
  status(): Record<string, unknown>;
}

interface Live {
  /** How to end each observation, by path (not the observation, whose first response is not needed). */
  observations: Map<string, Pick<CoapObservation, 'cancel' | 'close'>>;
  expiry: NodeJS.Timeout | undefined;
  /** When the registration expires without an Update (`monotonicNow()` clock, ms). */
  deadline: number;
  /** Raw path topics published for this registration. */
  topics: RawTopics;
  /** Its `info.lwm2m` as last published to bridge/devices: an Update republishes only what changed it. */
  shown: RegistrationInfo | undefined;
  /** The client ended an observation (error notification) since the default observations were last set up. */
  reobserve: boolean;
  /**
   * Restored from the saved file for a sleeping queue-mode client: its observations are set up again (new tokens)
   * once it is heard from (Update, Send, a notification on an old token), as requests for it wait today.
   */
  setupHeld: boolean;
}

export function createLwm2mServer(opts: Lwm2mServerOptions): Lwm2mServer {
  const { endpoint, ctx, config } = opts;
  const now = opts.now ?? Date.now;
  const monotonicNow = opts.monotonicNow ?? (() => performance.now());
  const model: ObjectModel = loadObjectModel(config.objects_dir);
  const store = new RegistrationStore();
  const live = new Map<string, Live>();
  const queue = new CommandQueue(config.max_queued_commands);
  // The observes and the Device object read that follow each registration: a storm of 1,000 registrations would
  // otherwise put 3,000 requests (their exchanges, timers and promises) in flight at once.
  const setup = new Limiter(SETUP_IN_FLIGHT);
  let running = false;
  /** Set when a restore held the setup of a queue-mode client until it is heard from (see strayResponse). */
  let mayHoldSetups = false;
  let unknownSeen = 0;
  const saved = opts.dataDir ? new SavedRegistrations(opts.dataDir, () => store.all(), ctx.logger) : undefined;
  let loaded: Awaited<ReturnType<SavedRegistrations['read']>> | undefined;
  const ops = new Lwm2mOperations(
    endpoint,
    model,
    config.request_timeout_ms,
    (reason, error, bytes) => ctx.decodeError(reason, { bytes, error }),
    () => ctx.countMessage('out'),
  );

  // Parsed `lwm2m:` blocks per device entry object: ctx.devices() is read on every registration and operation.
  const parsedBlocks = new WeakMap<DeviceConfigOf, Lwm2mDeviceConfig | null>();
  const deviceConfigs = (): Array<{ device: DeviceConfigOf; lwm2m: Lwm2mDeviceConfig }> => {
    const out: Array<{ device: DeviceConfigOf; lwm2m: Lwm2mDeviceConfig }> = [];
    for (const device of ctx.devices()) {
      let lwm2m = parsedBlocks.get(device);
      if (lwm2m === undefined) {
        const parsed = lwm2mDeviceSchema.safeParse(device.lwm2m);
        lwm2m = parsed.success ? parsed.data : null;
        parsedBlocks.set(device, lwm2m);
      }
      if (lwm2m && device.disabled !== true) out.push({ device, lwm2m });
    }
    return out;
  };
  const deviceOfEndpoint = (ep: string) => deviceConfigs().find((d) => d.lwm2m.endpoint === ep);
  const deviceById = (id: string) => deviceConfigs().find((d) => d.device.id === id);

  const target = (reg: Registration): OperationTarget => {
    const override = reg.deviceId ? deviceById(reg.deviceId)?.lwm2m.content_format : undefined;
    return {
      peer: reg.peer,
      contentFormat: override ? (FORMAT_NAMES[override] ?? CF.tlv) : reg.contentFormat,
      // Its answers count like anything else it sends: Zephyr listens on after every message (see `awake`).
      answered: () => markHeard(reg),
    };
  };

  /** False when the gateway took none of the values: this adapter instance is no longer the one it runs. */
  const emit = (reg: Registration, records: readonly Lwm2mRecord[]): boolean => {
    const deviceId = reg.deviceId;
    if (!deviceId || records.length === 0) return true;
    ctx.countMessage('in');
    const { properties, raw } = recordsToState(model, records, now() / 1000);
    const stopped = Object.keys(properties).length > 0 && ctx.telemetry(deviceId, properties) === 'stopped';
    const topics = live.get(reg.id)?.topics;
    for (const r of raw) {
      ctx.publish(deviceId, r.subtopic, r.value, { retain: true });
      topics?.note(r.subtopic);
    }
    return !stopped;
  };

  /** Empties the retained raw topics at or below `path` (an instance deleted, or no longer registered). */
  const clearRaw = (reg: Registration, path: Lwm2mPath): void => {
    const topics = live.get(reg.id)?.topics;
    if (!reg.deviceId || !topics) return;
    for (const subtopic of topics.takeWithin(rawSubtopic(path)))
      ctx.publish(reg.deviceId, subtopic, '', { retain: true });
  };

  // LwM2M 1.1 queue mode: the client listens for a while after anything it sends, not only Register/Update: its
  // answers to our requests too (Zephyr's RX-off timer restarts at every transmission, engine_update_tx_time).
  const awake = (reg: Registration): boolean =>
    !reg.queueMode || monotonicNow() - reg.lastHeard <= config.queue_awake_s * 1000;

  const markHeard = (reg: Registration): void => {
    reg.lastHeard = monotonicNow();
    reg.lastHeardAt = now();
  };

  /** The client sent a Send or a notification: what waited for it goes out, after the answer to what it sent. */
  const heard = (reg: Registration): void => {
    markHeard(reg);
    setImmediate(() => {
      if (live.get(reg.id)?.setupHeld) observeDefaults(reg);
      void queue.flush(reg.endpoint);
    });
  };

  /** Runs now when the client listens, else when it next checks in (queue mode). */
  const schedule = <T>(reg: Registration, run: (r: Registration) => Promise<T>): Promise<T> => {
    // The endpoint's live registration: a command of several steps (a /set of two values) may have started on one
    // that a Register (reboot, new IP) has replaced since, whose wake window no longer moves.
    const current = store.byEndpoint(reg.endpoint) ?? reg;
    if (awake(current)) return run(current);
    return queue.enqueue(reg.endpoint, () => {
      const current = store.byEndpoint(reg.endpoint);
      if (!current) return Promise.reject(new Error(`${reg.endpoint} is no longer registered`));
      return run(current);
    });
  };

  /** How long a registration is served after its Register or Update: its lifetime and the grace. */
  const validForMs = (lifetime: number): number => (lifetime + config.lifetime_grace_s) * 1000;
  /** `validMs`: what is left of a restored registration's lifetime (grace included). */
  const armExpiry = (reg: Registration, validMs = validForMs(reg.lifetime)): void => {
    const state = live.get(reg.id);
    if (!state) return;
    state.deadline = monotonicNow() + validMs;
    waitForExpiry(reg, state);
  };

  // A timer cannot wait longer than MAX_TIMER_MS: a longer lifetime is waited out in steps.
  const waitForExpiry = (reg: Registration, state: Live): void => {
    if (state.expiry) clearTimeout(state.expiry);
    state.expiry = setTimeout(
      () => (monotonicNow() < state.deadline ? waitForExpiry(reg, state) : expire(reg)),
      Math.min(state.deadline - monotonicNow(), MAX_TIMER_MS),
    );
    state.expiry.unref();
  };

  /**
   * `observations`: 'cancel' when the client is still there (registered again from another port: its deregistering
   * GET is best effort), 'close' when it is gone (expired, de-registered: ended here, a late notification gets RST),
   * 'keep' on stop, where the transport ends them all itself.
   */
  const forget = (reg: Registration, reason: string, observations: 'cancel' | 'close' | 'keep'): void => {
    const state = live.get(reg.id);
    live.delete(reg.id);
    if (state?.expiry) clearTimeout(state.expiry);
    for (const observation of observations === 'keep' ? [] : (state?.observations.values() ?? [])) {
      if (observations === 'close') observation.close();
      else observation.cancel().catch(() => {});
    }
    if (!store.byEndpoint(reg.endpoint)) queue.drop(reg.endpoint, reason);
  };

  /** Ends the observations below instances an Update no longer lists, so that re-adding one observes it again. */
  const endRemovedObservations = (reg: Registration, previous: readonly LinkEntry[]): void => {
    const state = live.get(reg.id);
    for (const [key, observation] of state?.observations ?? []) {
      const path = parsePath(key);
      if (!path.ok || !listed(previous, path.value) || listed(reg.links, path.value)) continue;
      state?.observations.delete(key);
      observation.cancel().catch(() => {});
    }
  };

  /** An instance an Update no longer lists was deleted on the client: its retained values are stale. */
  const clearRemovedInstances = (reg: Registration, previous: readonly LinkEntry[]): void => {
    for (const link of previous) if (link.path && !listed(reg.links, link.path)) clearRaw(reg, link.path);
  };

  const expire = (reg: Registration): void => {
    if (store.get(reg.id) !== reg) return;
    store.remove(reg.id);
    saved?.changed();
    forget(reg, `${reg.endpoint}: registration lifetime expired`, 'close');
    ctx.logger.info({ endpoint: reg.endpoint }, 'lwm2m registration expired');
    if (reg.deviceId) ctx.availability(reg.deviceId, false);
  };

  const observedPaths = (reg: Registration): Lwm2mPath[] => {
    const configured = reg.deviceId ? deviceById(reg.deviceId)?.lwm2m.observe : undefined;
    if (configured) {
      return configured.flatMap((text) => {
        const p = parsePath(text);
        return p.ok ? [p.value] : [];
      });
    }
    const out: Lwm2mPath[] = [];
    for (const link of reg.links) {
      if (link.path?.inst === undefined || link.path.res !== undefined) continue;
      for (const res of model.defaultObserved(link.path.obj))
        out.push({ obj: link.path.obj, inst: link.path.inst, res });
    }
    return out;
  };

  /** Observes `path`: its current values, and whether the client took the relation (its answer carried Observe). */
  const observe = async (
    reg: Registration,
    path: Lwm2mPath,
  ): Promise<{ records: Lwm2mRecord[]; observing: boolean }> => {
    const state = live.get(reg.id);
    if (!state) throw new Error(`${reg.endpoint} is not registered`);
    const key = formatPath(path);
    let observation: CoapObservation | undefined;
    let endedEarly = false;
    const first = await ops.observe(target(reg), path, {
      heard: () => heard(reg),
      records: (recs) => emit(reg, recs),
      ended: (code) => {
        if (observation) lost(reg, key, observation, code);
        else endedEarly = true;
      },
    });
    observation = first.observation;
    if (live.get(reg.id) !== state) {
      observation.cancel().catch(() => {});
      return { records: first.records, observing: false };
    }
    // RFC 7641 §3.1: a 2.xx without Observe means the client did not add us (its observer table may be full):
    // the value was read once, and the observation is tried again at the next Update.
    const refused = observation.first.observe === undefined;
    if (refused)
      ctx.logger.info(
        { endpoint: reg.endpoint, path: key },
        'lwm2m client answered the observe without Observe (not observing): tried again at its next Update',
      );
    if (endedEarly || refused) state.reobserve = true;
    else {
      state.observations
        .get(key)
        ?.cancel()
        .catch(() => {});
      state.observations.set(key, observation);
    }
    emit(reg, first.records);
    return { records: first.records, observing: !endedEarly && !refused };
  };

  /** The client ended an observation with an error notification: unlisted, and observed again at the next Update. */
  const lost = (reg: Registration, key: string, observation: CoapObservation, code: string): void => {
    const state = live.get(reg.id);
    if (state?.observations.get(key) !== observation) return;
    state.observations.delete(key);
    state.reobserve = true;
    observation.close();
    ctx.logger.info({ endpoint: reg.endpoint, path: key, code }, 'lwm2m observation ended by the client');
  };

  const observeDefaults = (reg: Registration): void => {
    const state = live.get(reg.id);
    if (!state || !reg.deviceId) return;
    state.reobserve = false;
    state.setupHeld = false;
    for (const path of observedPaths(reg)) {
      if (state.observations.has(formatPath(path))) continue;
      schedule(reg, (r) => setup.run(() => observe(r, path))).catch((e: unknown) =>
        ctx.logger.warn({ endpoint: reg.endpoint, path: formatPath(path), err: String(e) }, 'lwm2m observe failed'),
      );
    }
  };

  /**
   * Online for as long as the registration is valid, whatever the core's availability timeout (queue mode sleeps).
   * `heardNow` false: reported without a message from the client (restored after a restart, onboarded after it
   * registered), so last_seen stays when it was last heard.
   */
  const online = (reg: Registration, heardNow = true): void => {
    const state = live.get(reg.id);
    if (!reg.deviceId || !state) return;
    const validMs = state.deadline - monotonicNow();
    if (heardNow) ctx.availability(reg.deviceId, true, validMs);
    else ctx.availability(reg.deviceId, true, validMs, new Date(reg.lastHeardAt));
  };

  // One deviceInfo per registration: the core republishes the whole bridge/devices list on each change.
  const publishInfo = (reg: Registration): void => {
    const state = live.get(reg.id);
    if (!reg.deviceId || store.get(reg.id) !== reg || !state) return;
    state.shown = registrationInfo(reg);
    ctx.deviceInfo(reg.deviceId, { lwm2m: state.shown, ...reg.deviceInfo });
  };

  /** Republishes the info after an Update that changed what it shows (lifetime, binding, port, objects...). */
  const publishInfoIfChanged = (reg: Registration): void => {
    const shown = live.get(reg.id)?.shown;
    if (!shown || !sameRegistrationInfo(shown, registrationInfo(reg))) publishInfo(reg);
  };

  // Manufacturer, model and versions from the Device object, for bridge/devices (not the state).
  const readDeviceInfo = (reg: Registration): void => {
    if (!reg.deviceId) return;
    if (!reg.links.some((l) => l.path?.obj === 3)) {
      publishInfo(reg);
      return;
    }
    schedule(reg, (r) => setup.run(() => ops.read(target(r), { obj: 3, inst: 0 })))
      .then((records) => {
        const info: Record<string, unknown> = {};
        for (const rec of records) {
          const key = DEVICE_INFO_RESOURCES[rec.path.res];
          if (key && rec.path.ri === undefined) info[key] = toJsonValue(rec.value);
        }
        reg.deviceInfo = info;
        saved?.changed();
      })
      .catch((e: unknown) =>
        ctx.logger.debug({ endpoint: reg.endpoint, err: String(e) }, 'lwm2m device info read failed'),
      )
      .finally(() => publishInfo(reg));
  };

  const admit = (ep: string, peer: { address: string; port: number }): Admission => {
    const known = deviceOfEndpoint(ep);
    if (known) return { accept: true, deviceId: known.device.id };
    unknownSeen++;
    const suggested = suggestDeviceId(ep, 'lwm2m-device');
    const verdict = ctx.deviceSeen({
      transport: 'coap',
      address: ep,
      name: ep,
      suggested_config: { id: ctx.freeDeviceId?.(suggested) ?? suggested, transport: 'coap', lwm2m: { endpoint: ep } },
      // The source IP too: a blocklist entry's `address` is the CoAP source IP (docs/config.md).
      aliases: [peer.address],
      details: { lwm2m: true, address: `[${peer.address}]:${peer.port}` },
    });
    if (verdict === 'blocked') return { accept: false }; // 4.03, whatever unknown_endpoints says
    const policy = config.unknown_endpoints;
    return { accept: policy === 'accept' || (policy === 'permit_join' && ctx.permitJoin()) };
  };

  // A registration accepted before onboarding gets its device id as soon as the config names it.
  const bind = (reg: Registration): boolean => {
    if (reg.deviceId) return false;
    const known = deviceOfEndpoint(reg.endpoint);
    if (!known) return false;
    reg.deviceId = known.device.id;
    return true;
  };

  const newLive = (): Live => ({
    observations: new Map(),
    expiry: undefined,
    deadline: 0,
    topics: new RawTopics(),
    shown: undefined,
    reobserve: false,
    setupHeld: false,
  });

  /**
   * Serves again the registrations saved before a restart whose lifetime (judged by the wall clock of their last
   * Register or Update, grace included) has not run out, for endpoints the config still admits; their observations
   * are set up again with new tokens (Zephyr replaces the token of an observer of the same path and server), at once
   * or, for a sleeping queue-mode client, once it is heard from. A configured client whose saved registration is
   * dropped (or was in a file that cannot be used) is offline: nothing can reach it until it registers again.
   */
  const restore = (entries: readonly SavedRegistration[], unusable: readonly string[] | true): void => {
    const wallNow = now();
    const restored: Registration[] = [];
    const expired: string[] = [];
    const refused: string[] = [];
    for (const entry of entries) {
      const validMs = validForMs(entry.lifetime);
      // A wall clock set back since (a Pi without RTC before NTP) must not lengthen it past one lifetime.
      const leftMs = Math.min(entry.lastUpdate + validMs - wallNow, validMs);
      if (leftMs <= 0) {
        expired.push(entry.endpoint);
        continue;
      }
      const admission =
        store.size < config.max_registrations && !store.byEndpoint(entry.endpoint) && !store.get(entry.id)
          ? admit(entry.endpoint, entry.peer)
          : { accept: false };
      if (!admission.accept) {
        refused.push(entry.endpoint);
        continue;
      }
      // Not heard since the restart: a queue-mode client counts as asleep until it is.
      const reg: Registration = { ...entry, lastHeard: Number.NEGATIVE_INFINITY, deviceId: admission.deviceId };
      store.add(reg);
      live.set(reg.id, newLive());
      armExpiry(reg, leftMs);
      restored.push(reg);
    }
    const lost = unusable === true ? undefined : new Set([...unusable, ...expired, ...refused]);
    for (const { device, lwm2m } of deviceConfigs())
      if (!store.byEndpoint(lwm2m.endpoint) && (lost?.has(lwm2m.endpoint) ?? true)) ctx.availability(device.id, false);
    for (const reg of restored) {
      online(reg, false);
      publishInfo(reg);
      const state = live.get(reg.id);
      if (state && reg.deviceId && !awake(reg)) {
        state.setupHeld = true;
        mayHoldSetups = true;
      } else observeDefaults(reg);
    }
    if (expired.length > 0 || refused.length > 0) saved?.changed();
    if (entries.length === 0) return;
    const held = restored.filter((r) => live.get(r.id)?.setupHeld).length;
    ctx.logger.info(
      {
        restored: restored.length,
        ...(expired.length > 0 ? { expired } : {}),
        ...(refused.length > 0 ? { not_admitted: refused } : {}),
      },
      `lwm2m: restored ${restored.length} registrations from before the restart` +
        (held > 0 ? ` (${held} queue-mode clients observed again once they are heard from)` : '') +
        (expired.length > 0 ? `; dropped ${expired.length} whose lifetime ran out` : '') +
        (refused.length > 0
          ? `; dropped ${refused.length} of endpoints the config no longer admits (not configured, disabled, blocked or unknown_endpoints), or past max_registrations`
          : ''),
    );
  };

  const rdHandler = createRdHandler({
    store,
    admit,
    now,
    monotonicNow,
    maxRegistrations: config.max_registrations,
    registered(reg, replaced) {
      ctx.countMessage('in');
      if (replaced) forget(replaced, `${reg.endpoint} registered again`, 'cancel');
      live.set(reg.id, newLive());
      armExpiry(reg);
      saved?.changed();
      ctx.logger.info({ endpoint: reg.endpoint, device: reg.deviceId, lt: reg.lifetime }, 'lwm2m registered');
      online(reg);
      // After the 2.01 is on the wire: the client may not serve requests before it sees it.
      setImmediate(() => {
        observeDefaults(reg);
        readDeviceInfo(reg);
        void queue.flush(reg.endpoint);
      });
    },
    updated(reg, previousLinks) {
      ctx.countMessage('in');
      armExpiry(reg);
      saved?.changed();
      if (previousLinks) {
        endRemovedObservations(reg, previousLinks);
        clearRemovedInstances(reg, previousLinks);
      }
      const newlyBound = bind(reg);
      online(reg);
      setImmediate(() => {
        const state = live.get(reg.id);
        if (newlyBound || previousLinks || state?.reobserve || state?.setupHeld) observeDefaults(reg);
        if (newlyBound) readDeviceInfo(reg);
        else publishInfoIfChanged(reg);
        void queue.flush(reg.endpoint);
      });
    },
    deregistered(reg) {
      ctx.countMessage('in');
      saved?.changed();
      forget(reg, `${reg.endpoint} de-registered`, 'close');
      ctx.logger.info({ endpoint: reg.endpoint }, 'lwm2m de-registered');
      if (reg.deviceId) ctx.availability(reg.deviceId, false);
    },
    malformed(reason, req) {
      ctx.decodeError('lwm2m_registration', { bytes: req.payload, error: reason });
    },
  });

  /** The registration of the client at this transport address, if any. */
  const registrationAt = (peer: CoapPeer): Registration | undefined =>
    store.all().find((r) => r.peer.address === peer.address && r.peer.port === peer.port);

  // LwM2M 1.1 Send: the client is identified by its transport address.
  const sendHandler = (req: CoapIncomingRequest): CoapOutgoingResponse => {
    if (req.method !== 'POST' || req.path.length !== 1) return { code: '4.05' };
    const reg = registrationAt(req.source);
    if (!reg) return { code: '4.04', payload: 'not registered' };
    heard(reg);
    if (req.contentFormat !== CF.senmlJson && req.contentFormat !== CF.senmlCbor) {
      ctx.decodeError('lwm2m_send', {
        deviceId: reg.deviceId,
        bytes: req.payload,
        error: `Send with content format ${req.contentFormat}`,
      });
      return { code: '4.15' };
    }
    const decoded = decodePayload(req.contentFormat, req.payload, { obj: 0 }, model.typeOf);
    if (!decoded.ok) {
      ctx.decodeError('lwm2m_send', {
        deviceId: reg.deviceId,
        bytes: req.payload,
        error: `Send from ${reg.endpoint}: ${decoded.error}`,
      });
      return { code: '4.00', payload: decoded.error };
    }
    return emit(reg, decoded.value) ? { code: '2.04' } : STOPPING;
  };

  // A notification on a token of the process before the restart (answered RST, which ends it on the client): a
  // restored queue-mode client is awake now, so its observations are set up again while it listens.
  const strayResponse = (peer: CoapPeer): void => {
    // Any peer can send such packets: the registrations are searched only while a restore holds some setup.
    if (!running || !mayHoldSetups) return;
    const reg = registrationAt(peer);
    if (reg && live.get(reg.id)?.setupHeld) heard(reg);
  };

  const registrationOf = (deviceId: string): Registration => {
    const cfg = deviceById(deviceId);
    if (!cfg) throw new Error(`${deviceId} is not an LwM2M device`);
    const reg = store.byEndpoint(cfg.lwm2m.endpoint);
    if (!reg || reg.deviceId !== deviceId) throw new Error(`${deviceId} (${cfg.lwm2m.endpoint}) is not registered`);
    return reg;
  };

  const recordsToData = (records: readonly Lwm2mRecord[], byPath: boolean): Record<string, unknown> => {
    const data: Record<string, unknown> = {};
    for (const r of records) {
      const name = byPath ? undefined : model.propertyOf(r.path);
      data[name ?? formatPath(r.path)] = toJsonValue(r.value);
    }
    return data;
  };

  const writeOne = async (reg: Registration, path: Lwm2mPath, input: unknown): Promise<Lwm2mRecord> => {
    if (path.inst === undefined || path.res === undefined) throw new Error(`${formatPath(path)} is not a resource`);
    const value = coerceValue(input, model.typeOf(path.obj, path.res));
    if (!value.ok) throw new Error(`${formatPath(path)}: ${value.error}`);
    const record: Lwm2mRecord = { path: { ...path, inst: path.inst, res: path.res }, value: value.value };
    await ops.write(target(reg), path, [record], 'replace');
    return record;
  };

  const set = async (reg: Registration, payload: Record<string, unknown>): Promise<CommandResult> => {
    const written: Lwm2mRecord[] = [];
    for (const [key, input] of Object.entries(payload)) {
      const resolved = resolveKey(model, key);
      if (!resolved.ok) throw new Error(resolved.error);
      const { path } = resolved.value;
      const def = path.res === undefined ? undefined : model.resource(path.obj, path.res);
      if (def?.operations.includes('E')) {
        const args = typeof input === 'string' && input !== '' ? input : undefined;
        await schedule(reg, (r) => ops.execute(target(r), path, args));
        continue;
      }
      written.push(await schedule(reg, (r) => writeOne(r, path, input)));
    }
    emit(reg, written);
    const data = recordsToData(written, false);
    return { data, merge: true };
  };

  const get = async (reg: Registration, payload: Record<string, unknown>): Promise<CommandResult> => {
    const records: Lwm2mRecord[] = [];
    for (const key of Object.keys(payload)) {
      const resolved = resolveKey(model, key);
      if (!resolved.ok) throw new Error(resolved.error);
      records.push(...(await schedule(reg, (r) => ops.read(target(r), resolved.value.path))));
    }
    emit(reg, records);
    return { data: recordsToData(records, false), merge: true };
  };

  const raw = async (reg: Registration, data: Record<string, unknown>): Promise<unknown> => {
    const parsed = rawRequestSchema.safeParse(data);
    if (!parsed.success)
      throw new Error(
        `invalid lwm2m request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const req = parsed.data;
    if (req.op === 'registration') return describeRegistration(reg);
    const p = parsePath(req.path);
    if (!p.ok) throw new Error(p.error);
    const path = p.value;
    switch (req.op) {
      case 'read': {
        const records = await schedule(reg, (r) => ops.read(target(r), path));
        emit(reg, records);
        return { path: formatPath(path), values: recordsToData(records, true) };
      }
      case 'discover': {
        const links = await schedule(reg, (r) => ops.discover(target(r), path));
        return {
          path: formatPath(path),
          links: links.map((l) => ({ path: l.path ? formatPath(l.path) : '/', ...l.attrs })),
        };
      }
      case 'write': {
        const records = writeRecords(path, req.value, req.values);
        await schedule(reg, (r) => ops.write(target(r), path, records, req.mode));
        emit(reg, records);
        return { path: formatPath(path), written: recordsToData(records, true) };
      }
      case 'create': {
        const records = writeRecords({ obj: path.obj, inst: req.instance }, undefined, req.values);
        await schedule(reg, (r) => ops.create(target(r), path.obj, records));
        emit(reg, records);
        return { path: formatPath({ obj: path.obj, inst: req.instance }), created: recordsToData(records, true) };
      }
      case 'delete':
        await schedule(reg, async (r) => {
          await ops.delete(target(r), path);
          clearRaw(r, path);
        });
        return { path: formatPath(path), deleted: true };
      case 'execute':
        await schedule(reg, (r) => ops.execute(target(r), path, req.args));
        return { path: formatPath(path), executed: true };
      case 'write_attributes':
        await schedule(reg, (r) => ops.writeAttributes(target(r), path, req.attributes));
        return { path: formatPath(path), attributes: req.attributes };
      case 'observe': {
        const { records, observing } = await schedule(reg, (r) => observe(r, path));
        return { path: formatPath(path), observing, values: recordsToData(records, true) };
      }
      case 'cancel_observe': {
        const state = live.get(reg.id);
        const observation = state?.observations.get(formatPath(path));
        if (!observation) throw new Error(`${formatPath(path)} is not observed`);
        state?.observations.delete(formatPath(path));
        await observation.cancel();
        return { path: formatPath(path), observing: false };
      }
    }
  };

  const writeRecords = (
    path: Lwm2mPath,
    value: unknown,
    values: Record<string, unknown> | undefined,
  ): Lwm2mRecord[] => {
    if (path.inst === undefined) throw new Error('write needs an instance or resource path');
    const inst = path.inst;
    const entries: Array<[Lwm2mPath, unknown]> = [];
    if (path.res !== undefined) {
      if (value === undefined) throw new Error('write on a resource needs "value"');
      entries.push([path, value]);
    } else {
      if (!values || Object.keys(values).length === 0) throw new Error('write on an instance needs "values"');
      for (const [k, v] of Object.entries(values)) {
        const [res, ri] = k.split('/').map(Number);
        entries.push([{ obj: path.obj, inst, res, ri }, v]);
      }
    }
    return entries.map(([p, v]) => {
      const res = p.res ?? 0;
      const coerced = coerceValue(v, model.typeOf(p.obj, res));
      if (!coerced.ok) throw new Error(`${formatPath(p)}: ${coerced.error}`);
      const rp = p.ri === undefined ? { obj: p.obj, inst, res } : { obj: p.obj, inst, res, ri: p.ri };
      return { path: rp, value: coerced.value };
    });
  };

  const describeRegistration = (reg: Registration) => ({
    endpoint: reg.endpoint,
    registration_id: reg.id,
    version: reg.version,
    binding: reg.binding,
    queue_mode: reg.queueMode,
    lifetime: reg.lifetime,
    awake: awake(reg),
    address: `[${reg.peer.address}]:${reg.peer.port}`,
    content_format: target(reg).contentFormat,
    objects: objectsOf(reg.links),
    observed: [...(live.get(reg.id)?.observations.keys() ?? [])],
    registered_at: new Date(reg.registeredAt).toISOString(),
    last_update: new Date(reg.lastUpdate).toISOString(),
  });

  return {
    async load() {
      loaded = await saved?.read();
    },
    async start() {
      if (running) return;
      running = true;
      if (!loaded) loaded = await saved?.read();
      restore(loaded?.registrations ?? [], loaded?.unusable ?? []);
      loaded = undefined;
      endpoint.onStrayResponse?.(strayResponse);
      // While stopping (the file saved, the clients forgotten) a Register would be answered 2.01 and then lost.
      endpoint.route('rd', (req) => (running ? rdHandler(req) : STOPPING));
      endpoint.route('dp', (req) => (running ? sendHandler(req) : STOPPING));
    },
    unreachable() {
      for (const { device } of deviceConfigs()) ctx.availability(device.id, false);
    },
    async stop() {
      running = false;
      mayHoldSetups = false;
      // Saved as they are, before they are forgotten here: the next start serves them again. A device keeps its
      // availability: a restart that restores its registration would otherwise flap it offline and online.
      await saved?.close();
      queue.dropAll('the LwM2M server stopped');
      for (const reg of store.all()) {
        store.remove(reg.id);
        forget(reg, 'the LwM2M server stopped', 'keep');
      }
    },
    handles: (deviceId) => deviceById(deviceId) !== undefined,
    async command(deviceId, cmd) {
      const reg = registrationOf(deviceId);
      try {
        return cmd.kind === 'set' ? await set(reg, cmd.payload) : await get(reg, cmd.payload);
      } catch (e) {
        throw asError(e);
      }
    },
    async request(deviceId, data) {
      try {
        return await raw(registrationOf(deviceId), data);
      } catch (e) {
        throw asError(e);
      }
    },
    devicesChanged() {
      for (const reg of store.all()) {
        // A device removed from the config keeps its registration but loses its MQTT view.
        if (reg.deviceId && deviceById(reg.deviceId)?.lwm2m.endpoint !== reg.endpoint) reg.deviceId = undefined;
        if (!bind(reg)) continue;
        online(reg, false);
        observeDefaults(reg);
        readDeviceInfo(reg);
      }
    },
    status: () => ({
      registrations: store.size,
      onboarded: store.all().filter((r) => r.deviceId).length,
      observations: [...live.values()].reduce((n, l) => n + l.observations.size, 0),
      queued_commands: queue.size,
      unknown_registrations_seen: unknownSeen,
    }),
  };
}

/** What a Register or Send gets while the server stops: try again shortly (its successor serves it). */
const STOPPING: CoapOutgoingResponse = { code: '5.03', maxAge: 5, payload: 'the LwM2M server is stopping' };
/**
 * Post-registration requests (observes, Device object read) in flight at once, over all clients. A client that
 * does not answer holds its slot until request_timeout_ms; the others go on in the remaining slots.
 */
const SETUP_IN_FLIGHT = 64;

/** Node fires a timer with a longer delay at once (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** True when the links name the instance of `path` (for an object path: the object). */
function listed(links: readonly LinkEntry[], path: Lwm2mPath): boolean {
  return links.some((l) => l.path?.obj === path.obj && (path.inst === undefined || l.path.inst === path.inst));
}

const DEVICE_INFO_RESOURCES: Record<number, string> = {
  0: 'manufacturer',
  1: 'model',
  2: 'serial_number',
  3: 'firmware_version',
  17: 'device_type',
  18: 'hardware_version',
  19: 'software_version',
};

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
