// A Zephyr smp_svr sample over BLE (CONFIG_MCUMGR_TRANSPORT_BT with reassembly): the SMP GATT service, requests
// written in fragments and reassembled by the header's length, answers notified in fragments of MTU - 3 bytes.
// Echo is answered here; mcumgr_params, image state, image upload and reset by the img_mgmt simulator.
import type { CborValue } from '../../../adapters/common/smp/cbor.js';
import { decodeSmpMessage, encodeSmpMessage, type SmpMessage } from '../../../adapters/common/smp/packet.js';
import { answerPacket, ImgMgmtDevice } from '../../adapters/serial/img-mgmt-sim.js';
import { ad } from './ad.js';
import type { ServiceDef } from './gatt-db.js';
import { SimPeripheral } from './sim-peripheral.js';

export const SMP_SERVICE = '8d53dc1d1db74cd3868b8a527460aa84';
export const SMP_CHAR = 'da2e7828fbce4e01ae9e261174997c48';

export interface SmpServerOptions {
  address?: string;
  name?: string;
  /** The link's ATT MTU; 23 (the default) gives 20-byte writes and notifications. null: no exchange reported. */
  mtu?: number | null;
  img?: ImgMgmtDevice;
  /** Offer write (with response) only, as some non-Zephyr SMP servers do; default: write without response. */
  writeWithResponse?: boolean;
  /** Refuse the SMP characteristic's subscription (SMP needs a bonded, encrypted link). */
  refuseSubscribe?: boolean;
  /** Services next to SMP (sensors whose telemetry must flow whatever SMP does). */
  otherServices?: ServiceDef[];
}

export class SimSmpServer {
  readonly peripheral: SimPeripheral;
  readonly img: ImgMgmtDevice;
  /** Value lengths of every write to the SMP characteristic and of every notification sent. */
  readonly writeSizes: number[] = [];
  readonly notifySizes: number[] = [];
  /** Whole requests received, in order. */
  readonly requests: SmpMessage[] = [];
  /** While true, requests are taken but never answered (to catch one in flight). */
  silent = false;
  /** While true, writes are refused and never answered (a write with response then times out). */
  refuseWrites = false;
  #rx = Buffer.alloc(0);
  #onRequest: (() => void)[] = [];

  constructor(opts: SmpServerOptions = {}) {
    this.img = opts.img ?? new ImgMgmtDevice();
    const name = opts.name ?? 'Zephyr SMP';
    this.peripheral = new SimPeripheral({
      address: opts.address ?? 'c0:00:00:00:00:05',
      advertising: Buffer.concat([ad.flags(), ad.uuid128(SMP_SERVICE)]),
      scanResponse: ad.name(name),
      ...(opts.mtu === null ? {} : { mtu: opts.mtu ?? 23 }),
      services: [
        {
          uuid: SMP_SERVICE,
          characteristics: [
            {
              uuid: SMP_CHAR,
              properties: [opts.writeWithResponse ? 'write' : 'writeWithoutResponse', 'notify'],
              ...(opts.refuseSubscribe ? { refuseSubscribe: true } : {}),
              onWrite: (data) => {
                if (this.refuseWrites) return false;
                this.#onWrite(data);
                return true;
              },
            },
          ],
        },
        ...(opts.otherServices ?? []),
      ],
    });
  }

  /** Resolves at the next whole request received. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.#onRequest.push(resolve));
  }

  #onWrite(data: Buffer): void {
    this.writeSizes.push(data.length);
    this.#rx = Buffer.concat([this.#rx, data]);
    if (this.#rx.length < 8) return;
    const total = 8 + this.#rx.readUInt16BE(2);
    if (this.#rx.length < total) return;
    const packet = this.#rx.subarray(0, total);
    this.#rx = Buffer.from(this.#rx.subarray(total));
    const msg = decodeSmpMessage(packet);
    if (!msg.ok) throw new Error(`simulated SMP server got a bad packet: ${msg.reason}`);
    this.requests.push(msg.value);
    for (const resolve of this.#onRequest.splice(0)) resolve();
    if (!this.silent) void this.#answer(msg.value);
  }

  async #answer(req: SmpMessage): Promise<void> {
    const { group, id } = req.header;
    const packet =
      group === 0 && id === 0
        ? encodeSmpMessage({ ...req.header, op: (req.header.op + 1) as 1 | 3, body: echo(req.body) })
        : await answerPacket(this.img, req);
    if (!packet) return;
    const size = (this.peripheral.mtu ?? 23) - 3;
    for (let off = 0; off < packet.length; off += size) {
      const fragment = Buffer.from(packet.subarray(off, off + size));
      if (!this.peripheral.send(SMP_CHAR, fragment)) return;
      this.notifySizes.push(fragment.length);
    }
  }
}

function echo(body: { [key: string]: CborValue }): { [key: string]: CborValue } {
  return typeof body.d === 'string' ? { r: body.d } : { rc: 3 };
}
