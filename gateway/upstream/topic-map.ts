// Topic mappings like Mosquitto's `topic <pattern> <direction> <qos> <local prefix> <remote prefix>` lines.

import { filterMatchesTopic } from '../broker/topic-filter.js';
import type { TopicMapping, UpstreamConfig } from './config.js';

export interface ResolvedMapping {
  direction: 'out' | 'in' | 'both';
  qos: 0 | 1 | 2;
  localPrefix: string;
  remotePrefix: string;
  /** Filter on the local broker (local prefix + pattern). */
  localFilter: string;
  /** Filter on the upstream broker (remote prefix + pattern). */
  remoteFilter: string;
}

export interface Route {
  topic: string;
  qos: 0 | 1 | 2;
}

export function defaultRemotePrefix(config: UpstreamConfig, gatewayId: string): string {
  return `${config.remote_prefix}${gatewayId}/`;
}

export function resolveMappings(config: UpstreamConfig, baseTopic: string, gatewayId: string): ResolvedMapping[] {
  return config.topics.map((t: TopicMapping) => {
    const localPrefix = t.local_prefix ?? `${baseTopic}/`;
    const remotePrefix = t.remote_prefix ?? defaultRemotePrefix(config, gatewayId);
    return {
      direction: t.direction,
      qos: t.qos,
      localPrefix,
      remotePrefix,
      localFilter: localPrefix + t.pattern,
      remoteFilter: remotePrefix + t.pattern,
    };
  });
}

/** Where a local publish goes upstream: the first `out`/`both` mapping that matches wins. */
export function routeOut(mappings: readonly ResolvedMapping[], localTopic: string): Route | undefined {
  for (const m of mappings) {
    if (m.direction === 'in' || !filterMatchesTopic(m.localFilter, localTopic)) continue;
    return { topic: m.remotePrefix + localTopic.slice(m.localPrefix.length), qos: m.qos };
  }
  return undefined;
}

/** Where an upstream message goes locally: the first `in`/`both` mapping that matches wins. */
export function routeIn(mappings: readonly ResolvedMapping[], remoteTopic: string): Route | undefined {
  for (const m of mappings) {
    if (m.direction === 'out' || !filterMatchesTopic(m.remoteFilter, remoteTopic)) continue;
    return { topic: m.localPrefix + remoteTopic.slice(m.remotePrefix.length), qos: m.qos };
  }
  return undefined;
}
