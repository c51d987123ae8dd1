// An AdapterContext that records what the adapter reports, for tests of the serial adapter on its own.
import { EventEmitter } from 'node:events';
import type { AdapterContext, DeviceConfigOf, DeviceSeen, StateValues } from '../../../gateway/adapter.js';
import { silentLogger } from '../../../gateway/logger.js';

export type Call =
  /** What went into the device state: `status` marks a deviceStatus call (the gateway's report, not a sign of
   * life), so tests of what the state carries see both and a test of liveness can tell them apart. */
  | { fn: 'telemetry'; deviceId: string; values: StateValues; status?: true }
  | { fn: 'availability'; deviceId: string; online: boolean }
  | { fn: 'deviceInfo'; deviceId: string; info: Record<string, unknown> }
  | { fn: 'deviceSeen'; seen: DeviceSeen }
  | { fn: 'publish'; deviceId: string; subtopic: string; payload: unknown }
  | {
      fn: 'decodeError';
      reason: string;
      deviceId?: string | undefined;
      bytes?: Uint8Array | undefined;
      error?: unknown;
    };

export class RecordingContext implements AdapterContext {
  readonly kind = 'serial';
  readonly logger = silentLogger();
  readonly dataDir = '/nonexistent';
  readonly calls: Call[] = [];
  readonly counts = { in: 0, out: 0 };
  readonly #events = new EventEmitter();
  joining = false;

  constructor(public deviceList: DeviceConfigOf[]) {
    this.#events.setMaxListeners(100);
  }

  devices(): readonly DeviceConfigOf[] {
    return this.deviceList;
  }
  permitJoin(): boolean {
    return this.joining;
  }
  telemetry(deviceId: string, values: StateValues): void {
    this.#record({ fn: 'telemetry', deviceId, values });
  }
  deviceStatus(deviceId: string, values: StateValues): void {
    this.#record({ fn: 'telemetry', deviceId, values, status: true });
  }
  availability(deviceId: string, online: boolean): void {
    this.#record({ fn: 'availability', deviceId, online });
  }
  deviceInfo(deviceId: string, info: Record<string, unknown>): void {
    this.#record({ fn: 'deviceInfo', deviceId, info });
  }
  deviceSeen(seen: DeviceSeen): void {
    this.#record({ fn: 'deviceSeen', seen });
  }
  publish(deviceId: string, subtopic: string, payload: string | Buffer | object): void {
    this.#record({ fn: 'publish', deviceId, subtopic, payload });
  }
  decodeError(reason: string, detail?: { deviceId?: string; bytes?: Uint8Array; error?: unknown }): void {
    // Kept as given (no copy), so a test sees it if the adapter hands over memory it reuses later.
    this.#record({ fn: 'decodeError', reason, deviceId: detail?.deviceId, bytes: detail?.bytes, error: detail?.error });
  }
  countMessage(direction: 'in' | 'out'): void {
    this.counts[direction]++;
  }

  of<F extends Call['fn']>(fn: F): Extract<Call, { fn: F }>[] {
    return this.calls.filter((c): c is Extract<Call, { fn: F }> => c.fn === fn);
  }

  /** Resolves with the first call (already recorded or future) matching `pred`; rejects after `timeoutMs`. */
  waitFor<F extends Call['fn']>(
    fn: F,
    pred: (c: Extract<Call, { fn: F }>) => boolean,
    timeoutMs = 5000,
    from = 0,
  ): Promise<Extract<Call, { fn: F }>> {
    const match = (c: Call): c is Extract<Call, { fn: F }> => c.fn === fn && pred(c as Extract<Call, { fn: F }>);
    const found = this.calls.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('call', listener);
        reject(
          new Error(`no ${fn} call matching within ${timeoutMs} ms; calls: ${JSON.stringify(this.calls.slice(-10))}`),
        );
      }, timeoutMs);
      const listener = (c: Call) => {
        if (!match(c)) return;
        clearTimeout(timer);
        this.#events.off('call', listener);
        resolve(c);
      };
      this.#events.on('call', listener);
    });
  }

  #record(call: Call): void {
    this.calls.push(call);
    this.#events.emit('call', call);
  }
}
