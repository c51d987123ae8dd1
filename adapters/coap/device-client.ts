// Gateway-initiated CoAP for one onboarded device that runs a CoAP server (Zephyr's coap_server sample):
// resource discovery, observations, polling, and /set /get mapped to PUT/POST/GET.
import type { AdapterContext, CommandResult, DeviceCommand } from '../../gateway/adapter.js';
import { DeviceAvailability } from './availability.js';
import type { CoapDeviceConfig, CoapResourceConfig } from './config.js';
import { decodeStatePayload, encodeValue } from './content-format.js';
import { DeviceDiscovery } from './device-discovery.js';
import type { CoapClientResponse, CoapEndpoint, CoapMethod, CoapPeer, CoapReachability } from './endpoint.js';
import type { RawRequest } from './raw-request.js';
import { ResourceObserver } from './resource-observer.js';
import { describeResponse } from './response-view.js';
import type { RetryPolicy } from './retry.js';
import { splitTarget } from './target.js';
import { Timers } from './timers.js';
import { canonicalAddress } from './transport/peer.js';

export interface DeviceClientOptions extends RetryPolicy {
  requestTimeoutMs: number;
  /** Re-register an observation after this long without a notification (devices restart, relations get lost). */
  observeFreshnessMs: number;
}

type Device = CoapDeviceConfig & { id: string };

export class DeviceClient {
  private readonly timers = new Timers();
  private readonly observers: ResourceObserver[] = [];
  private readonly peer: CoapPeer;
  private readonly availability: DeviceAvailability;

  constructor(
    private readonly device: Device,
    private readonly endpoint: CoapEndpoint & CoapReachability,
    private readonly ctx: AdapterContext,
    private readonly options: DeviceClientOptions,
  ) {
    this.peer = { address: canonicalAddress(device.address ?? ''), port: device.port };
    this.availability = new DeviceAvailability(device.id, this.peer, endpoint, ctx, this.timers.signal);
  }

  start(): void {
    if (this.device.discover) {
      const get = (path: string) => this.send('GET', path);
      new DeviceDiscovery(this.device.id, get, this.ctx, this.timers, this.options).start();
    }
    for (const [property, resource] of Object.entries(this.device.resources)) {
      if (resource.observe) this.observe(property, resource);
      if (resource.poll !== undefined) this.poll(property, resource);
    }
  }

  /** Ends its timers, observations and requests in flight (a cancelled /set must not reach the device later). */
  stop(): void {
    this.timers.stop();
    for (const observer of this.observers.splice(0)) observer.stop();
  }

  async command(cmd: DeviceCommand): Promise<CommandResult> {
    const entries = Object.entries(cmd.payload);
    const resources = this.device.resources;
    const wanted = cmd.kind === 'get' && entries.length === 0 ? Object.keys(resources).map((k) => [k, '']) : entries;
    const unknown = wanted.map(([k]) => k).filter((k) => !(k in resources));
    if (unknown.length > 0) {
      throw new Error(`no CoAP resource mapped for ${unknown.map((k) => `"${k}"`).join(', ')} (see resources:)`);
    }
    const data: Record<string, unknown> = {};
    for (const [property, value] of wanted as [string, unknown][]) {
      const resource = resources[property] as CoapResourceConfig;
      if (cmd.kind === 'set') {
        const body = encodeValue(resource.format, value, property);
        const res = await this.send(resource.method, resource.path, body.payload, body.contentFormat);
        this.publishResponse(resource.method, resource.path, res);
        if (!res.code.startsWith('2.')) throw new Error(`${resource.method} ${resource.path} answered ${res.code}`);
        data[property] = value;
      } else {
        const res = await this.send('GET', resource.path);
        this.publishResponse('GET', resource.path, res);
        if (!res.code.startsWith('2.')) throw new Error(`GET ${resource.path} answered ${res.code}`);
        Object.assign(data, this.decode(property, res));
      }
    }
    return { data, merge: true };
  }

  /** bridge/request/device/coap. */
  async raw(req: RawRequest): Promise<unknown> {
    return describeResponse(await this.send(req.method, req.path, req.payload, req.contentFormat));
  }

  private async send(method: CoapMethod, path: string, payload?: Buffer, contentFormat?: number) {
    const answersWhenSent = this.availability.sending();
    try {
      const res = await this.endpoint.request({
        peer: this.peer,
        method,
        ...splitTarget(path),
        payload,
        contentFormat,
        timeoutMs: this.options.requestTimeoutMs,
        blockSize: this.device.block_size,
        signal: this.timers.signal,
      });
      this.ctx.countMessage('out');
      this.availability.answered();
      return res;
    } catch (error) {
      this.availability.failed(error, answersWhenSent);
      throw error;
    }
  }

  private observe(property: string, resource: CoapResourceConfig): void {
    const observer = new ResourceObserver(this.endpoint, this.peer, resource.path, this.timers, this.options, {
      onAnswer: () => this.availability.answered(),
      onResponse: (res) => this.publishValues(property, res),
      onRegistering: () => this.availability.sending(),
      onFailure: (error, answersWhenSent) => this.availability.failed(error, answersWhenSent),
    });
    this.observers.push(observer);
    observer.start();
  }

  private poll(property: string, resource: CoapResourceConfig): void {
    const tick = async (): Promise<void> => {
      try {
        this.publishValues(property, await this.send('GET', resource.path));
      } catch {
        // availability already reported by send(); keep polling
      }
      this.timers.later(() => void tick(), (resource.poll ?? 60) * 1000);
    };
    void tick();
  }

  private publishValues(property: string, res: CoapClientResponse): void {
    if (this.timers.stopped) return;
    if (!res.code.startsWith('2.')) {
      this.ctx.logger.debug({ device: this.device.id, property, code: res.code }, 'CoAP resource answered an error');
      return;
    }
    const values = this.decode(property, res);
    if (!values) return; // a decode error, counted as such
    this.ctx.countMessage('in');
    this.ctx.telemetry(this.device.id, values);
  }

  private decode(property: string, res: CoapClientResponse): Record<string, unknown> | undefined {
    const decoded = decodeStatePayload(res.contentFormat, res.payload, property);
    if (decoded.ok) return decoded.values;
    this.ctx.decodeError(decoded.code === '4.15' ? 'coap_content_format' : 'coap_payload', {
      deviceId: this.device.id,
      bytes: res.payload,
      error: decoded.error,
    });
    return undefined;
  }

  private publishResponse(method: string, path: string, res: CoapClientResponse): void {
    this.ctx.publish(this.device.id, 'response', { method, path, ...describeResponse(res) });
  }
}
