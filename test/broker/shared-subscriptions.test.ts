// `$share/<group>/<filter>` is refused with SUBACK 0x80 and its own log line: aedes would take it literally.
import { afterEach, describe, expect, it } from 'vitest';
import { SHARED_SUBSCRIPTION_REFUSED } from '../../gateway/broker/shared-subscription.js';
import { endClients, startTestBroker, subackCodes, type TestBroker } from './helpers.js';

describe('shared subscriptions', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  const logged = (msg: string) => tb?.log.lines.filter((l) => l.msg === msg) ?? [];

  for (const [acl, rules] of [
    ['an ACL allowing #', [{ allow: 'both', topic: '#' }]],
    [
      'an ACL allowing $share/#',
      [
        { allow: 'both', topic: '#' },
        { allow: 'subscribe', topic: '$share/#' },
      ],
    ],
  ] as const) {
    it(`refuses $share/ filters with 0x80 and says why, with ${acl}`, async () => {
      tb = await startTestBroker({ anonymous_acl: [...rules] });
      const client = await tb.connect({ clientId: 'share-app' });
      const codes = await subackCodes(client, { '$share/g/test/#': { qos: 1 }, 'test/#': { qos: 1 } });
      expect(codes).toEqual([
        ['$share/g/test/#', 0x80],
        ['test/#', 1],
      ]);
      expect(logged(SHARED_SUBSCRIPTION_REFUSED)).toEqual([
        expect.objectContaining({ level: 40, clientId: 'share-app', filter: '$share/g/test/#' }),
      ]);
      expect(logged('subscribe denied by ACL')).toEqual([]);
    });
  }

  it('still lets the ACL refuse a $share-like topic that is no shared subscription', async () => {
    tb = await startTestBroker({ anonymous_acl: [{ allow: 'both', topic: '#' }] });
    const client = await tb.connect({ clientId: 'dollar-app' });
    expect(await subackCodes(client, { $shared: { qos: 1 } })).toEqual([['$shared', 0x80]]);
    expect(logged('subscribe denied by ACL')).toHaveLength(1);
    expect(logged(SHARED_SUBSCRIPTION_REFUSED)).toEqual([]);
  });
});
