import { describe, expect, it } from 'vitest';
import { blamesMessage } from '../../gateway/upstream/disconnect-reasons.js';
import { REFUSED_FOR_MS, RefusedTopics } from '../../gateway/upstream/refused-topics.js';

describe('refused topics', () => {
  it('refuses a topic for an hour, then lets the next message on it be tried again', () => {
    const clock = { t: 0 };
    const refused = new RefusedTopics(() => clock.t);
    refused.add('gw1/x', 'closes the connection');
    clock.t += REFUSED_FOR_MS - 1;
    expect(refused.reason('gw1/x')).toBe('closes the connection');
    clock.t += 1;
    expect(refused.reason('gw1/x')).toBeUndefined();
    expect(refused.size).toBe(0);
  });
});

describe('MQTT 5 DISCONNECT reason codes', () => {
  it('blame the message only for what a message can cause', () => {
    for (const code of [0x80, 0x87, 0x90, 0x95, 0x99, 0x9a, 0x9b]) expect(blamesMessage(code)).toBe(true);
    for (const code of [0x00, 0x89, 0x8b, 0x8e, 0x93, 0x94, 0x97, 0x98, 0x9c, 0x9d, 0xa2])
      expect(blamesMessage(code)).toBe(false);
  });
});
