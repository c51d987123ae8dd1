// Composition of the CoAP adapter: one UdpCoapEndpoint shared by the /ps pub-sub resource, the gateway-initiated
// device clients, multicast discovery and (when present) the LwM2M server; SMP over UDP (device/smp, ota_update) to
// the devices that have `smp` on.
import type { Adapter, AdapterContext, AdapterStatus, CommandResult, DeviceCommand } from '../../gateway/adapter.js';
import { type BindSetting, bindErrorMessage } from '../../gateway/broker/listeners.js';
import { isOtaRequestName, runOta } from '../common/smp/ota-request.js';
import { smpPacketEvents } from '../common/smp/packet-events.js';
import { runSmpRequest } from '../common/smp/smp-request.js';
import { SmpTransportSet } from '../common/smp/transport-set.js';
import { CommandObservers } from './command-observers.js';
import { CommandObserversStore } from './command-observers-store.js';
import {
  type CoapAdapterConfig,
  type CoapDeviceConfig,
  type CoapSmpSettings,
  coapDeviceSchema,
  coapSmpSettings,
  resourcesOf,
} from './config.js';
import { encodeCommand } from './content-format.js';
import { DeviceClient } from './device-client.js';
import { discoveryOptions, MulticastDiscovery } from './discovery.js';
import { IdentityResolver } from './identity.js';
import { createLwm2mServer, type Lwm2mServer } from './lwm2m/index.js';
import { createPsAdmit, createPsHandler, createPsObserveRefused } from './ps-resource.js';
import { parseRawRequest } from './raw-request.js';
import { type SmpUdpEvents, SmpUdpTransport } from './smp-udp-transport.js';
import { UdpBindError, zoneBindProblem } from './transport/bind-error.js';
import { formatPeer } from './transport/peer.js';
import { UdpCoapEndpoint } from './transport/udp-endpoint.js';
import { serveWellKnownCore } from './well-known-core.js';

type Device = CoapDeviceConfig & { id: string };
type SmpTarget = { address: string; settings: CoapSmpSettings };

const COAP_BIND_SETTING: BindSetting = { portKey: 'adapters.coap.port', hostKey: 'adapters.coap.bind' };

/** Max-Age of the 5.03 that ends /ps/<id>/set relations when the adapter stops: a restart takes a few seconds. */
const REGISTER_AGAIN_AFTER_S = 10;

export class CoapAdapter implements Adapter {
  readonly kind = 'coap';
  readonly endpoint: UdpCoapEndpoint;
  private state: AdapterStatus = { state: 'stopped' };
  private devices: Device[] = [];
  private identity: IdentityResolver;
  private readonly observers: CommandObservers;
  private readonly observersStore: CommandObserversStore;
  /** One per device with an address: started when it has resources to read, else made for its first raw request. */
  private readonly clients = new Map<string, DeviceClient>();
  private readonly discovery: MulticastDiscovery;
  private readonly lwm2m: Lwm2mServer | undefined;
  private readonly smp: SmpTransportSet<SmpTarget, SmpUdpTransport>;
  /** From stop() on: a notification left unacknowledged then was cut short by the stop, not failed by the device
   * (its relation stays for stop() to end or save, its command fails without taking the device offline). */
  private stopping = false;
  /** stop() waits for it: a start still reading the saved files would bind the socket after stop() closed it. */
  private starting: Promise<void> | undefined;

