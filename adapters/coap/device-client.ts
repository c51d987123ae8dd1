// Gateway-initiated CoAP for one onboarded device that runs a CoAP server (Zephyr's coap_server sample):
// resource discovery, observations with re-registration, polling, and /set /get mapped to PUT/POST/GET.
// Availability: a CON timeout marks the device offline; any answer marks it online.
import type { AdapterContext, CommandResult, DeviceCommand } from '../../gateway/adapter.js';
import type { CoapDeviceConfig, CoapResourceConfig } from './config.js';
import { decodeStatePayload, encodeValue } from './content-format.js';
import type { CoapClientResponse, CoapEndpoint, CoapMethod, CoapObservation, CoapPeer } from './endpoint.js';
import { parseLinkFormat } from './link-format.js';
import { CoapTimeoutError } from './transport/client-side.js';
import { canonicalAddress } from './transport/peer.js';

export interface DeviceClientOptions {
  requestTimeoutMs: number;
  /** Re-register an observation after this long without a notification (devices restart, relations get lost). */
  observeFreshnessMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

type Device = CoapDeviceConfig & { id: string };

/** Slack after a notification's Max-Age before re-registering: the next one may be on its way. */
const MAX_AGE_GRACE_S = 2;

export class DeviceClient {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly observations = new Map<string, CoapObservation>();
  private readonly peer: CoapPeer;

  constructor(
    private readonly device: Device,
    private readonly endpoint: CoapEndpoint,
    private readonly ctx: AdapterContext,
    private readonly options: DeviceClientOptions,
  ) {
    this.peer = { address: canonicalAddress(device.address ?? ''), port: device.port };
  }

  start(): void {
    if (this.device.discover) void this.discover();
    for (const [property, resource] of Object.entries(this.device.resources)) {
      if (resource.observe) this.observe(property, resource, 0);
      if (resource.poll !== undefined) this.poll(property, resource);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const relations = [...this.observations.values()];
    this.observations.clear();
    await Promise.all(relations.map((o) => o.cancel().catch(() => undefined)));
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

  /** bridge/request/device/coap: {"method": "PUT", "path": "/x", "payload": "...", "content_format": 0}. */
  async raw(method: CoapMethod, path: string, payload?: string, contentFormat?: number): Promise<unknown> {
    const res = await this.send(method, path, payload === undefined ? undefined : Buffer.from(payload), contentFormat);
    return describe(res);
  }

  private async send(method: CoapMethod, path: string, payload?: Buffer, contentFormat?: number) {
    try {
      const res = await this.endpoint.request({
        peer: this.peer,
        method,
        ...splitTarget(path),
        payload,
        contentFormat,
        timeoutMs: this.options.requestTimeoutMs,
      });
      this.ctx.countMessage('out');
      this.ctx.availability(this.device.id, true);
      return res;
    } catch (error) {
      if (error instanceof CoapTimeoutError) this.ctx.availability(this.device.id, false);
      throw error;
    }
  }

  private async discover(attempt = 0): Promise<void> {
    try {
      const res = await this.send('GET', '/.well-known/core');
      const parsed = parseLinkFormat(res.payload);
      if (!parsed.ok) {
        this.ctx.decodeError('coap_link_format', { deviceId: this.device.id, bytes: res.payload, error: parsed.error });
        return;
      }
      this.ctx.deviceInfo(this.device.id, { coap_resources: parsed.links });
    } catch (error) {
      this.ctx.logger.warn({ device: this.device.id, err: error }, 'CoAP resource discovery failed');
      // A device that was not up yet when the gateway started is usually up moments later: back off from 2 s.
      const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** attempt);
      this.later(() => void this.discover(attempt + 1), delay);
    }
  }

  private observe(property: string, resource: CoapResourceConfig, attempt: number): void {
    if (this.stopped) return;
    let freshness: NodeJS.Timeout | undefined;
    const reRegister = (): void => {
      const current = this.observations.get(property);
      this.observations.delete(property);
      void current?.cancel().catch(() => undefined);
      this.observe(property, resource, 0);
    };
    /** RFC 7641 §3.3.1: a notification is fresh for its Max-Age; a device that sets one and then falls silent past
     * it has likely rebooted and forgotten us, so re-register then rather than after observe_freshness. */
    const touch = (maxAge?: number): void => {
      if (freshness) {
        clearTimeout(freshness);
        this.timers.delete(freshness);
      }
      const fresh = maxAge === undefined ? Number.POSITIVE_INFINITY : (maxAge + MAX_AGE_GRACE_S) * 1000;
      freshness = this.later(reRegister, Math.min(this.options.observeFreshnessMs, fresh));
    };
    this.endpoint
      .observe(
        { peer: this.peer, method: 'GET', ...splitTarget(resource.path), timeoutMs: this.options.requestTimeoutMs },
        (res) => {
          touch(res.maxAge);
          this.publishValues(property, res);
        },
      )
      .then((observation) => {
        if (this.stopped) {
          void observation.cancel();
          return;
        }
        this.ctx.availability(this.device.id, true);
        this.observations.set(property, observation);
        this.publishValues(property, observation.first);
        if (observation.first.observe === undefined) {
          // The device answered but does not observe this resource: fall back to polling at the freshness interval.
          this.later(() => this.observe(property, resource, 0), this.options.observeFreshnessMs);
          return;
        }
        touch(observation.first.maxAge);
      })
      .catch((error: unknown) => {
        if (error instanceof CoapTimeoutError) this.ctx.availability(this.device.id, false);
        const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** attempt);
        this.later(() => this.observe(property, resource, attempt + 1), delay);
      });
  }

  private poll(property: string, resource: CoapResourceConfig): void {
    const tick = async (): Promise<void> => {
      try {
        this.publishValues(property, await this.send('GET', resource.path));
      } catch {
        // availability already reported by send(); keep polling
      }
      this.later(() => void tick(), (resource.poll ?? 60) * 1000);
    };
    void tick();
  }

  private publishValues(property: string, res: CoapClientResponse): void {
    if (!res.code.startsWith('2.')) {
      this.ctx.logger.debug({ device: this.device.id, property, code: res.code }, 'CoAP resource answered an error');
      return;
    }
    this.ctx.countMessage('in');
    const values = this.decode(property, res);
    if (values) this.ctx.telemetry(this.device.id, values);
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
    this.ctx.publish(this.device.id, 'response', { method, path, ...describe(res) });
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }
}

/** "/sensors/temp?unit=C&x" -> Uri-Path ["sensors", "temp"] and Uri-Query ["unit=C", "x"] (RFC 7252 §6.4). */
export function splitTarget(target: string): { path: string[]; query: string[] } {
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const query = mark < 0 ? '' : target.slice(mark + 1);
  return {
    path: path.split('/').filter((s) => s !== ''),
    query: query.split('&').filter((s) => s !== ''),
  };
}

function describe(res: CoapClientResponse): Record<string, unknown> {
  const body = res.payload.subarray(0, res.payload.length - trailingNuls(res.payload));
  const printable = body.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b <= 0x7e));
  return {
    code: res.code,
    content_format: res.contentFormat ?? null,
    payload: printable ? body.toString('utf8') : res.payload.toString('hex'),
    payload_encoding: printable ? 'utf8' : 'hex',
  };
}

function trailingNuls(bytes: Buffer): number {
  let n = 0;
  while (n < bytes.length && bytes[bytes.length - 1 - n] === 0) n++;
  return n;
}
