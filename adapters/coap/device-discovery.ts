// GET /.well-known/core from a device that runs a CoAP server (RFC 6690), published as info.coap_resources. Refusals
// are retried with back-off, never before their Max-Age (a booting device answers 5.03); a device that has no such
// resource (4.04, 4.05) is recorded as such and not asked again.
import type { AdapterContext } from '../../gateway/adapter.js';
import type { CoapClientResponse } from './endpoint.js';
import { parseLinkFormat } from './link-format.js';
import { type RetryPolicy, retryDelay } from './retry.js';
import type { Timers } from './timers.js';

const WELL_KNOWN_CORE = '/.well-known/core';

/** Answers that mean the device has no /.well-known/core: asking again will not change them. */
const NO_DISCOVERY = new Set(['4.04', '4.05']);

export class DeviceDiscovery {
  private attempt = 0;
  private lastRefusal: string | undefined;

  constructor(
    private readonly deviceId: string,
    private readonly get: (path: string) => Promise<CoapClientResponse>,
    private readonly ctx: AdapterContext,
    private readonly timers: Timers,
    private readonly policy: RetryPolicy,
  ) {}

  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    let res: CoapClientResponse;
    try {
      res = await this.get(WELL_KNOWN_CORE);
    } catch (error) {
      if (this.timers.stopped) return; // cancelled by stop(): nothing went wrong
      this.ctx.logger.warn({ device: this.deviceId, err: error }, 'CoAP resource discovery failed');
      // A device that was not up yet when the gateway started is usually up moments later.
      this.retry();
      return;
    }
    if (res.code === '2.05') this.publish(res);
    else this.refused(res);
  }

  private publish(res: CoapClientResponse): void {
    const parsed = parseLinkFormat(res.payload);
    if (!parsed.ok) {
      this.ctx.decodeError('coap_link_format', { deviceId: this.deviceId, bytes: res.payload, error: parsed.error });
      return;
    }
    this.ctx.deviceInfo(this.deviceId, { coap_resources: parsed.links });
  }

  private refused(res: CoapClientResponse): void {
    this.logRefusal(res.code);
    if (NO_DISCOVERY.has(res.code)) {
      this.ctx.deviceInfo(this.deviceId, { coap_discovery: `${res.code}: the device has no ${WELL_KNOWN_CORE}` });
      return;
    }
    this.retry(res.maxAge);
  }

  /** Warned when the code changes, debug while it repeats: a device that boots for minutes is reported once. */
  private logRefusal(code: string): void {
    const level = code === this.lastRefusal ? 'debug' : 'warn';
    this.lastRefusal = code;
    this.ctx.logger[level]({ device: this.deviceId, code }, `CoAP resource discovery answered ${code}`);
  }

  private retry(maxAgeS?: number): void {
    this.timers.later(() => void this.run(), retryDelay(this.policy, this.attempt++, maxAgeS));
  }
}