  constructor(
    private readonly config: CoapAdapterConfig,
    private readonly ctx: AdapterContext,
  ) {
    this.endpoint = new UdpCoapEndpoint({
      bindAddress: config.bind,
      port: config.port,
      transmission: { ackTimeoutMs: config.ack_timeout * 1000, maxRetransmit: config.max_retransmit },
      maxPayloadBytes: config.max_payload,
      blockSize: config.block_size,
      requestTimeoutMs: config.request_timeout * 1000,
      // The LwM2M server observes a few resources per registered client (Zephyr allows 10 observers).
      maxObservations: 1024 + 4 * config.lwm2m.max_registrations,
      onDecodeError: (reason, peer, bytes, kind) =>
        ctx.decodeError(`coap_${kind}`, { bytes, error: `${reason} (from ${formatPeer(peer)})` }),
      onHandlerError: (error, req) =>
        ctx.logger.error({ err: error, path: req.path.join('/'), peer: formatPeer(req.source) }, 'CoAP handler failed'),
      onSocketError: (error) => ctx.logger.warn({ err: error }, 'CoAP socket error'),
    });
    this.observers = new CommandObservers(
      config.max_observers,
      (deviceId, old) => {
        ctx.logger.info(
          { device: deviceId, peer: formatPeer(old.peer) },
          `/ps/${deviceId}/set: a new observer replaced the oldest of the most a device keeps, which is told so (5.03 without Observe)`,
        );
        void this.endpoint.endObservation(
          old.peer,
          old.token,
          '5.03',
          'replaced by a newer observer of this device (4 at most)',
        );
      },
      () => this.observersStore.changed(),
    );
    this.observersStore = new CommandObserversStore(ctx.dataDir, () => this.observers, ctx.logger);
    this.identity = new IdentityResolver([], config.allow_path_identity);
    this.discovery = new MulticastDiscovery(this.endpoint, ctx, discoveryOptions(config));
    this.lwm2m = config.lwm2m.enabled
      ? createLwm2mServer({ endpoint: this.endpoint, ctx, config: config.lwm2m, dataDir: ctx.dataDir })
      : undefined;
    const ps = { ctx, identity: () => this.identity, observers: this.observers };
    this.endpoint.route('ps', createPsHandler(ps), {
      admit: createPsAdmit(ps),
      observeRefused: createPsObserveRefused(ps),
    });
    this.endpoint.route('.well-known', serveWellKnownCore);
    this.smp = new SmpTransportSet(
      (id, { address, settings }) => new SmpUdpTransport(id, address, settings, smpEvents(ctx, id)),
      (transport) => transport.close('SMP transport closed (device reconfigured or adapter stopped)'),
    );
  }

  start(): Promise<void> {
    this.starting = this.startNow();
    return this.starting;
  }

  private async startNow(): Promise<void> {
    this.state = { state: 'starting' };
    this.stopping = false;
    // Read before the socket opens, restored with the devices after: no request is served in between, when no device
    // would be known. A start that fails to bind leaves the file as it is.
    const saved = await this.observersStore.read();
    await this.lwm2m?.load();
    try {
      await this.endpoint.start();
    } catch (error) {
      // Nothing reaches the LwM2M clients now (their saved registrations stay for the start that works).
      this.lwm2m?.unreachable();
      // One line naming the setting, like the broker's and HTTP's listeners: the host logs it on every retry.
      const bind = error instanceof UdpBindError ? error : undefined;
      const zone = bind && zoneBindProblem(bind);
      const reason = !bind
        ? String(error)
        : zone
          ? `${COAP_BIND_SETTING.portKey} ${bind.port} on ${bind.address}: ${zone}`
          : bindErrorMessage(bind, COAP_BIND_SETTING, bind.address, bind.port);
      this.state = { state: 'failed', reason };
      throw bind ? new Error(reason) : error;
    }
    const devices = this.parseDevices();
    if (saved) this.observersStore.restore(saved, devices);
    this.applyDevices(devices);
    await this.lwm2m?.start();
    this.discovery.start();
    this.state = { state: 'running' };
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.stopping = true;
    this.discovery.stop();
    await this.lwm2m?.stop();
    for (const client of this.clients.values()) client.stop();
    this.clients.clear();
    this.smp.clear();
    await this.endRelations();
    // The socket first: a registration arriving while the file is written would be neither saved nor told to go.
    await this.endpoint.stop();
    await this.observersStore.close();
    this.state = { state: 'stopped' };
  }

  /**
   * The relations do not outlive a clean stop: told so (RFC 7641 §3.2), a device registers again after Max-Age
   * instead of waiting for commands that would be kept for a GET it never sends. Those told are saved no more, so
   * that a device that registers again is not notified twice; the last commands stay saved for the GET or
   * registration of a device that has not picked it up. A relation whose 5.03 could not be sent (the socket is gone
   * or refuses it) is still running on the device: it stays saved, to be restored at the next start as after a crash.
   */
  private async endRelations(): Promise<void> {
    const relations = this.observers.relations();
    const told = await Promise.all(
      relations.map(({ observer: o }) =>
        this.endpoint.endObservation(
          o.peer,
          o.token,
          '5.03',
          'gateway stopping: register again',
          REGISTER_AGAIN_AFTER_S,
        ),
      ),
    );
    for (const [i, { deviceId, observer }] of relations.entries())
      if (told[i]) this.observers.remove(deviceId, observer.peer, observer.token);
    const untold = told.filter((sent) => !sent).length;
    if (untold > 0)
      this.ctx.logger.warn(
        { file: this.observersStore.file, relations: untold },
        `/ps/<id>/set: ${untold} observers could not be told that the gateway stops (socket closed or send refused): kept saved, to be restored at the next start`,
      );
  }

