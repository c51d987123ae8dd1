import { describe, expect, it } from 'vitest';
import { ClientAcl } from '../../gateway/broker/acl.js';

describe('ClientAcl', () => {
  it('separates publish and subscribe rights', () => {
    const acl = new ClientAcl(
      [
        { allow: 'subscribe', topic: 'zephyr2mqtt/#' },
        { allow: 'publish', topic: 'zephyr2mqtt/+/set' },
      ],
      'dash',
      'c1',
    );
    expect(acl.canSubscribe('zephyr2mqtt/#')).toBe(true);
    expect(acl.canPublish('zephyr2mqtt/kitchen')).toBe(false);
    expect(acl.canPublish('zephyr2mqtt/kitchen/set')).toBe(true);
    expect(acl.canSubscribe('other/#')).toBe(false);
    expect(acl.canSubscribe('#')).toBe(false);
  });

  it('substitutes %u and %c', () => {
    const acl = new ClientAcl([{ allow: 'both', topic: 'users/%u/%c/#' }], 'alice', 'phone');
    expect(acl.canPublish('users/alice/phone/x')).toBe(true);
    expect(acl.canPublish('users/bob/phone/x')).toBe(false);
    expect(acl.canSubscribe('users/alice/phone/#')).toBe(true);
    expect(acl.canSubscribe('users/+/phone/#')).toBe(false);
  });

  it('drops pattern rules whose values would inject wildcards or levels', () => {
    for (const username of ['+', '#', 'a/b', undefined]) {
      const acl = new ClientAcl([{ allow: 'both', topic: 'users/%u/#' }], username, 'c');
      expect(acl.canSubscribe('users/+/#')).toBe(false);
      expect(acl.canPublish('users/x/y')).toBe(false);
    }
    const byClient = new ClientAcl([{ allow: 'publish', topic: 'dev/%c' }], 'u', 'a/#');
    expect(byClient.canPublish('dev/a/b')).toBe(false);
  });

  it('does not let # reach $-topics', () => {
    const acl = new ClientAcl([{ allow: 'both', topic: '#' }], 'u', 'c');
    expect(acl.canPublish('$SYS/x')).toBe(false);
    expect(acl.canSubscribe('$SYS/#')).toBe(false);
    expect(acl.canPublish('any/topic')).toBe(true);
  });

  it('denies everything with no rules', () => {
    const acl = new ClientAcl([], 'u', 'c');
    expect(acl.canPublish('a')).toBe(false);
    expect(acl.canSubscribe('a')).toBe(false);
  });

  it('keeps giving the same answers when its decision cache overflows', () => {
    const acl = new ClientAcl([{ allow: 'publish', topic: 'ok/#' }], 'u', 'c');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 600; i++) {
        expect(acl.canPublish(`ok/${i}`)).toBe(true);
        expect(acl.canPublish(`no/${i}`)).toBe(false);
      }
    }
  });

  it('decides delivery of a topic name by the subscribe rules', () => {
    const acl = new ClientAcl(
      [
        { allow: 'subscribe', topic: 'a/+/c' },
        { allow: 'publish', topic: 'p/#' },
      ],
      'u',
      'c',
    );
    expect(acl.canReceive('a/b/c')).toBe(true);
    expect(acl.canReceive('a/b/d')).toBe(false);
    expect(acl.canReceive('p/x')).toBe(false);
    const all = new ClientAcl([{ allow: 'both', topic: '#' }], 'u', 'c');
    expect(all.canReceive('any/topic')).toBe(true);
    expect(all.canReceive('$SYS/broker/uptime')).toBe(false);
  });
});
