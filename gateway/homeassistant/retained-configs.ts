// This gateway's discovery configs as the broker keeps them (retained, so across restarts): what earlier runs
// announced, found by one pass over the retained messages. Only the current discovery prefix is looked at: configs
// left under an earlier prefix are not recognisable as discovery configs.
import type { BrokerMessage } from '../broker/types.js';
import { isPlainObject } from '../config/merge-options.js';
import { bridgeIdentifier, type DiscoveryOptions, discoveryObjectId, topicSafe } from './discovery.js';

export interface RetainedConfig {
  topic: string;
  component: string;
  /** `<gateway id>_<device id>`, topic-safe (discoveryObjectId). */
  objectId: string;
  /** The property's name, topic-safe. */
  node: string;
  payload: Record<string, unknown>;
}

/**
 * The retained configs under the discovery prefix that this gateway published. The object id's `<gateway id>_`
 * alone does not tell: gateway `a`'s device `b_c` and gateway `a_b`'s device `c` are both `a_b_c`, so the config
 * must also name this gateway as its `via_device` (an override of `device.via_device` hides it from this).
 */
export function* retainedConfigs(messages: Iterable<BrokerMessage>, opts: DiscoveryOptions): Generator<RetainedConfig> {
  const prefix = `${opts.discoveryPrefix}/`;
  const ownObjectIds = discoveryObjectId(opts, '');
  const bridge = bridgeIdentifier(opts);
  for (const { topic, payload } of messages) {
    if (!topic.startsWith(prefix)) continue;
    const [component, objectId, node, config, ...more] = topic.slice(prefix.length).split('/');
    if (config !== 'config' || more.length > 0 || !component || !node || !objectId?.startsWith(ownObjectIds)) continue;
    const parsed = parseObject(payload);
    if (parsed && asObject(parsed.device)?.via_device === bridge)
      yield { topic, component, objectId, node, payload: parsed };
  }
}

/**
 * The property an event entity was announced for. Its state_topic, `<base>/<device>/<property>/event`, has the
 * real name (the topic only its topic-safe form, of the same length) under whatever base topic was current then.
 */
export function eventProperty(config: RetainedConfig, deviceId: string): string {
  const stateTopic = config.payload.state_topic;
  const suffix = '/event';
  if (typeof stateTopic === 'string' && stateTopic.endsWith(suffix)) {
    const rest = stateTopic.slice(0, -suffix.length);
    const split = rest.length - config.node.length;
    const property = rest.slice(split);
    const head = rest.slice(0, split);
    if (split > 0 && topicSafe(property) === config.node && (head === `${deviceId}/` || head.endsWith(`/${deviceId}/`)))
      return property;
  }
  // A state_topic of the device's overrides: every name the core publishes events for is topic-safe already.
  return config.node;
}

function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    return asObject(JSON.parse(payload.toString('utf8')));
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return isPlainObject(value) ? value : undefined;
}
