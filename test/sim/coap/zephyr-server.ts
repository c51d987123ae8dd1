// A UDP CoAP device modelled on Zephyr's samples/net/sockets/coap_server (protocols.md §2.1): /obs notifies
// "Counter: N\n", /large is 2048 x 'A' in 64-byte blocks, /large-update takes Block1 PUTs, /core1 answers with
// the C string's trailing NUL, /led stores what is PUT, /.well-known/core lists them.
import type { CoapIncomingRequest, CoapPeer } from '../../../adapters/coap/endpoint.js';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';

export class ZephyrCoapServerSim {
  readonly endpoint: UdpCoapEndpoint;

  /** `port` 0: any free one (start() returns it). */
  constructor(port = 0) {
    this.endpoint = new UdpCoapEndpoint({
      bindAddress: '::1',
      port,
      blockSize: 64,
      transmission: { ackTimeoutMs: 200, maxRetransmit: 2 },
    });
  }

  led = 'off';
  uploaded: Buffer | undefined;
  private counter = 0;
  private observers: { peer: CoapPeer; token: Buffer }[] = [];
  registrations = 0;
  /** Max-Age (s) on /obs answers and notifications; unset: none (the sample sends none). */
  maxAge: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  async start(notifyEveryMs = 100): Promise<number> {
    const routes: Record<
      string,
      (req: CoapIncomingRequest) => {
        code: string;
        payload?: string | Buffer;
        contentFormat?: number;
        observe?: number;
        maxAge?: number;
      }
    > = {
      obs: (req) => {
        if (req.observe === 0) {
          this.observers = this.observers.filter((o) => o.peer.port !== req.source.port);
          this.observers.push({ peer: req.source, token: req.token });
          this.registrations++;
        }
        return {
          code: '2.05',
          contentFormat: 0,
          payload: `Counter: ${this.counter}\n`,
          observe: req.observe === 0 ? this.counter : undefined,
          maxAge: this.maxAge,
        };
      },
      large: () => ({ code: '2.05', contentFormat: 0, payload: Buffer.alloc(2048, 'A') }),
      'large-update': (req) => {
        this.uploaded = req.payload;
        return { code: '2.04' };
      },
      core1: () => ({ code: '2.05', contentFormat: 0, payload: Buffer.from('Just a test\n\0') }),
      // The sample's /query prints the request's Uri-Query options.
      query: (req) => ({ code: '2.05', contentFormat: 0, payload: req.query.join('&') }),
      led: (req) => {
        if (req.method === 'PUT') this.led = req.payload.toString();
        return req.method === 'PUT' ? { code: '2.04' } : { code: '2.05', contentFormat: 0, payload: this.led };
      },
      '.well-known': () => ({
        code: '2.05',
        contentFormat: 40,
        payload: '</obs>;obs,</large>,</large-update>,</core1>;title="Core 1";rt=core1,</led>',
      }),
    };
    for (const [segment, handler] of Object.entries(routes)) this.endpoint.route(segment, handler);
    await this.endpoint.start();
    this.timer = setInterval(() => void this.tick(), notifyEveryMs);
    return this.endpoint.port;
  }

  /** Forget every observer, as a device does when it reboots. */
  reboot(): void {
    this.observers = [];
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.endpoint.stop();
  }

  private async tick(): Promise<void> {
    this.counter++;
    for (const o of [...this.observers]) {
      const ok = await this.endpoint.notify(o.peer, o.token, this.counter, {
        code: '2.05',
        contentFormat: 0,
        payload: `Counter: ${this.counter}\n`,
        maxAge: this.maxAge,
      });
      if (!ok) this.observers = this.observers.filter((x) => x !== o);
    }
  }
}
