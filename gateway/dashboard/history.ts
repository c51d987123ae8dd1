// Numeric state history per device and property for the dashboard's charts: the last hour, bounded.

export interface HistoryPoint {
  t: number;
  v: number;
}

const WINDOW_MS = 60 * 60 * 1000;
const MAX_POINTS = 720;
const MAX_SERIES = 5000;

export class StateHistory {
  readonly #series = new Map<string, HistoryPoint[]>();

  record(deviceId: string, state: Record<string, unknown>, now = Date.now()): void {
    for (const [property, value] of Object.entries(state)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const key = `${deviceId}\u0000${property}`;
      let points = this.#series.get(key);
      if (!points) {
        if (this.#series.size >= MAX_SERIES) this.#series.delete(this.#series.keys().next().value as string);
        points = [];
        this.#series.set(key, points);
      }
      const last = points.at(-1);
      if (last && last.t === now) last.v = value;
      else points.push({ t: now, v: value });
      while (points.length > MAX_POINTS || (points[0] && now - points[0].t > WINDOW_MS)) points.shift();
    }
  }

  of(deviceId: string, now = Date.now()): Record<string, HistoryPoint[]> {
    const out: Record<string, HistoryPoint[]> = {};
    const prefix = `${deviceId}\u0000`;
    for (const [key, points] of this.#series) {
      if (!key.startsWith(prefix)) continue;
      out[key.slice(prefix.length)] = points.filter((p) => now - p.t <= WINDOW_MS);
    }
    return out;
  }

  forget(deviceId: string): void {
    const prefix = `${deviceId}\u0000`;
    for (const key of [...this.#series.keys()]) if (key.startsWith(prefix)) this.#series.delete(key);
  }
}
