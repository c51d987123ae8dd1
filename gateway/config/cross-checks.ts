// Rules between keys, or inside a value, that field types cannot state. The root schema runs them once every
// key is valid on its own; docs/config.md lists them (`rule`).
import type { z } from 'zod';
import { normalizeMac } from '../../adapters/ble/config.js';

/** An MQTT topic filter: `#` only as the whole last level, `+` only as a whole level. */
export const MQTT_FILTER = /^(?:(?:[^/#+]*|\+)\/)*(?:[^/#+]*|\+|#)$/;

/** The parts of the parsed config the rules read. */
export interface CheckedConfig {
  broker: { listeners: ReadonlyArray<{ type: string; host: string; port: number }> };
  http: { enabled: boolean; host: string; port: number };
  homeassistant: { discovery_prefix: string };
  bridge: { topics: ReadonlyArray<{ pattern: string }>; reconnect_min: number; reconnect_max: number };
  /** Entries of every transport (their shapes differ): the rules read what they name. */
  devices: readonly unknown[];
}

export interface CrossKeyRule {
  /** The rule as docs/config.md states it. */
  rule: string;
  check(config: CheckedConfig, ctx: z.RefinementCtx): void;
}

function fail(ctx: z.RefinementCtx, path: (string | number)[], message: string, hint: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { hint } });
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/** Two listeners on these hosts would compete for the same port. */
function sameHost(a: string, b: string): boolean {
  const local = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);
  return WILDCARD_HOSTS.has(a) || WILDCARD_HOSTS.has(b) || local(a) === local(b);
}

const httpPortFree: CrossKeyRule = {
  rule: '`http.port` differs from the port of every `broker.listeners` entry on the same host (0 picks a free port).',
  check({ http, broker }, ctx) {
    if (!http.enabled || http.port === 0) return;
    broker.listeners.forEach((listener, i) => {
      if (listener.port !== http.port || !sameHost(listener.host, http.host)) return;
      fail(
        ctx,
        ['http', 'port'],
        `port ${http.port} is also the port of broker.listeners[${i}] (${listener.type} on ${listener.host})`,
        'give the HTTP server or the listener another port',
      );
    });
  },
};

const discoveryPrefixPlain: CrossKeyRule = {
  rule: '`homeassistant.discovery_prefix` holds no MQTT wildcard (`+`, `#`).',
  check({ homeassistant }, ctx) {
    const prefix = homeassistant.discovery_prefix;
    if (!/[+#]/.test(prefix)) return;
    fail(
      ctx,
      ['homeassistant', 'discovery_prefix'],
      `${JSON.stringify(prefix)} holds an MQTT wildcard (+ or #); the discovery prefix is the start of topics`,
      'write the prefix Home Assistant uses, e.g. discovery_prefix: homeassistant',
    );
  },
};

const bridgePatternsValid: CrossKeyRule = {
  rule: '`bridge.topics[].pattern` is an MQTT filter: `#` only as the whole last level, `+` only as a whole level.',
  check({ bridge }, ctx) {
    bridge.topics.forEach(({ pattern }, i) => {
      if (MQTT_FILTER.test(pattern)) return;
      const hash = pattern.indexOf('#');
      const fixed = hash >= 0 ? `${pattern.slice(0, hash).replace(/[^/]$/, '$&/')}#` : undefined;
      const why = hash >= 0 ? '`#` must be the last level, on its own' : '`+` must be a whole level';
      fail(
        ctx,
        ['bridge', 'topics', i, 'pattern'],
        `${JSON.stringify(pattern)} is not a valid MQTT filter: ${why}`,
        fixed && MQTT_FILTER.test(fixed) ? `did you mean "${fixed}"?` : 'e.g. pattern: "sensors/+/state" or "#"',
      );
    });
  },
};

const reconnectOrdered: CrossKeyRule = {
  rule: '`bridge.reconnect_min` is at most `bridge.reconnect_max`.',
  check({ bridge }, ctx) {
    if (bridge.reconnect_min <= bridge.reconnect_max) return;
    fail(
      ctx,
      ['bridge', 'reconnect_min'],
      `reconnect_min (${bridge.reconnect_min} s) is above reconnect_max (${bridge.reconnect_max} s)`,
      'make reconnect_min at most reconnect_max',
    );
  },
};

const serialPathsDistinct: CrossKeyRule = {
  rule: 'Two enabled serial devices do not name the same `path`: one port is one device.',
  check({ devices }, ctx) {
    const first = new Map<string, number>();
    const entries = devices as ReadonlyArray<{ id?: unknown; transport?: unknown; path?: unknown; disabled?: unknown }>;
    entries.forEach((device, i) => {
      if (device.transport !== 'serial' || device.disabled === true || typeof device.path !== 'string') return;
      const j = first.get(device.path);
      if (j === undefined) {
        first.set(device.path, i);
        return;
      }
      fail(
        ctx,
        ['devices', i, 'path'],
        `${device.path} is already the port of "${String(entries[j]?.id)}" (entry ${j + 1} of the list)`,
        'give each serial device its own port, or set `disabled: true` on the one not plugged in',
      );
    });
  },
};

const lwm2mEndpointsDistinct: CrossKeyRule = {
  rule: 'Two enabled CoAP devices do not name the same `lwm2m.endpoint`: one LwM2M client registers as one device.',
  check({ devices }, ctx) {
    const first = new Map<string, number>();
    const entries = devices as ReadonlyArray<{
      id?: unknown;
      transport?: unknown;
      lwm2m?: unknown;
      disabled?: unknown;
    }>;
    entries.forEach((device, i) => {
      const endpoint = (device.lwm2m as { endpoint?: unknown } | undefined)?.endpoint;
      if (device.transport !== 'coap' || device.disabled === true || typeof endpoint !== 'string') return;
      const j = first.get(endpoint);
      if (j === undefined) {
        first.set(endpoint, i);
        return;
      }
      // The LwM2M server maps a registration to the first entry naming its endpoint: this one would never be online.
      fail(
        ctx,
        ['devices', i, 'lwm2m', 'endpoint'],
        `${JSON.stringify(endpoint)} is already the LwM2M endpoint of "${String(entries[j]?.id)}" (entry ${j + 1} of the list)`,
        "give each device its client's own endpoint name (the `ep=` it registers with), or set `disabled: true` on one of them",
      );
    });
  },
};

/** How the BLE adapter looks a `match` up (adapters/ble/identity.ts, DeviceIndex): by address (or by `bthome_mac`
 * when neither address nor name is given), else by name, else by serial number; an address entry's name must agree. */
function bleLookup(match: Record<string, unknown>): { key: string; name?: string } {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const address = str(match.address) ?? (match.name === undefined ? str(match.bthome_mac) : undefined);
  if (address !== undefined) return { key: `address:${normalizeMac(address)}`, name: str(match.name) };
  if (match.name !== undefined) return { key: `name:${str(match.name)}` };
  return { key: `serial:${str(match.serial_number)}` };
}

const bleMatchesReachable: CrossKeyRule = {
  rule: 'An enabled BLE device is not shadowed by one listed before it that takes the same adverts (the same address without a name or with the same name, the same name, the same serial number).',
  check({ devices }, ctx) {
    const earlier: Array<{ index: number; key: string; name?: string }> = [];
    const entries = devices as ReadonlyArray<{
      id?: unknown;
      transport?: unknown;
      match?: unknown;
      disabled?: unknown;
    }>;
    entries.forEach((device, i) => {
      const match = device.match;
      if (device.transport !== 'ble' || device.disabled === true || typeof match !== 'object' || match === null) return;
      const lookup = bleLookup(match as Record<string, unknown>);
      const first = earlier.find((e) => e.key === lookup.key && (e.name === undefined || e.name === lookup.name));
      earlier.push({ index: i, ...lookup });
      if (!first) return;
      fail(
        ctx,
        ['devices', i, 'match'],
        `"${String(entries[first.index]?.id)}" (entry ${first.index + 1} of the list) takes every advert this match takes: this device would never be matched`,
        'tell the devices apart (address, or the same address with different names), list the more specific one first, or set `disabled: true` on one of them',
      );
    });
  },
};

export const crossKeyRules: readonly CrossKeyRule[] = [
  httpPortFree,
  discoveryPrefixPlain,
  bridgePatternsValid,
  reconnectOrdered,
  serialPathsDistinct,
  lwm2mEndpointsDistinct,
  bleMatchesReachable,
];

export function checkAcrossKeys(config: CheckedConfig, ctx: z.RefinementCtx): void {
  for (const r of crossKeyRules) r.check(config, ctx);
}
