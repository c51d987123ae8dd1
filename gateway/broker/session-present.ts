// CONNACK Session Present for a resumed session without subscriptions. aedes sets the flag only when it restores
// subscriptions, but MQTT-3.2.2-2 asks for 1 whenever the server holds a session for the client id (Mosquitto
// answers so): a client that connected with clean session 0 and subscribed to nothing yet, or whose session holds
// only queued messages or unfinished QoS 2 exchanges, was told its session was new. aedes gives no hook between
// deciding the flag and writing the CONNACK, so the flag is set in the CONNACK's bytes on their way out.
import type { Duplex } from 'node:stream';

const CONNACK_HEADER = [0x20, 0x02] as const;
const CONNACK_BYTES = 4;
const FLAGS_OFFSET = 2;
const SESSION_PRESENT = 0x01;

type Write = Duplex['write'];

/**
 * Sets Session Present in the next CONNACK written to `stream`. Call only once the connection is accepted (after
 * authentication): from then on aedes writes nothing but a return code 0 CONNACK before the connection is up. The
 * stream's own `write` is back in place once the CONNACK's four bytes went through; anything that does not start
 * with a 3.1.1 CONNACK header is passed on untouched.
 */
export function markSessionPresent(stream: Duplex): void {
  const hadOwnWrite = Object.hasOwn(stream, 'write');
  const original = stream.write;
  let offset = 0;
  const restore = (): void => {
    if (hadOwnWrite) stream.write = original;
    else delete (stream as { write?: Write }).write;
  };
  stream.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
    let out = chunk;
    if (chunk instanceof Uint8Array && chunk.length > 0) {
      let bytes: Uint8Array = chunk;
      for (let i = 0; i < chunk.length && offset < CONNACK_BYTES; i++, offset++) {
        if (offset < FLAGS_OFFSET && chunk[i] !== CONNACK_HEADER[offset]) {
          offset = CONNACK_BYTES; // not a CONNACK: leave it alone
          break;
        }
        if (offset === FLAGS_OFFSET) {
          // The chunk may be a shared constant (mqtt-packet writes one for the flags byte): copy, never mutate.
          bytes = Buffer.from(chunk);
          bytes[i] = (bytes[i] as number) | SESSION_PRESENT;
        }
      }
      out = bytes;
    }
    if (offset >= CONNACK_BYTES) restore();
    return (original as (...args: unknown[]) => boolean).call(this, out, ...rest);
  } as Write;
}
