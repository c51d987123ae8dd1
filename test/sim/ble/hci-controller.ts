// A Bluetooth controller behind a fake `@abandonware/bluetooth-hci-socket`: the layer below noble's own HCI binding
// (lib/hci-socket: hci.js, gap.js, bindings.js), so that binding runs unchanged. It answers every HCI command with
// Command Complete (enough to power on and scan; a connection it is asked for stays pending) and sends LE
// Advertising Reports as bytes, as a radio would.
import { EventEmitter } from 'node:events';

const HCI_EVENT_PKT = 0x04;
const EVT_CMD_COMPLETE = 0x0e;
const EVT_LE_META_EVENT = 0x3e;
const EVT_LE_ADVERTISING_REPORT = 0x02;
const READ_LOCAL_VERSION_CMD = 0x0001 | (0x04 << 10);

/** Advertising report types (Core spec Vol 4 Part E 7.7.65.2). */
export const ADV_IND = 0x00;
export const ADV_NONCONN_IND = 0x03;
export const SCAN_RSP = 0x04;

export class FakeHciSocket extends EventEmitter {
  /** The sockets noble opened, newest last. */
  static readonly opened: FakeHciSocket[] = [];
  /** The opcodes of the commands the host sent, in order. */
  readonly commands: number[] = [];
  #up = true;

  constructor() {
    super();
    FakeHciSocket.opened.push(this);
  }

  bindRaw(): number {
    return 0;
  }

  bindUser(): number {
    return 0;
  }

  start(): void {}

  stop(): void {
    this.#up = false;
  }

  isDevUp(): boolean {
    return this.#up;
  }

  setFilter(): void {}

  /** A command from the host: answered with Command Complete, status 0 (version 5.0 for Read Local Version). */
  write(packet: Buffer): void {
    if (packet[0] !== 0x01) return; // ACL data: no links here
    const opcode = packet.readUInt16LE(1);
    this.commands.push(opcode);
    const result = Buffer.alloc(16);
    if (opcode === READ_LOCAL_VERSION_CMD) result[0] = 0x09;
    const params = Buffer.concat([Buffer.from([1, opcode & 0xff, opcode >> 8, 0]), result]);
    const event = Buffer.concat([Buffer.from([HCI_EVENT_PKT, EVT_CMD_COMPLETE, params.length]), params]);
    setImmediate(() => this.emit('data', event));
  }

  /** One LE Advertising Report from `address` ("aa:bb:..") with these AD bytes. */
  advertise(address: string, eir: Buffer, opts: { type?: number; random?: boolean; rssi?: number } = {}): void {
    const addr = Buffer.from(address.replace(/:/g, ''), 'hex').reverse();
    const report = Buffer.concat([
      Buffer.from([opts.type ?? ADV_NONCONN_IND, opts.random ? 0x01 : 0x00]),
      addr,
      Buffer.from([eir.length]),
      eir,
      Buffer.from([(opts.rssi ?? -60) & 0xff]),
    ]);
    const meta = Buffer.concat([Buffer.from([EVT_LE_ADVERTISING_REPORT, 1]), report]);
    this.emit('data', Buffer.concat([Buffer.from([HCI_EVENT_PKT, EVT_LE_META_EVENT, meta.length]), meta]));
  }
}
