// Which numbers of an adapter's status details become /metrics figures, and under what name.
import { describe, expect, it } from 'vitest';
import { statusFigures } from '../../gateway/status-figures.js';

const figures = (details: Record<string, unknown> | undefined) => Object.fromEntries(statusFigures(details));

describe('statusFigures', () => {
  it('takes the numbers at the top and one object down, nested keys joined with _', () => {
    expect(figures({ dedup: 73, lwm2m: { registrations: 2, queued_commands: 0 } })).toEqual({
      dedup: 73,
      lwm2m_registrations: 2,
      lwm2m_queued_commands: 0,
    });
  });

  it('leaves out what is not a finite number: strings, booleans, null, NaN, Infinity', () => {
    expect(figures({ binding: 'hci', open: true, none: null, nan: Number.NaN, inf: Number.POSITIVE_INFINITY })).toEqual(
      {},
    );
  });

  it('leaves out the port an adapter listens on (an address), also when it is 0', () => {
    expect(figures({ port: 5683, command_observers: 1 })).toEqual({ command_observers: 1 });
    expect(figures({ port: 0 })).toEqual({});
  });

  it('leaves out per-device entries: arrays (serial) and objects two levels down (BLE connections)', () => {
    const ble = {
      adverts: 12,
      connections: { active: 1, max: 4, devices: { dev1: { state: 'connected', retries: 3 } } },
    };
    expect(figures(ble)).toEqual({ adverts: 12, connections_active: 1, connections_max: 4 });
    expect(figures({ devices: [{ id: 'dev1', opens: 2 }] })).toEqual({});
  });

  it('leaves out keys that are not snake_case (`dev-1`, `AA:BB`...), at either level', () => {
    expect(figures({ 'dev-1': 1, Dev2: 2, '3x': 3, per: { 'AA:BB': 4, ok_1: 5 } })).toEqual({ per_ok_1: 5 });
  });

  it('has none for a status without details', () => {
    expect(figures(undefined)).toEqual({});
  });
});