  status(): AdapterStatus {
    return {
      ...this.state,
      details: {
        port: this.endpoint.port,
        command_observers: this.observers.size,
        ...this.endpoint.stats(),
        ...(this.lwm2m ? { lwm2m: this.lwm2m.status() } : {}),
      },
    };
  }

  /**
   * A device whose entry is unchanged but for `smp` (its SMP transport follows that on its own) keeps its client: a
   * reload does not cancel its requests or observations.
   */
  async devicesChanged(): Promise<void> {
    const previous = new Map(this.devices.map((d) => [d.id, clientKeys(d)]));
    const devices = this.parseDevices();
    const unchanged = new Set(devices.filter((d) => previous.get(d.id) === clientKeys(d)).map((d) => d.id));
    const stale = [...this.clients].filter(([id]) => !unchanged.has(id));
    for (const [id, client] of stale) {
      this.clients.delete(id);
      client.stop();
    }
    this.applyDevices(devices);
    this.lwm2m?.devicesChanged();
  }

  async command(deviceId: string, cmd: DeviceCommand): Promise<CommandResult> {
    if (this.lwm2m?.handles(deviceId)) return this.lwm2m.command(deviceId, cmd);
    const device = this.devices.find((d) => d.id === deviceId);
    if (!device) throw new Error(`"${deviceId}" is not a configured CoAP device`);
    const client = this.clients.get(deviceId);
    if (client && Object.keys(device.resources).length > 0) return client.command(cmd);
    if (cmd.kind === 'get') {
      throw new Error(`"${deviceId}" publishes on its own (/ps); map resources: to read from its CoAP server`);
    }
    return this.deliverToObservers(deviceId, cmd.payload);
  }

  async request(name: string, deviceId: string, data: Record<string, unknown>): Promise<unknown> {
    if (name === 'lwm2m') {
      if (!this.lwm2m?.handles(deviceId)) throw new Error(`"${deviceId}" is not an LwM2M device (no lwm2m: block)`);
      return this.lwm2m.request(deviceId, data);
    }
    if (name === 'smp' || isOtaRequestName(name)) return this.smpRequest(name, deviceId, data);
    if (name !== 'coap') {
      throw new Error(`the coap adapter has no "${name}" request (known: coap, lwm2m, smp, ota_update)`);
    }
    const client = this.clients.get(deviceId) ?? this.clientFor(deviceId);
    return client.raw(parseRawRequest(data));
  }

  /** `device/smp` and `device/ota_update` (Zigbee2MQTT's `ota_update/update` and `/check` too) over UDP. */
  private smpRequest(name: string, deviceId: string, data: Record<string, unknown>): Promise<unknown> {
    const transport = this.smp.get(deviceId);
    if (!transport) {
      throw new Error(`device "${deviceId}" has no SMP: set \`smp: true\` (with its \`address\`) in its config`);
    }
    if (name === 'smp') return runSmpRequest(transport.client, data);
    return runOta(name, { ctx: this.ctx, deviceId, smp: transport.client }, data);
  }

  /** Kept, not started: later requests share its availability probe, and a reload or stop() stops it. */
  private clientFor(deviceId: string): DeviceClient {
    const device = this.devices.find((d) => d.id === deviceId);
    if (!device?.address) throw new Error(`"${deviceId}" has no address: the gateway cannot reach its CoAP server`);
    const client = this.newClient(device);
    this.clients.set(deviceId, client);
    return client;
  }

