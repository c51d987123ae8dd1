// Topic ACLs: per-user (or anonymous) rules allowing publish, subscribe or both on MQTT filters with
// `%u` (username) and `%c` (client id) substitution. Rules are bound to one connection once, at CONNECT.
import { filterCovers, levelsMatch } from './topic-filter.js';

export interface AclRule {
  allow: 'publish' | 'subscribe' | 'both';
  topic: string;
}

interface BoundRule {
  publish: boolean;
  subscribe: boolean;
  filter: string;
  levels: string[];
}

/** Substituted values must not smuggle wildcards or extra levels into a rule (Mosquitto refuses those too). */
const UNSAFE_VALUE = /[+#/\0]/;

function substitute(topic: string, username: string | undefined, clientId: string): string | undefined {
  if (!topic.includes('%')) return topic;
  if (topic.includes('%u') && (username === undefined || username === '' || UNSAFE_VALUE.test(username))) {
    return undefined;
  }
  if (topic.includes('%c') && (clientId === '' || UNSAFE_VALUE.test(clientId))) return undefined;
  return topic.replaceAll('%u', username ?? '').replaceAll('%c', clientId);
}

/** Publish decisions remembered per connection; devices publish to a handful of topics over and over. */
const PUBLISH_CACHE_SIZE = 256;

/** The rules in force for one connection. */
export class ClientAcl {
  readonly #rules: BoundRule[];
  readonly #publishCache = new Map<string, boolean>();

  constructor(rules: readonly AclRule[], username: string | undefined, clientId: string) {
    this.#rules = [];
    for (const rule of rules) {
      const filter = substitute(rule.topic, username, clientId);
      if (filter === undefined) continue;
      this.#rules.push({
        publish: rule.allow !== 'subscribe',
        subscribe: rule.allow !== 'publish',
        filter,
        levels: filter.split('/'),
      });
    }
  }

  canPublish(topic: string): boolean {
    const cached = this.#publishCache.get(topic);
    if (cached !== undefined) return cached;
    const levels = topic.split('/');
    let allowed = false;
    for (const rule of this.#rules) {
      if (rule.publish && levelsMatch(rule.levels, levels)) {
        allowed = true;
        break;
      }
    }
    if (this.#publishCache.size >= PUBLISH_CACHE_SIZE) this.#publishCache.clear();
    this.#publishCache.set(topic, allowed);
    return allowed;
  }

  /** A subscription is allowed only when one rule covers every topic the filter could match. */
  canSubscribe(filter: string): boolean {
    for (const rule of this.#rules) {
      if (rule.subscribe && filterCovers(rule.filter, filter)) return true;
    }
    return false;
  }
}
