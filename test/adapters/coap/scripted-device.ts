// A device played datagram by datagram on a RawPeer, for tests of the gateway-initiated side: a script decides what
// (if anything) it answers, and every datagram the gateway sent is kept with its arrival time.
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { closedAfterEach } from '../../helpers/closed-after-each.js';
import { type Frame, frame, RawPeer } from './raw-peer.js';

export interface Received {
  message: CoapMessage;
  at: number;
  /** The datagram's length in bytes. */
  size: number;
}

export type Script = (message: CoapMessage, device: ScriptedDevice, size: number) => void;

export class ScriptedDevice {
  readonly received: Received[] = [];
  /** Where replies go: the port the gateway's datagrams come from. */
  private gatewayPort = 0;

  private constructor(
    private readonly raw: RawPeer,
    private readonly script: Script,
  ) {
    raw.listen((message, fromPort, size) => {
      this.gatewayPort = fromPort;
      this.received.push({ message, at: Date.now(), size });
      this.script(message, this, size);
    });
  }

  static async open(script: Script): Promise<ScriptedDevice> {
    return new ScriptedDevice(await RawPeer.open(), script);
  }

  get port(): number {
    return this.raw.port;
  }

  send(f: Frame): void {
    this.raw.send(frame(f), this.gatewayPort);
  }

  /** The piggy-backed or empty ACK for `request`. */
  ack(request: CoapMessage, f: Omit<Frame, 'type' | 'mid'> = { code: '0.00' }): void {
    const token = f.code === '0.00' ? undefined : [...request.token];
    this.send({ ...f, type: 'ACK', mid: request.messageId, token });
  }

  /** Every CoAP server answers a ping (an empty CON) with RST (RFC 7252 §4.3). */
  answerPing(message: CoapMessage): boolean {
    if (message.type !== 'CON' || message.code !== '0.00') return false;
    this.send({ type: 'RST', code: '0.00', mid: message.messageId });
    return true;
  }

  /** Datagrams with this code (a method such as "0.03", or "0.00" for pings and empty messages). */
  withCode(code: string): Received[] {
    return this.received.filter((r) => r.message.code === code);
  }

  /** The first datagram (from `from` on) that satisfies `predicate`, within `ms`. */
  async waitFor(predicate: (m: CoapMessage) => boolean, ms = 5000, from = 0): Promise<Received> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.received.slice(from).find((r) => predicate(r.message));
      if (found) return found;
      if (Date.now() > until) throw new Error(`no matching datagram within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.raw.close();
  }
}

const opened = closedAfterEach((device: ScriptedDevice) => device.close());

/**
 * Call once at the top of a test file: every device opened by `scriptedDevice()` is closed after each test. afterEach
 * hooks run in reverse order of registration: call it before the file's own afterEach to close the devices after
 * that hook has run, after it to close them first.
 */
export function closeDevicesAfterEach(): void {
  opened.afterEach();
}

/** A ScriptedDevice (silent unless given a script) that `closeDevicesAfterEach()` closes after the test. */
export async function scriptedDevice(script: Script = () => {}): Promise<ScriptedDevice> {
  return opened.add(await ScriptedDevice.open(script));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
