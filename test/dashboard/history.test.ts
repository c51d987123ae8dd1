import { describe, expect, it } from 'vitest';
import { StateHistory } from '../../gateway/dashboard/history.js';

const HOUR = 60 * 60 * 1000;

describe('StateHistory', () => {
  it('keeps the newest 720 points per property, whatever the number of updates', () => {
    const h = new StateHistory();
    const t0 = 1_000_000;
    for (let i = 0; i < 2000; i++)
      h.record('d1', { temperature: i, label: 'x', last_seen: i % 2 ? 'now' : t0 + i }, t0 + i);
    const { temperature, ...rest } = h.of('d1', t0 + 2000);
    expect(rest).toEqual({});
    expect(temperature).toHaveLength(720);
    expect(temperature?.[0]).toEqual({ t: t0 + 1280, v: 1280 });
    expect(temperature?.at(-1)).toEqual({ t: t0 + 1999, v: 1999 });
    for (let i = 1; i < 720; i++) expect(temperature?.[i]?.t).toBe((temperature?.[i - 1]?.t ?? 0) + 1);
  });

  it('adds a point for an unchanged value at most once a minute', () => {
    const h = new StateHistory();
    const t0 = 2_000_000;
    // The state is re-published every second (another property changes); battery stays at 90 for two minutes.
    for (let s = 0; s <= 120; s++) h.record('d1', { battery: 90, counter: s }, t0 + s * 1000);
    h.record('d1', { battery: 89 }, t0 + 121_000);
    const { battery, counter } = h.of('d1', t0 + 121_000);
    expect(battery).toEqual([
      { t: t0, v: 90 },
      { t: t0 + 60_000, v: 90 },
      { t: t0 + 120_000, v: 90 },
      { t: t0 + 121_000, v: 89 },
    ]);
    expect(counter).toHaveLength(121);
  });

  it('drops points older than an hour and merges updates in the same millisecond', () => {
    const h = new StateHistory();
    const t0 = 5_000_000;
    h.record('d1', { humidity: 40 }, t0);
    h.record('d1', { humidity: 41 }, t0);
    h.record('d1', { humidity: 50, temperature: Number.NaN }, t0 + HOUR / 2);
    expect(h.of('d1', t0 + HOUR / 2)).toEqual({
      humidity: [
        { t: t0, v: 41 },
        { t: t0 + HOUR / 2, v: 50 },
      ],
    });
    h.record('d1', { humidity: 60 }, t0 + HOUR + 1);
    expect(h.of('d1', t0 + HOUR + 1)).toEqual({
      humidity: [
        { t: t0 + HOUR / 2, v: 50 },
        { t: t0 + HOUR + 1, v: 60 },
      ],
    });
    // Reading later filters by the window even without a new update.
    expect(h.of('d1', t0 + 2 * HOUR)).toEqual({ humidity: [{ t: t0 + HOUR + 1, v: 60 }] });
    h.forget('d1');
    expect(h.of('d1', t0 + 2 * HOUR)).toEqual({});
  });
  it('keeps at most 5000 series, dropping the oldest first, per device and property', () => {
    const h = new StateHistory();
    const t0 = 1_000_000;
    // 2,501 devices with two properties each: 5,002 series, so the first device's two go.
    for (let d = 0; d <= 2500; d++) h.record(`d${d}`, { a: d, b: -d }, t0);
    expect(h.of('d0', t0)).toEqual({});
    expect(h.of('d1', t0)).toEqual({ a: [{ t: t0, v: 1 }], b: [{ t: t0, v: -1 }] });
    expect(h.of('d2500', t0)).toEqual({ a: [{ t: t0, v: 2500 }], b: [{ t: t0, v: -2500 }] });
    // A new property of a known device is a new series: it evicts the next oldest (d1's a) and is kept.
    h.record('d2500', { c: 7 }, t0 + 1);
    expect(h.of('d1', t0)).toEqual({ b: [{ t: t0, v: -1 }] });
    expect(h.of('d2500', t0 + 1).c).toEqual([{ t: t0 + 1, v: 7 }]);
    // A forgotten device frees its series: the next new one evicts nothing.
    h.forget('d2');
    h.record('fresh', { x: 1 }, t0 + 2);
    expect(h.of('d1', t0)).toEqual({ b: [{ t: t0, v: -1 }] });
    expect(h.of('fresh', t0 + 2)).toEqual({ x: [{ t: t0 + 2, v: 1 }] });
  });
});
