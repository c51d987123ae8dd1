// The /event payload of a press: HA's {"event_type"}, a dimmer's turn split into direction and steps.
import { describe, expect, it } from 'vitest';
import { eventPayload } from '../../gateway/devices/event-payload.js';

describe('eventPayload', () => {
  it("splits a dimmer's turn into its direction and steps, and leaves every other event type as it is", () => {
    expect(eventPayload('dimmer', 'rotate_right_12')).toEqual({ event_type: 'rotate_right', steps: 12 });
    expect(eventPayload('dimmer_2', 'rotate_left_0')).toEqual({ event_type: 'rotate_left', steps: 0 });
    for (const value of ['press', 'double_press', 'rotate_up_3', 'rotate_left', 'single'])
      expect(eventPayload('dimmer', value)).toEqual({ event_type: value });
    // Only a dimmer's: a button's or action's entity has no rotate_left among its event types.
    expect(eventPayload('action', 'rotate_left_2')).toEqual({ event_type: 'rotate_left_2' });
  });
});
