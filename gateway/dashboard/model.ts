// The dashboard's view of the gateway, built only from what the gateway publishes on MQTT (an
// in-process subscriber), so the dashboard shows exactly what any other MQTT consumer sees.
import { EventEmitter } from 'node:events';
import type { BrokerMessage } from '../broker/types.js';
import { OldestKey } from '../oldest-key.js';
import { StateHistory } from './history.js';

export interface DashboardChange {
  kind: 'devices' | 'state' | 'availability' | 'info' | 'event' | 'bridge_state';
  device?: string;
  data: unknown;
}

const MAX_EVENTS = 100;
const MAX_UNKNOWN = 200;
const MAX_TOPICS_PER_DEVICE = 50;
/** Devices the model keeps states, availability and raw topics for: any client may publish below the base topic,
 * so the names it sees are not only the configured devices'. The one that published longest ago goes first. */
const MAX_DEVICES = 2000;
/** A state larger than this (as JSON text) is kept as a note of its size: the snapshot every event stream starts
 * with holds every state, and a client publishing 200 kB states to made-up ids took it to 80 MB. */
export const MAX_STATE_TEXT = 16 * 1024;
/** Raw payloads shown on the device page are cut at this many characters. */
const MAX_RAW_TEXT = 500;

/** The bridge topics the model keeps (#ingestBridge). */
const BRIDGE_TOPICS_READ = new Set(['devices', 'info', 'state', 'event']);

export class DashboardModel extends EventEmitter<{ change: [DashboardChange] }> {
  readonly history = new StateHistory();
  devices: unknown[] = [];
  info: unknown = {};
  bridgeState: unknown = { state: 'offline' };
  readonly states = new Map<string, Record<string, unknown>>();
  readonly availability = new Map<string, string>();
  readonly events: unknown[] = [];
  readonly unknownDevices = new Map<string, Record<string, unknown>>();
  /** Latest raw payload per topic below each device (`<base>/<id>/...`), for the device page. */
  readonly rawTopics = new Map<string, Map<string, string>>();
  readonly #oldest = {
    states: new OldestKey(this.states),
    availability: new OldestKey(this.availability),
    rawTopics: new OldestKey(this.rawTopics),
  };

  constructor(private readonly base: string) {
    super();
  }

  ingest(msg: BrokerMessage): void {
    const rest = msg.topic.slice(this.base.length + 1);
    // Parse only the payloads the model reads (four bridge topics, device state, availability): the others (`/log`
    // lines at 100s per second per serial device, `/smp/...`, `/set`, bridge/logging, bridge/response/backup of up
    // to 85 MB) are not parsed, and a failed JSON.parse throws, which is what made the dashboard the largest single
    // cost of serial `/log` publishing.
    if (rest.startsWith('bridge/')) {
      const name = rest.slice('bridge/'.length);
      if (BRIDGE_TOPICS_READ.has(name)) this.#ingestBridge(name, parseJson(msg.payload.toString('utf8')));
      return;
    }
    const text = msg.payload.toString('utf8');
    // indexOf, not split: this runs for every message below the base topic (a `/log` line included).
    const slash = rest.indexOf('/');
    const device = slash < 0 ? rest : rest.slice(0, slash);
    if (!device) return;
    this.#rememberRaw(device, rest, text);
    if (slash < 0) {
      if (text === '') {
        this.states.delete(device);
        this.history.forget(device);
        return;
      }
      // Not parsed when too large: only its size is kept (an object, as a state must be, is all that is checked).
      const json = text.length > MAX_STATE_TEXT ? tooLarge(text) : parseJson(text);
      if (!isObject(json)) return;
      putRecent(this.states, this.#oldest.states, device, json, (gone) => this.history.forget(gone));
      this.history.record(device, json);
      this.emit('change', { kind: 'state', device, data: json });
    } else if (rest.length === slash + 1 + 'availability'.length && rest.endsWith('/availability')) {
      const json = parseJson(text);
      if (!isObject(json)) return;
      putRecent(this.availability, this.#oldest.availability, device, String(json.state));
      this.emit('change', { kind: 'availability', device, data: json });
    }
  }

  #ingestBridge(name: string, json: unknown): void {
    switch (name) {
      case 'devices':
        if (Array.isArray(json)) {
          this.devices = json;
          for (const d of json)
            if (isObject(d) && typeof d.id === 'string') this.unknownDevices.delete(String(d.address));
          this.emit('change', { kind: 'devices', data: json });
        }
        return;
      case 'info':
        this.info = json;
        this.emit('change', { kind: 'info', data: json });
        return;
      case 'state':
        this.bridgeState = json;
        this.emit('change', { kind: 'bridge_state', data: json });
        return;
      case 'event':
        if (!isObject(json)) return;
        this.events.push({ ...json, time: new Date().toISOString() });
        if (this.events.length > MAX_EVENTS) this.events.shift();
        if (json.type === 'device_seen_unknown' && isObject(json.data)) {
          const key = String(json.data.address);
          this.unknownDevices.delete(key);
          this.unknownDevices.set(key, { ...json.data, time: new Date().toISOString() });
          if (this.unknownDevices.size > MAX_UNKNOWN)
            this.unknownDevices.delete(this.unknownDevices.keys().next().value as string);
        }
        this.emit('change', { kind: 'event', data: json });
        return;
    }
  }

  #rememberRaw(device: string, topic: string, text: string): void {
    const topics = this.rawTopics.get(device) ?? new Map<string, string>();
    putRecent(this.rawTopics, this.#oldest.rawTopics, device, topics);
    if (!topics.has(topic) && topics.size >= MAX_TOPICS_PER_DEVICE) topics.delete(topics.keys().next().value as string);
    topics.set(topic, text.length > MAX_RAW_TEXT ? `${text.slice(0, MAX_RAW_TEXT)}…` : text);
  }

  snapshot(): Record<string, unknown> {
    return {
      base_topic: this.base,
      bridge_state: this.bridgeState,
      info: this.info,
      devices: this.devices,
      states: Object.fromEntries(this.states),
      availability: Object.fromEntries(this.availability),
      events: this.events,
      unknown_devices: [...this.unknownDevices.values()],
    };
  }

  device(id: string): Record<string, unknown> {
    return {
      id,
      entry: this.devices.find((d) => isObject(d) && d.id === id) ?? null,
      state: this.states.get(id) ?? {},
      availability: this.availability.get(id) ?? 'offline',
      history: this.history.of(id),
      topics: Object.fromEntries(this.rawTopics.get(id) ?? []),
    };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function tooLarge(text: string): Record<string, unknown> | undefined {
  return text.trimStart().startsWith('{') ? { _too_large: `${text.length} characters, not kept` } : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets `key` as the most recent entry of a map bounded at MAX_DEVICES, dropping the least recent when full. */
function putRecent<V>(
  map: Map<string, V>,
  oldest: OldestKey<string>,
  key: string,
  value: V,
  dropped?: (key: string) => void,
): void {
  if (!map.delete(key)) {
    if (map.size < MAX_DEVICES) oldest.release();
    else {
      const gone = oldest.take();
      if (gone !== undefined) {
        map.delete(gone);
        dropped?.(gone);
      }
    }
  }
  map.set(key, value);
}
