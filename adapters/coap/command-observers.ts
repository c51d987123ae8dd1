// Devices that observe GET /ps/<id>/set receive MQTT /set commands as notifications (sleepy or server-less
// devices). Relations are bounded per device and in total; a failed CON notification drops the relation.
// The last command is kept so a device that (re)registers or polls with a plain GET still gets it.
import { randomBytes } from 'node:crypto';
import type { CoapPeer } from './endpoint.js';
import { peerKey } from './transport/peer.js';

export interface CommandObserver {
  peer: CoapPeer;
  token: Buffer;
  accept: number | undefined;
  /** Block2 SZX the registration asked for: notifications use that block size or smaller (RFC 7959 §2.4). */
  block2Szx: number | undefined;
}

const PER_DEVICE = 4;

export class CommandObservers {
  private readonly observers = new Map<string, CommandObserver[]>();
  private readonly lastCommand = new Map<string, Record<string, unknown>>();
  private readonly sequence = new Map<string, number>();
  /** Per device, the number (run-wide, so never reused by a device removed and added again) of its last command:
   * the low half of its ETag. */
  private readonly version = new Map<string, number>();
  private commands = 0;
  /**
   * The high half of every ETag: new at each start, so a device that still holds an ETag from before a restart
   * never takes the first command after it for the one it has.
   */
  private readonly run = randomBytes(4);
  private total = 0;

  /** `evicted`: a relation dropped for a newer one of the same device (PER_DEVICE), told so by the caller. */
  constructor(
    private readonly maxTotal: number,
    private readonly evicted: (deviceId: string, observer: CommandObserver) => void = () => {},
  ) {}

  get size(): number {
    return this.total;
  }

  /** False when the total is reached: the device's relations then stay as they were. */
  add(deviceId: string, observer: CommandObserver): boolean {
    const list = this.observers.get(deviceId) ?? [];
    const key = peerKey(observer.peer);
    // One relation per peer: a re-registration (new token after a reboot) replaces the old one.
    const kept = list.filter((o) => peerKey(o.peer) !== key);
    const oldest = kept.length >= PER_DEVICE ? kept.shift() : undefined;
    const total = this.total - list.length + kept.length;
    if (total >= this.maxTotal) return false;
    if (oldest) this.evicted(deviceId, oldest);
    kept.push(observer);
    this.observers.set(deviceId, kept);
    this.total = total + 1;
    return true;
  }

  remove(deviceId: string, peer: CoapPeer, token?: Buffer): void {
    const list = this.observers.get(deviceId);
    if (!list) return;
    const key = peerKey(peer);
    const kept = list.filter((o) => !(peerKey(o.peer) === key && (!token || o.token.equals(token))));
    this.total -= list.length - kept.length;
    if (kept.length === 0) this.observers.delete(deviceId);
    else this.observers.set(deviceId, kept);
  }

  of(deviceId: string): readonly CommandObserver[] {
    return this.observers.get(deviceId) ?? [];
  }

  nextSequence(deviceId: string): number {
    const next = ((this.sequence.get(deviceId) ?? 1) + 1) & 0xffffff;
    this.sequence.set(deviceId, next);
    return next;
  }

  currentSequence(deviceId: string): number {
    return this.sequence.get(deviceId) ?? 1;
  }

  setLastCommand(deviceId: string, command: Record<string, unknown>): void {
    this.lastCommand.set(deviceId, command);
    this.commands = (this.commands + 1) >>> 0;
    this.version.set(deviceId, this.commands);
  }

  /** The ETag of the device's last command (RFC 7252 §5.10.6): a device that polls tells a new one by it. */
  etag(deviceId: string): Buffer | undefined {
    const version = this.version.get(deviceId);
    if (version === undefined) return undefined;
    const etag = Buffer.alloc(8);
    this.run.copy(etag, 0);
    etag.writeUInt32BE(version, 4);
    return etag;
  }

  last(deviceId: string): Record<string, unknown> | undefined {
    return this.lastCommand.get(deviceId);
  }

  /**
   * A device renamed from `from` to `to` (device/rename keeps the old id as ps_id, which its firmware still observes):
   * its relations, last command and numbering follow it, unless `to` already has its own.
   */
  move(from: string, to: string): void {
    const maps = this.perDevice();
    if (maps.some((m) => m.has(to))) return;
    for (const map of maps) {
      if (!map.has(from)) continue;
      map.set(to, map.get(from));
      map.delete(from);
    }
  }

  /** Forget every relation (the adapter stops); returns them, for the caller to end. */
  clear(): CommandObserver[] {
    const all = [...this.observers.values()].flat();
    this.observers.clear();
    this.total = 0;
    return all;
  }

  /** Forget devices no longer configured; returns their relations, for the caller to end. */
  retain(deviceIds: ReadonlySet<string>): CommandObserver[] {
    const dropped: CommandObserver[] = [];
    for (const [id, list] of [...this.observers]) {
      if (deviceIds.has(id)) continue;
      this.total -= list.length;
      this.observers.delete(id);
      dropped.push(...list);
    }
    for (const map of this.perDevice()) for (const id of [...map.keys()]) if (!deviceIds.has(id)) map.delete(id);
    return dropped;
  }

  /** Everything kept per device id. */
  private perDevice(): Map<string, unknown>[] {
    return [this.observers, this.lastCommand, this.sequence, this.version];
  }
}
