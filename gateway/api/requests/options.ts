// bridge/request/options: {"options": {"<section>": {"<key>": <value>, "<other>": null}}} merges settings into the
// config file (objects key by key, null removes a key), as Zigbee2MQTT's request of the same name does: the file is
// edited in place, validated and applied like a reload. Settings that need a restart are written but run with
// their old values until then: the answer says so.
import { setOptions } from '../../config/edit.js';
import { isPlainObject } from '../../config/merge-options.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';

const USAGE = 'expected {"options": {"<section>": {"<key>": <value>, or null to remove the key}}}';

export interface OptionsResult {
  /** Zigbee2MQTT's answer: whether a restart is needed for all of it to take effect. */
  restart_required: boolean;
  /** The settings that wait for it (bridge/request/restart). */
  restart_keys?: string[];
}

export async function options(gw: Gateway, data: Record<string, unknown>): Promise<OptionsResult> {
  const change = data.options;
  if (!isPlainObject(change) || Object.keys(change).length === 0) throw new RequestError(USAGE);
  const diff = await gw.editConfig((doc) => setOptions(doc, change), 'options changed');
  const keys = diff.restart_required ?? [];
  return { restart_required: keys.length > 0, ...(keys.length > 0 ? { restart_keys: keys } : {}) };
}
