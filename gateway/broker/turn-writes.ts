// One socket write per event-loop turn to each MQTT client, not one per message.
//
// aedes queues every delivery to a client in its own setImmediate, and mqtt-packet uncorks the socket on the next
// tick after each packet, so a client subscribed to busy topics cost one writev system call per message (10-20 % of
// the gateway's CPU under CoAP load, on loopback). Here the socket is corked at the first write after a delivery and
// uncorked by an immediate queued behind the latest delivery, so the packets written in one check phase leave in one
// writev.
//
// Which immediate uncorks is the subtle part: immediates queued while the check phase runs go to the next turn. A
// delivery moves the pending uncork behind its own write, except the uncork the socket was corked for: moving that
// one would hold the packets already written, and under steady load turn after turn (the cork is released at last
// when half the high-water mark is held). So a packet waits at most one turn longer than it would uncorked: when a
// delivery made early in a check phase, before that phase's first write, moved the phase's uncork to the next turn.
// Holding the cork into the next turn every time was measured: it multiplied the median latency.
import type { Client } from 'aedes';

type Deliver = (packet: unknown, cb: () => void) => void;

interface CorkableStream {
  cork(): void;
  uncork(): void;
  write: (...args: never[]) => boolean;
  _writev(...args: never[]): void;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
}

export function writeOncePerTurn(client: Client): void {
  const target = client as unknown as { deliver0: Deliver; deliverQoS: Deliver; conn: Partial<CorkableStream> };
  const conn = target.conn;
  // Only a stream that sends its buffered chunks in one call gains from holding them (net and TLS sockets); a
  // WebSocket stream would still send them one frame each, only later.
  if (typeof conn.cork !== 'function' || typeof conn.uncork !== 'function' || typeof conn._writev !== 'function')
    return;
  const stream = conn as CorkableStream;
  /** The latest uncork queued: it runs after every write queued before it. */
  let latest: NodeJS.Immediate | undefined;
  /** The uncork the socket is corked for, while it is corked by us: never moved. */
  let owner: NodeJS.Immediate | undefined;

  const queueUncork = (): NodeJS.Immediate => {
    const immediate = setImmediate(() => {
      if (latest === immediate) latest = undefined;
      if (owner !== immediate) return;
      owner = undefined;
      stream.uncork();
    });
    return immediate;
  };

  const write = stream.write;
  stream.write = function corkFirst(this: CorkableStream, ...args: never[]) {
    if (owner === undefined && latest !== undefined) {
      owner = latest;
      stream.cork();
    }
    const written = write.apply(this, args);
    // Corked bytes count against the high-water mark: past it write() says false and aedes waits for 'drain' before
    // it calls the delivery back, which throttles routing. Send what is held before it gets there.
    if (owner !== undefined && stream.writableLength >= stream.writableHighWaterMark / 2) {
      owner = undefined;
      stream.uncork();
    }
    return written;
  } as CorkableStream['write'];

  const corkAround =
    (deliver: Deliver): Deliver =>
    (packet, cb) => {
      deliver(packet, cb); // aedes queues the write now
      if (latest !== undefined && latest !== owner) clearImmediate(latest);
      latest = queueUncork();
    };
  const deliverQoS = corkAround(target.deliverQoS);
  target.deliver0 = corkAround(target.deliver0);
  // aedes hands a QoS 0 packet on to deliver0 (wrapped above), which queues its uncork: one is enough.
  target.deliverQoS = (packet, cb) =>
    (packet as { qos?: number }).qos === 0 ? target.deliver0(packet, cb) : deliverQoS(packet, cb);
}
