// Multicast discovery: while permit_join is on, GET /.well-known/core to the All-CoAP-Nodes groups (ff02::fd,
// ff05::fd) on each configured interface and announce responders that are not configured yet.
import type { AdapterContext } from '../../gateway/adapter.js';
import type { CoapAdapterConfig } from './config.js';
import type { CoapClientResponse } from './endpoint.js';
import { addressMatcher } from './identity.js';
import { parseLinkFormat } from './link-format.js';
import { formatPeer } from './transport/peer.js';
import type { UdpCoapEndpoint } from './transport/udp-endpoint.js';

export interface DiscoveryOptions {
  interfaces: readonly string[];
  groups: readonly string[];
  intervalMs: number;
  windowMs: number;
  port: number;
}

/** All-CoAP-Nodes are asked on the default CoAP port (RFC 7252 §12.8). */
const COAP_PORT = 5683;

export function discoveryOptions(config: CoapAdapterConfig): DiscoveryOptions {
  return {
    interfaces: config.interfaces,
    groups: config.multicast_groups,
    intervalMs: config.discovery_interval * 1000,
    windowMs: config.discovery_window * 1000,
    port: COAP_PORT,
  };
}

export class MulticastDiscovery {
  private ticker: NodeJS.Timeout | undefined;
  /** performance.now() of the last round: monotonic, so a clock step neither stops rounds nor runs them early. */
  private lastRound = Number.NEGATIVE_INFINITY;
  private running = false;

  constructor(
    private readonly endpoint: UdpCoapEndpoint,
    private readonly ctx: AdapterContext,
    private readonly options: DiscoveryOptions,
  ) {}

  start(): void {
    if (this.options.interfaces.length === 0) return;
    // permit_join has no change event in the adapter context: check it once a second, run a round per interval.
    this.ticker = setInterval(() => {
      if (!this.ctx.permitJoin() || this.running || performance.now() - this.lastRound < this.options.intervalMs)
        return;
      void this.round();
    }, 1000);
    this.ticker.unref();
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  async round(): Promise<void> {
    this.running = true;
    this.lastRound = performance.now();
    try {
      const targets = this.options.interfaces.flatMap((iface) => this.options.groups.map((g) => `${g}%${iface}`));
      await Promise.all(
        targets.map((address) =>
          this.endpoint
            .multicast(
              { peer: { address, port: this.options.port }, method: 'GET', path: ['.well-known', 'core'] },
              this.options.windowMs,
              (res) => this.onResponse(res),
            )
            .catch((error: unknown) => this.ctx.logger.warn({ err: error, group: address }, 'CoAP multicast failed')),
        ),
      );
    } finally {
      this.running = false;
    }
  }

  private onResponse(res: CoapClientResponse): void {
    const known = this.ctx
      .devices()
      .some((d) => typeof d.address === 'string' && addressMatcher(d.address)(res.source.address));
    if (known) return;
    const links = parseLinkFormat(res.payload);
    if (!links.ok) {
      this.ctx.decodeError('coap_link_format', { bytes: res.payload, error: links.error });
    }
    const suffix =
      res.source.address
        .split('%')[0]
        ?.replace(/[^0-9a-f]/gi, '')
        .slice(-8) ?? '';
    const id = `coap-${suffix.toLowerCase() || 'device'}`;
    this.ctx.deviceSeen({
      transport: 'coap',
      address: formatPeer(res.source),
      suggested_config: {
        id: this.ctx.freeDeviceId?.(id) ?? id,
        transport: 'coap',
        address: res.source.address,
        port: res.source.port,
        discover: true,
      },
      details: { resources: links.ok ? links.links.map((l) => l.path) : [] },
    });
  }
}
