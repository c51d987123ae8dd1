import { describe, expect, it } from 'vitest';
import { eventProperty, type RetainedConfig } from '../../gateway/homeassistant/retained-configs.js';

const eventConfig = (node: string, stateTopic: unknown): RetainedConfig => ({
  topic: `homeassistant/event/gw_dev1/${node}/config`,
  component: 'event',
  objectId: 'gw_dev1',
  node,
  payload: { state_topic: stateTopic },
});

describe('retained discovery configs', () => {
  it("reads an event entity's property from its state_topic, whatever the base topic was", () => {
    // The topic has the name topic-safe; the state topic has it as the device sent it.
    expect(eventProperty(eventConfig('button_a_b_1', 'zephyr2mqtt/dev1/button_a.b_1/event'), 'dev1')).toBe(
      'button_a.b_1',
    );
    // A base topic of several levels, one of them the device id.
    expect(eventProperty(eventConfig('button_2', 'dev1/home/dev1/button_2/event'), 'dev1')).toBe('button_2');
    // Another device's state topic, or one an override replaced: the topic's name.
    expect(eventProperty(eventConfig('button', 'zephyr2mqtt/dev2/button/event'), 'dev1')).toBe('button');
    expect(eventProperty(eventConfig('button', 'my/own/topic'), 'dev1')).toBe('button');
    expect(eventProperty(eventConfig('button', 42), 'dev1')).toBe('button');
  });
});