  private async deliverToObservers(deviceId: string, command: Record<string, unknown>): Promise<CommandResult> {
    this.observers.setLastCommand(deviceId, command);
    const relations = this.observers.of(deviceId);
    // No relation yet: the command waits for the device's next GET /ps/<id>/set (sleepy devices poll).
    if (relations.length === 0) return {};
    const sequence = this.observers.nextSequence(deviceId);
    const etag = this.observers.etag(deviceId);
    const outcomes = await Promise.all(
      relations.map(async (o) => {
        const response = { code: '2.05', ...encodeCommand(o.accept, command), ...(etag ? { etag } : {}) };
        const outcome = await this.endpoint.notify(o.peer, o.token, sequence, response, true, o.block2Szx);
        this.ctx.countMessage('out');
        // The endpoint's stop cancels what is still retransmitted: the relation stays for stop() to end, or to save
        // when its 5.03 cannot be sent either.
        if (outcome !== 'ack' && !this.stopping) this.observers.remove(deviceId, o.peer, o.token);
        return outcome;
      }),
    );
    if (!outcomes.includes('ack')) {
      // Cut short by our own stop (a reload that restarts the adapter, a shutdown): no verdict on the device.
      if (this.stopping)
        throw new Error(
          `the CoAP adapter stopped before a /ps/${deviceId}/set observer acknowledged the command (kept for its next GET)`,
        );
      // A RST is an answer (RFC 7641 §3.6: the device no longer observes, e.g. it rebooted): a sign of life, not a
      // reason to take it offline; only a notification nobody answered is.
      if (outcomes.includes('rst')) {
        this.ctx.availability(deviceId, true);
        throw new Error(
          `the /ps/${deviceId}/set observer rejected the command with RST: it no longer observes (kept for its next GET)`,
        );
      }
      this.ctx.availability(deviceId, false);
      throw new Error(`no /ps/${deviceId}/set observer acknowledged the command (kept for its next GET)`);
    }
    // The ACK is a sign of life: a device that only observes (an actuator) publishes nothing else.
    this.ctx.availability(deviceId, true);
    return {};
  }

  private parseDevices(): Device[] {
    const devices: Device[] = [];
    for (const raw of this.ctx.devices()) {
      const parsed = coapDeviceSchema.safeParse(raw);
      if (parsed.success) devices.push({ ...parsed.data, resources: resourcesOf(parsed.data), id: raw.id });
      else this.ctx.logger.warn({ device: raw.id, issues: parsed.error.issues }, 'invalid CoAP device entry');
    }
    return devices;
  }

  /** Starts a client for every device with resources to read that has none yet. */
  private applyDevices(devices: Device[]): void {
    this.devices = devices;
    this.identity = new IdentityResolver(devices, this.config.allow_path_identity);
    const ids = new Set(devices.map((d) => d.id));
    for (const d of devices) if (d.ps_id !== undefined && !ids.has(d.ps_id)) this.observers.move(d.ps_id, d.id);
    // RFC 7641 §3.2: a notification with an error code and no Observe ends the relation, so the device stops waiting.
    for (const gone of this.observers.retain(ids))
      void this.endpoint.endObservation(gone.peer, gone.token, '4.04', 'device removed from the gateway');
    this.smp.sync(smpTargets(devices));
    for (const device of devices) {
      if (this.clients.has(device.id)) continue;
      if (device.lwm2m || !device.address || (!device.discover && Object.keys(device.resources).length === 0)) continue;
      const client = this.newClient(device);
      this.clients.set(device.id, client);
      client.start();
    }
  }

  private newClient(device: Device): DeviceClient {
    return new DeviceClient(device, this.endpoint, this.ctx, {
      requestTimeoutMs: this.config.request_timeout * 1000,
      observeFreshnessMs: this.config.observe_freshness * 1000,
      retryMinMs: 2000,
      retryMaxMs: 300_000,
    });
  }
}

/** The part of an entry the device's CoAP client is made from. */
function clientKeys(device: Device): string {
  const { smp: _smp, ...rest } = device;
  return JSON.stringify(rest);
}

function smpTargets(devices: readonly Device[]): Map<string, SmpTarget> {
  const targets = new Map<string, SmpTarget>();
  for (const device of devices) {
    const settings = coapSmpSettings(device);
    if (settings && device.address) targets.set(device.id, { address: device.address, settings });
  }
  return targets;
}

function smpEvents(ctx: AdapterContext, deviceId: string): SmpUdpEvents {
  return {
    ...smpPacketEvents(ctx, deviceId),
    stray: (from) =>
      ctx.logger.debug({ device: deviceId, from }, 'datagram on the SMP socket from another peer ignored'),
    socketError: (err) => ctx.logger.warn({ err, device: deviceId }, 'SMP socket error'),
  };
}
