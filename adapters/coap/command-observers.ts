// Devices that observe GET /ps/<id>/set receive MQTT /set commands as notifications (sleepy or server-less
// devices). Relations are bounded per device and in total; a failed CON notification drops the relation.
// The last command is kept so a device that (re)registers or polls with a plain GET still gets it.
// What a restart must not lose is handed out by saved() and taken back by restore() (command-observers-file.ts).
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

/**
 * How far a restored observe sequence number jumps ahead of the saved one. Saving is coalesced, so the device may
 * have seen a few numbers the file never got; the jump is far more than a crash can lose, and far less than the 2^23
 * within which RFC 7641 §4.4 takes a number as newer, so the device takes every notification after a restart.
 */
export const RESTORED_SEQUENCE_JUMP = 1 << 16;

/** What a device's relations need to go on after a restart (what CommandObservers.saved() gives and restore() takes). */
export interface SavedDevice {
  observers: CommandObserver[];
  /** The last observe sequence number sent (on a registration answer or a notification). */
  sequence: number | undefined;
  /** With its ETag: a device that has it polls with that ETag and must get 2.03, not the command again. */
  command: KeptCommand | undefined;
}

export interface KeptCommand {
  payload: Record<string, unknown>;
  etag: Buffer;
}

export class CommandObservers {
  private readonly observers = new Map<string, CommandObserver[]>();
  /** Each device's last command with its ETag: the run and the command's number in it (run-wide, so never reused
   * by a device removed and added again). A restored command keeps the ETag it had. */
  private readonly lastCommand = new Map<string, KeptCommand>();
  private readonly sequence = new Map<string, number>();
  /** Restored sequence numbers not yet used: they jump ahead only once one is sent (see sequenceOf). */
  private readonly savedSequence = new Map<string, number>();
  private commands = 0;
  /**
   * The high half of every ETag: new at each start, so a command after a restart never gets the ETag of one from
   * before it (which a device may still hold), whatever number it has in its run.
   */
  private readonly run = randomBytes(4);
  private total = 0;

  /**
   * `evicted`: a relation dropped for a newer one of the same device (PER_DEVICE), told so by the caller.
   * `changed`: something saved() returns changed (the caller saves it, coalesced).
   */
  constructor(
    private readonly maxTotal: number,
    private readonly evicted: (deviceId: string, observer: CommandObserver) => void = () => {},
    private readonly changed: () => void = () => {},
  ) {}

  get size(): number {
    return this.total;
  }

  /** Whether add() would take a relation of `peer` now: false when the total is reached. */
  admits(deviceId: string, peer: CoapPeer): boolean {
    return this.placing(deviceId, peer).fits;
  }

  /** False when the total is reached: the device's relations then stay as they were. */
  add(deviceId: string, observer: CommandObserver): boolean {
    const { kept, oldest, total, fits } = this.placing(deviceId, observer.peer);
    if (!fits) return false;
    if (oldest) this.evicted(deviceId, oldest);
    kept.push(observer);
    this.observers.set(deviceId, kept);
    this.total = total;
    this.changed();
    return true;
  }

  remove(deviceId: string, peer: CoapPeer, token?: Buffer): void {
    const list = this.observers.get(deviceId);
    if (!list) return;
    const key = peerKey(peer);
    const kept = list.filter((o) => !(peerKey(o.peer) === key && (!token || o.token.equals(token))));
    if (kept.length === list.length) return;
    this.total -= list.length - kept.length;
    if (kept.length === 0) this.observers.delete(deviceId);
    else this.observers.set(deviceId, kept);
    this.changed();
  }

  of(deviceId: string): readonly CommandObserver[] {
    return this.observers.get(deviceId) ?? [];
  }

  /** The number of a notification about to be sent. */
  nextSequence(deviceId: string): number {
    const next = (this.sequenceOf(deviceId) + 1) & 0xffffff;
    this.sequence.set(deviceId, next);
    this.changed();
    return next;
  }

  /** The number of a registration's answer, about to be sent. */
  currentSequence(deviceId: string): number {
    return this.sequenceOf(deviceId);
  }

  setLastCommand(deviceId: string, command: Record<string, unknown>): void {
    this.commands = (this.commands + 1) >>> 0;
    const etag = Buffer.alloc(8);
    this.run.copy(etag, 0);
    etag.writeUInt32BE(this.commands, 4);
    this.lastCommand.set(deviceId, { payload: command, etag });
    this.changed();
  }

