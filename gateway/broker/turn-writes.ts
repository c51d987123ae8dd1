// One socket write per event-loop turn to each MQTT client, not one per message.
//
// aedes queues every delivery to a client in its own setImmediate, and mqtt-packet uncorks the socket on the next
// tick after each packet, so a client subscribed to busy topics cost one writev system call per message (10-20 % of
// the gateway's CPU under CoAP load, on loopback). Here the socket is corked from the first write of a check phase
// until an immediate queued behind the last delivery whose write runs in that phase, so the phase's packets leave in
// one writev, in the same turn as before: no message waits longer than it did.
//
// The subtle part is which immediate uncorks. Immediates queued while the check phase runs go to the next turn. So a
// delivery made before the phase (in the poll phase, where CoAP requests are handled) moves the pending uncork behind
// its own write; one made during the phase, once that phase's writes have begun, must leave the phase's uncork where
// it is (moving it would hold the phase's packets a whole turn, and turn after turn under steady load) and queues
// the next turn's. Holding the cork into the next turn was measured: it multiplied the median latency.
import type { Client } from 'aedes';

type Deliver = (packet: unknown, cb: () => void) => void;

interface CorkableStream {
  cork(): void;
  uncork(): void;
  write: (...args: never[]) => boolean;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
}

interface Uncork {
  readonly immediate: NodeJS.Immediate;
  /** Queued after this turn's writes had begun: it runs in the next turn. */
  readonly nextTurn: boolean;
}

export function writeOncePerTurn(client: Client): void {
  const target = client as unknown as { deliver0: Deliver; deliverQoS: Deliver; conn: Partial<CorkableStream> };
  const conn = target.conn;
  if (typeof conn.cork !== 'function' || typeof conn.uncork !== 'function' || typeof conn.write !== 'function') return;
  const stream = conn as CorkableStream;
  /** The socket is corked by us: written to since the last uncork ran. */
  let held = false;
  /** The latest uncork queued; it can still be moved behind newer deliveries while its turn's writes have not begun. */
  let latest: Uncork | undefined;

  const queueUncork = (nextTurn: boolean): Uncork => {
    const uncork: Uncork = {
      nextTurn,
      immediate: setImmediate(() => {
        if (latest === uncork) latest = undefined;
        if (!held) return;
        held = false;
        stream.uncork();
      }),
    };
    return uncork;
  };

  const write = stream.write;
  stream.write = function corkFirst(this: CorkableStream, ...args: never[]) {
    if (!held && latest !== undefined) {
      held = true;
      stream.cork();
    }
    const written = write.apply(this, args);
    // Corked bytes count against the high-water mark: past it write() says false and aedes waits for 'drain' before
    // it calls the delivery back, which throttles routing. Send what is held before it gets there.
    if (held && stream.writableLength >= stream.writableHighWaterMark / 2) {
      held = false;
      stream.uncork();
    }
    return written;
  } as CorkableStream['write'];

  const corkAround =
    (deliver: Deliver): Deliver =>
    (packet, cb) => {
      deliver(packet, cb); // aedes queues the write now
      // `held` here means this turn's writes have begun: an uncork queued before them runs in this turn, after them.
      if (latest !== undefined && !(held && !latest.nextTurn)) clearImmediate(latest.immediate);
      latest = queueUncork(held);
    };
  target.deliver0 = corkAround(target.deliver0);
  target.deliverQoS = corkAround(target.deliverQoS);
}
