import { describe, expect, it } from 'vitest';
import { filterMatchesTopic as topicMatches } from '../../gateway/broker/topic-filter.js';
import { reconnectDelayMs } from '../../gateway/upstream/backoff.js';
import { upstreamConfigSchema } from '../../gateway/upstream/config.js';
import { describeConnectError, redactUrl } from '../../gateway/upstream/describe-error.js';
import { RateLimiter } from '../../gateway/upstream/rate-limiter.js';
import { resolveMappings, routeIn, routeOut } from '../../gateway/upstream/topic-map.js';

describe('topic mappings', () => {
  it('defaults to <base>/# out to <remote_prefix><gateway-id>/...', () => {
    const config = upstreamConfigSchema.parse({ remote_prefix: 'fleet/' });
    const maps = resolveMappings(config, 'zephyr2mqtt', 'gw7');
    expect(routeOut(maps, 'zephyr2mqtt/dev1')).toEqual({ topic: 'fleet/gw7/dev1', qos: 1 });
    expect(routeOut(maps, 'zephyr2mqtt/bridge/event')).toEqual({ topic: 'fleet/gw7/bridge/event', qos: 1 });
    expect(routeOut(maps, 'elsewhere/dev1')).toBeUndefined();
    expect(routeIn(maps, 'fleet/gw7/dev1/set')).toBeUndefined();
  });

  it('applies Mosquitto-style lines: pattern, direction, qos and both prefixes; the first match wins', () => {
    const config = upstreamConfigSchema.parse({
      topics: [
        { pattern: '+/set', direction: 'in', qos: 1 },
        { pattern: 'sensors/#', direction: 'out', qos: 0, local_prefix: 'zephyr2mqtt/', remote_prefix: 'site/a/' },
        { pattern: 'cmd/#', direction: 'both', qos: 2, local_prefix: 'local/', remote_prefix: '' },
      ],
    });
    const maps = resolveMappings(config, 'zephyr2mqtt', 'gw');
    expect(routeIn(maps, 'gw/lamp/set')).toEqual({ topic: 'zephyr2mqtt/lamp/set', qos: 1 });
    expect(routeIn(maps, 'gw/lamp/get')).toBeUndefined();
    expect(routeOut(maps, 'zephyr2mqtt/lamp/set')).toBeUndefined();
    expect(routeOut(maps, 'zephyr2mqtt/sensors/t1')).toEqual({ topic: 'site/a/sensors/t1', qos: 0 });
    expect(routeOut(maps, 'local/cmd/x')).toEqual({ topic: 'cmd/x', qos: 2 });
    expect(routeIn(maps, 'cmd/y')).toEqual({ topic: 'local/cmd/y', qos: 2 });
  });

  it('matches MQTT filters', () => {
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('a/b', 'a/b')).toBe(true);
  });
});

describe('config', () => {
  it('rejects bad URLs, half a client key pair and two password sources with clear messages', () => {
    const bad = (input: unknown) => upstreamConfigSchema.safeParse(input).error?.issues.map((i) => i.message);
    expect(bad({ url: 'http://x' })).toEqual([expect.stringMatching(/mqtt, mqtts, ws or wss/)]);
    expect(bad({ tls: { cert: 'c.pem' } })).toEqual(['tls.cert and tls.key go together']);
    expect(bad({ password: 'a', password_file: '/f' })).toEqual(['set password or password_file, not both']);
    expect(upstreamConfigSchema.parse({}).tls).toBeUndefined();
    expect(upstreamConfigSchema.parse({ tls: {} }).tls?.verify).toBe(true);
  });
});

describe('reconnect back-off', () => {
  it('grows exponentially up to the ceiling, jittered between half and the full step', () => {
    expect(reconnectDelayMs(0, 1000, 60_000, () => 0)).toBe(500);
    expect(reconnectDelayMs(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(reconnectDelayMs(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(reconnectDelayMs(50, 1000, 60_000, () => 0.5)).toBe(45_000);
  });
});

describe('drain rate limiter', () => {
  it('allows `rate` per second and says how long to wait', () => {
    let now = 0;
    const rl = new RateLimiter(10, () => now);
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (rl.take() === 0) allowed++;
    expect(allowed).toBe(10);
    expect(rl.take()).toBe(100);
    now += 500;
    allowed = 0;
    for (let i = 0; i < 20; i++) if (rl.take() === 0) allowed++;
    expect(allowed).toBe(5);
    expect(new RateLimiter(0).take()).toBe(0);
  });
});

describe('connection errors', () => {
  const url = 'mqtts://broker:8883';
  it('names the cause and the config key to check', () => {
    expect(
      describeConnectError(Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }), url),
    ).toMatch(/bad username or password \(check bridge.username/);
    expect(
      describeConnectError(Object.assign(new Error('Connection refused: Not authorized'), { code: 135 }), url),
    ).toMatch(/not authorized/);
    expect(
      describeConnectError(
        Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
        url,
      ),
    ).toMatch(/not trusted .* check bridge.tls.ca/);
    expect(describeConnectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), url)).toBe(
      'cannot reach upstream mqtts://broker:8883 (ECONNREFUSED)',
    );
    expect(
      describeConnectError(
        Object.assign(new Error('Connection refused: Unacceptable protocol version'), { code: 1 }),
        url,
      ),
    ).toMatch(/protocol_version/);
  });

  it('never shows credentials from the URL', () => {
    expect(redactUrl('mqtts://user:secret@broker:8883')).toBe('mqtts://broker:8883');
  });
});