  /** The ETag of the device's last command (RFC 7252 §5.10.6): a device that polls tells a new one by it. */
  etag(deviceId: string): Buffer | undefined {
    return this.lastCommand.get(deviceId)?.etag;
  }

  last(deviceId: string): Record<string, unknown> | undefined {
    return this.lastCommand.get(deviceId)?.payload;
  }

  /**
   * A device renamed from `from` to `to` (device/rename keeps the old id as ps_id, which its firmware still observes):
   * its relations, last command and numbering follow it, unless `to` already has its own.
   */
  move(from: string, to: string): void {
    const maps = this.perDevice();
    if (maps.some((m) => m.has(to))) return;
    if (!maps.some((m) => m.has(from))) return;
    for (const map of maps) {
      if (!map.has(from)) continue;
      map.set(to, map.get(from));
      map.delete(from);
    }
    this.changed();
  }

  /** Every relation with its device (the adapter stops: it ends them, and forgets those it could tell). */
  relations(): { deviceId: string; observer: CommandObserver }[] {
    return [...this.observers].flatMap(([deviceId, list]) => list.map((observer) => ({ deviceId, observer })));
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
    let forgotten = dropped.length > 0;
    for (const map of this.perDevice()) {
      for (const id of [...map.keys()]) {
        if (deviceIds.has(id)) continue;
        map.delete(id);
        forgotten = true;
      }
    }
    if (forgotten) this.changed();
    return dropped;
  }

  /** Everything a restart must not lose, per device. */
  saved(): Map<string, SavedDevice> {
    const out = new Map<string, SavedDevice>();
    for (const map of this.perDevice()) {
      for (const id of map.keys()) {
        if (out.has(id)) continue;
        out.set(id, {
          observers: [...this.of(id)],
          sequence: this.sequence.get(id) ?? this.savedSequence.get(id),
          command: this.lastCommand.get(id),
        });
      }
    }
    return out;
  }

  /**
   * Takes back what saved() gave before a restart, for a device that has nothing yet. Its relations count against
   * the total like new ones. Returns how many relations it took.
   */
  restore(deviceId: string, saved: SavedDevice): number {
    if (this.perDevice().some((m) => m.has(deviceId))) return 0;
    if (saved.command) this.lastCommand.set(deviceId, saved.command);
    if (saved.sequence !== undefined) this.savedSequence.set(deviceId, saved.sequence);
    let restored = 0;
    for (const observer of saved.observers.slice(-PER_DEVICE)) if (this.add(deviceId, observer)) restored++;
    return restored;
  }

  /**
   * What add() of a relation of `peer` does, worked out without changing anything (admits() asks the same): the
   * device's relations it keeps beside the new one (a new list: none of `peer`, whose re-registration, with a new
   * token after a reboot, replaces its old one; and not the oldest, pushed out past PER_DEVICE), that oldest, the total
   * with the new one in, and whether that total fits.
   */
  private placing(
    deviceId: string,
    peer: CoapPeer,
  ): { kept: CommandObserver[]; oldest: CommandObserver | undefined; total: number; fits: boolean } {
    const list = this.observers.get(deviceId) ?? [];
    const key = peerKey(peer);
    const kept = list.filter((o) => peerKey(o.peer) !== key);
    const oldest = kept.length >= PER_DEVICE ? kept.shift() : undefined;
    const total = this.total - list.length + kept.length + 1;
    return { kept, oldest, total, fits: total <= this.maxTotal };
  }

  /**
   * A restored number is used only once a message carries it: then it jumps ahead (RESTORED_SEQUENCE_JUMP). Until
   * then saved() keeps the old one, so that restarts in a row with nothing sent do not add jump to jump until the
   * device takes a number for an older one.
   */
  private sequenceOf(deviceId: string): number {
    const saved = this.savedSequence.get(deviceId);
    if (saved === undefined) return this.sequence.get(deviceId) ?? 1;
    this.savedSequence.delete(deviceId);
    const ahead = (saved + RESTORED_SEQUENCE_JUMP) & 0xffffff;
    this.sequence.set(deviceId, ahead);
    this.changed();
    return ahead;
  }

  /** Everything kept per device id. */
  private perDevice(): Map<string, unknown>[] {
    return [this.observers, this.lastCommand, this.sequence, this.savedSequence];
  }
}
