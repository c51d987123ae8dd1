// The numbers an adapter reports in its status details (CoAP's dedup, lwm2m.registrations...), as named figures for
// /metrics: what /readyz and bridge/info show, without knowing any adapter.

/** A details key that names a figure: snake_case, like every key an adapter reports; another (`dev-1`, `AA:BB`) names
 * none. It does not keep device ids out (`kitchen` and `dev1` are snake_case): the depth statusFigures() reads does,
 * as the entries per device sit in arrays or two objects down. */
const FIGURE_KEY = /^[a-z][a-z0-9_]*$/;

/** Where the adapter listens (the core reads it so for its start-up summary): an address, not a figure. */
const ADDRESS_KEY = 'port';

type Details = Record<string, unknown>;

const isFigure = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isObject = (value: unknown): value is Details =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The finite numbers at the top of `details` and in the objects directly under it, named by their keys joined with
 * `_` (`lwm2m.registrations` is `lwm2m_registrations`). Arrays and deeper objects are skipped: they hold an entry per
 * device (serial's `devices`, BLE's `connections.devices`), and a series each would grow with the device list.
 */
export function statusFigures(details: Details | undefined): Map<string, number> {
  const figures = new Map<string, number>();
  for (const [key, value] of Object.entries(details ?? {})) {
    if (!FIGURE_KEY.test(key) || key === ADDRESS_KEY) continue;
    if (isFigure(value)) figures.set(key, value);
    else if (isObject(value))
      for (const [inner, innerValue] of Object.entries(value))
        if (FIGURE_KEY.test(inner) && isFigure(innerValue)) figures.set(`${key}_${inner}`, innerValue);
  }
  return figures;
}
