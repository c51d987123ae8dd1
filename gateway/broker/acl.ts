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

/** Decisions remembered per connection; devices publish to a handful of topics over and over. */
const CACHE_SIZE = 256;

const publishes = (rule: BoundRule, levels: string[]): boolean => rule.publish && levelsMatch(rule.levels, levels);
const receives = (rule: BoundRule, levels: string[]): boolean => rule.subscribe && levelsMatch(rule.levels, levels);

/** The rules in force for one connection. */
export class ClientAcl {
  readonly #rules: BoundRule[];
  readonly #publishCache = new Map<string, boolean>();
  readonly #receiveCache = new Map<string, boolean>();
  /** A subscribe rule on `#`: every topic but `$`-topics may be received (the default ACL), no lookup needed. */
  readonly #receivesAll: boolean;

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
    this.#receivesAll = this.#rules.some((r) => r.subscribe && r.filter === '#');
  }

  canPublish(topic: string): boolean {
    return this.#decide(this.#publishCache, topic, publishes);
  }

  /** May a message on the topic *name* `topic` be delivered to this connection: does a subscribe rule match it? */
  canReceive(topic: string): boolean {
    if (this.#receivesAll && !topic.startsWith('$')) return true;
    return this.#decide(this.#receiveCache, topic, receives);
  }

  #decide(cache: Map<string, boolean>, topic: string, allows: typeof publishes): boolean {
    const cached = cache.get(topic);
    if (cached !== undefined) return cached;
    const levels = topic.split('/');
    const allowed = this.#rules.some((rule) => allows(rule, levels));
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(topic, allowed);
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
