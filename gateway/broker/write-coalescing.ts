// One write per loop turn to each MQTT connection. mqtt-packet corks a connection for each packet and uncorks it on
// the next tick, but aedes routes every message from its own setImmediate callback, so each packet became its own
// writev: a loopback TCP send that also wakes the reader, one per message. Holding a cork from the first write of
// a turn until the next check phase sends the turn's packets together. Backpressure is unchanged: write() still
// returns false once the buffered bytes pass the high-water mark.
import type { Duplex } from 'node:stream';

export function coalesceWrites(stream: Duplex): void {
  (stream as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  let held = false;
  const release = (): void => {
    if (!held) return;
    held = false;
    stream.uncork();
  };
  const write = stream.write;
  stream.write = function (this: Duplex, ...args: Parameters<Duplex['write']>): boolean {
    if (!held && !stream.destroyed) {
      held = true;
      stream.cork();
      setImmediate(release);
    }
    const ok = write.apply(this, args);
    // A long turn sends what it has well before the high-water mark: write() must not start reporting a full buffer
    // (aedes then waits for 'drain') only because we held the bytes back.
    if (stream.writableLength >= stream.writableHighWaterMark / 2) release();
    return ok;
  } as Duplex['write'];
}
