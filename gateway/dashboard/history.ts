// Numeric state history per device and property for the dashboard's charts: the last hour, bounded.

export interface HistoryPoint {
  t: number;
  v: number;
}

const WINDOW_MS = 60 * 60 * 1000;
const MAX_POINTS = 720;
const MAX_SERIES = 5000;
const FIRST_CAPACITY = 8;
/**
 * A value equal to the last point's adds a point at most this often: the chart draws the same line, and a state
 * re-published every second for another property no longer fills each static property's 720 points with copies
 * (in a soak, the whole 5,000-series bound filled within minutes that way).
 */
const REPEAT_MS = 60_000;

/**
 * One property's points as two Float64Array columns used as a ring: 16 bytes a point. An array of `{t, v}`
 * objects took about 85 bytes a point (object, two boxed doubles, array slack), 29 MB for 1,000 devices
 * reporting one number every 10 s for the hour. Capacity grows by half up to MAX_POINTS.
 */
class Series {
  #t = new Float64Array(FIRST_CAPACITY);
  #v = new Float64Array(FIRST_CAPACITY);
  #start = 0;
  #length = 0;

  record(t: number, v: number): void {
    const cap = this.#t.length;
    if (this.#length > 0) {
      const last = (this.#start + this.#length - 1) % cap;
      const lastT = this.#t[last] ?? t;
      if (lastT === t) {
        this.#v[last] = v;
        return;
      }
      if (this.#v[last] === v && t - lastT < REPEAT_MS) return;
    }
    if (this.#length === cap && cap < MAX_POINTS) this.#grow(Math.min(MAX_POINTS, Math.ceil(cap * 1.5)));
    const size = this.#t.length;
    if (this.#length === size) {
      // Full at MAX_POINTS: the newest point replaces the oldest.
      this.#start = (this.#start + 1) % size;
      this.#length--;
    }
    const at = (this.#start + this.#length) % size;
    this.#t[at] = t;
    this.#v[at] = v;
    this.#length++;
  }

  /** Drops the points older than the window at `now`. */
  trim(now: number): void {
    const size = this.#t.length;
    while (this.#length > 0 && now - (this.#t[this.#start] ?? now) > WINDOW_MS) {
      this.#start = (this.#start + 1) % size;
      this.#length--;
    }
  }

  points(now: number): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const size = this.#t.length;
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#start + i) % size;
      const t = this.#t[at] ?? 0;
      if (now - t <= WINDOW_MS) out.push({ t, v: this.#v[at] ?? 0 });
    }
    return out;
  }

  #grow(capacity: number): void {
    const t = new Float64Array(capacity);
    const v = new Float64Array(capacity);
    const size = this.#t.length;
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#start + i) % size;
      t[i] = this.#t[at] ?? 0;
      v[i] = this.#v[at] ?? 0;
    }
    this.#t = t;
    this.#v = v;
    this.#start = 0;
  }
}

export class StateHistory {
  /** Series by device, then property: the hot path (every state publish) does two lookups, no key string. */
  readonly #devices = new Map<string, Map<string, Series>>();
  /** Every series in creation order, for the MAX_SERIES bound (the oldest goes first). */
  readonly #order = new Map<string, [string, string]>();

  record(deviceId: string, state: Record<string, unknown>, now = Date.now()): void {
    let series = this.#devices.get(deviceId);
    for (const property in state) {
      const value = state[property];
      // last_seen is a number with api.last_seen: epoch, and a time rather than a measurement.
      if (typeof value !== 'number' || !Number.isFinite(value) || property === 'last_seen') continue;
      let one = series?.get(property);
      if (!one) {
        one = new Series();
        series = this.#add(deviceId, property, one);
      }
      one.record(now, value);
      one.trim(now);
    }
  }

  of(deviceId: string, now = Date.now()): Record<string, HistoryPoint[]> {
    const out: Record<string, HistoryPoint[]> = {};
    for (const [property, series] of this.#devices.get(deviceId) ?? []) out[property] = series.points(now);
    return out;
  }

  forget(deviceId: string): void {
    const series = this.#devices.get(deviceId);
    if (!series) return;
    for (const property of series.keys()) this.#order.delete(`${deviceId}\u0000${property}`);
    this.#devices.delete(deviceId);
  }

  #add(deviceId: string, property: string, one: Series): Map<string, Series> {
    if (this.#order.size >= MAX_SERIES) {
      const [oldDevice, oldProperty] = this.#order.values().next().value as [string, string];
      this.#order.delete(`${oldDevice}\u0000${oldProperty}`);
      const of = this.#devices.get(oldDevice);
      of?.delete(oldProperty);
      if (of?.size === 0) this.#devices.delete(oldDevice);
    }
    let series = this.#devices.get(deviceId);
    if (!series) {
      series = new Map();
      this.#devices.set(deviceId, series);
    }
    series.set(property, one);
    this.#order.set(`${deviceId}\u0000${property}`, [deviceId, property]);
    return series;
  }
}
