// Start-up security policy, modelled on Mosquitto 2: nobody gets in unless the config says who may.
import type { BrokerConfig, GatewayConfig, ListenerConfig } from '../config/schema.js';
import { BrokerStartError } from './errors.js';
import { PasswordHashError, parsePasswordHash } from './password.js';

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** A broker setting that stops the gateway from starting, where it is and what to do about it. */
export interface BrokerStartProblem {
  /** Key path of the setting, e.g. ['broker', 'users', '1', 'username']. */
  path: string[];
  message: string;
  hint: string;
  /** What `run` says when it refuses to start. */
  startError: string;
}

/** Every broker setting the start would refuse; `zephyr2mqtt validate` reports them with their lines. */
export function brokerStartProblems(config: Pick<BrokerConfig, 'users' | 'allow_anonymous'>): BrokerStartProblem[] {
  const problems: BrokerStartProblem[] = [];
  if (config.users.length === 0 && !config.allow_anonymous) {
    problems.push({
      path: ['broker', 'allow_anonymous'],
      message:
        'no users are configured and allow_anonymous is false (the default), so no MQTT client could ever connect',
      hint: 'add broker.users (hash a password with `zephyr2mqtt passwd USER`), or set broker.allow_anonymous: true with listeners bound to 127.0.0.1 only',
      startError:
        'broker: no users are configured and allow_anonymous is false, so no MQTT client could ever connect. ' +
        'Add broker.users (hash a password with `zephyr2mqtt passwd USER`), or set broker.allow_anonymous: true ' +
        'with listeners bound to 127.0.0.1 only.',
    });
  }
  const seen = new Set<string>();
  for (const [i, user] of config.users.entries()) {
    if (seen.has(user.username)) {
      problems.push({
        path: ['broker', 'users', String(i), 'username'],
        message: `username "${user.username}" is listed twice`,
        hint: 'list each user once, with all of its acl rules',
        startError: `broker.users[${i}]: username "${user.username}" is listed twice`,
      });
    }
    seen.add(user.username);
    try {
      parsePasswordHash(user.password_hash);
    } catch (err) {
      if (!(err instanceof PasswordHashError)) throw err;
      problems.push({
        path: ['broker', 'users', String(i), 'password_hash'],
        message: `${err.message} (user ${user.username})`,
        hint: 'make one with `zephyr2mqtt passwd USER` and paste the whole line it prints',
        startError: `broker.users[${i}] (${user.username}): password_hash: ${err.message}`,
      });
    }
  }
  return problems;
}

/**
 * Throws BrokerStartError for configs that must not start; returns warnings for configs that may start
 * but deserve a loud notice.
 */
export function checkBrokerPolicy(config: BrokerConfig): string[] {
  const warnings: string[] = [];
  const [problem] = brokerStartProblems(config);
  if (problem) throw new BrokerStartError(problem.startError);
  if (config.allow_anonymous) {
    const exposed = config.listeners.filter((l: ListenerConfig) => !isLoopbackHost(l.host));
    for (const l of exposed) {
      warnings.push(
        `SECURITY WARNING: allow_anonymous is true and the ${l.type} listener on ${l.host}:${l.port} is reachable ` +
          'from other machines: anyone on the network can read and publish (within anonymous_acl). ' +
          'Set allow_anonymous: false and add users, or bind the listener to 127.0.0.1.',
      );
    }
  }
  return warnings;
}

/** Warnings for a dashboard that anyone on the network could use without logging in. */
export function checkDashboardPolicy(
  http: Pick<GatewayConfig['http'], 'host' | 'port' | 'dashboard'>,
  broker: Pick<BrokerConfig, 'allow_anonymous'>,
): string[] {
  if (!http.dashboard || !broker.allow_anonymous || isLoopbackHost(http.host)) return [];
  return [
    `SECURITY WARNING: allow_anonymous is true and the dashboard on ${http.host}:${http.port} is reachable from ` +
      'other machines: anyone on the network can use it without logging in (within anonymous_acl). ' +
      'Set allow_anonymous: false and add users, bind http.host to 127.0.0.1, or set http.dashboard: false.',
  ];
}
