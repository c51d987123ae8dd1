// Whether the zone of a link-local address names an interface this host has now. Node (libuv) turns a zone into an
// interface index by name, and a name no interface has into no zone at all: the kernel then sends the datagram out
// of whichever interface its routes prefer (Ethernet, usually), never reaching a device on lowpan0 or wpan0. A
// request is refused with this reason instead, and tried again by its caller once the interface is up.
import { networkInterfaces } from 'node:os';

/** The host's interfaces are read again at most this often. */
const READ_INTERVAL_MS = 1000;

export class InterfaceZones {
  #names = new Set<string>();
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly read: () => ReturnType<typeof networkInterfaces> = networkInterfaces,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Why a datagram to `address` cannot leave by the interface its zone names, or undefined when it can. */
  problem(address: string): string | undefined {
    const mark = address.indexOf('%');
    if (mark < 0) return undefined;
    const zone = address.slice(mark + 1);
    if (this.#current().has(zone)) return undefined;
    return `interface "${zone}" is not on this host, or has no IPv6 address yet`;
  }

  #current(): Set<string> {
    const now = this.now();
    if (now - this.#readAt >= READ_INTERVAL_MS) {
      this.#readAt = now;
      this.#names = new Set(
        Object.entries(this.read())
          .filter(([, entries]) => entries?.some((entry) => entry.family === 'IPv6'))
          .map(([name]) => name),
      );
    }
    return this.#names;
  }
}
