// An AdapterContext that records every fact the LwM2M server reports, with awaitable events (unit tests only).
import { EventEmitter } from 'node:events';
import type { AdapterContext, DeviceConfigOf, DeviceSeen, TelemetryVerdict } from '../../../gateway/adapter.js';
import { silentLogger } from '../../../gateway/logger.js';

export type Fact =
  | { type: 'telemetry'; deviceId: string; values: Record<string, unknown> }
  | { type: 'deviceStatus'; deviceId: string; values: Record<string, unknown> }
  | {
      type: 'availability';
      deviceId: string;
      online: boolean;
      validForMs?: number | undefined;
      lastHeard?: Date | undefined;
    }
  | { type: 'deviceInfo'; deviceId: string; info: Record<string, unknown> }
  | { type: 'deviceSeen'; seen: DeviceSeen }
  | { type: 'publish'; deviceId: string; subtopic: string; payload: unknown }
  | { type: 'decodeError'; reason: string; error: unknown };

export class RecordingContext extends EventEmitter implements AdapterContext {
  readonly kind = 'coap';
  readonly logger = silentLogger();
  readonly dataDir = '/nonexistent';
  readonly facts: Fact[] = [];
  devicesList: DeviceConfigOf[] = [];
  permit = false;
  messages = { in: 0, out: 0 };
  /** What telemetry() answers. */
  telemetryVerdict: TelemetryVerdict = 'accepted';

  devices(): readonly DeviceConfigOf[] {
    return this.devicesList;
  }
  permitJoin(): boolean {
    return this.permit;
  }
  telemetry(deviceId: string, values: Record<string, unknown>): TelemetryVerdict {
    this.#record({ type: 'telemetry', deviceId, values });
    return this.telemetryVerdict;
  }
  deviceStatus(deviceId: string, values: Record<string, unknown>): void {
    this.#record({ type: 'deviceStatus', deviceId, values });
  }
  availability(deviceId: string, online: boolean, validForMs?: number, lastHeard?: Date): void {
    this.#record({ type: 'availability', deviceId, online, validForMs, lastHeard });
  }
  deviceInfo(deviceId: string, info: Record<string, unknown>): void {
    this.#record({ type: 'deviceInfo', deviceId, info });
  }
  deviceSeen(seen: DeviceSeen): void {
    this.#record({ type: 'deviceSeen', seen });
  }
  publish(deviceId: string, subtopic: string, payload: unknown): void {
    this.#record({ type: 'publish', deviceId, subtopic, payload });
  }
  decodeError(reason: string, detail?: { error?: unknown }): void {
    this.#record({ type: 'decodeError', reason, error: detail?.error });
  }
  countMessage(direction: 'in' | 'out'): void {
    this.messages[direction]++;
  }

  /** Resolves with the first fact (already recorded after `since`, or later) that matches. */
  waitFor<T extends Fact['type']>(
    type: T,
    match: (f: Extract<Fact, { type: T }>) => boolean = () => true,
    timeoutMs = 3000,
    since = 0,
  ): Promise<Extract<Fact, { type: T }>> {
    const test = (f: Fact): f is Extract<Fact, { type: T }> =>
      f.type === type && match(f as Extract<Fact, { type: T }>);
    const seen = this.facts.slice(since).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onFact = (f: Fact) => {
        if (!test(f)) return;
        clearTimeout(timer);
        this.off('fact', onFact);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.off('fact', onFact);
        reject(new Error(`no ${type} fact within ${timeoutMs} ms; got ${JSON.stringify(this.facts.slice(-5))}`));
      }, timeoutMs);
      this.on('fact', onFact);
    });
  }

  #record(f: Fact): void {
    this.facts.push(f);
    this.emit('fact', f);
  }
}
