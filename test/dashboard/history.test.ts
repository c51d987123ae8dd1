import { describe, expect, it } from 'vitest';
import { StateHistory } from '../../gateway/dashboard/history.js';

const HOUR = 60 * 60 * 1000;

describe('StateHistory', () => {
  it('keeps the newest 720 points per property, whatever the number of updates', () => {
    const h = new StateHistory();
    const t0 = 1_000_000;
    for (let i = 0; i < 2000; i++) h.record('d1', { temperature: i, label: 'x', last_seen: 'now' }, t0 + i);
    const { temperature, ...rest } = h.of('d1', t0 + 2000);
    expect(rest).toEqual({});
    expect(temperature).toHaveLength(720);
    expect(temperature?.[0]).toEqual({ t: t0 + 1280, v: 1280 });
    expect(temperature?.at(-1)).toEqual({ t: t0 + 1999, v: 1999 });
    for (let i = 1; i < 720; i++) expect(temperature?.[i]?.t).toBe((temperature?.[i - 1]?.t ?? 0) + 1);
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
});
