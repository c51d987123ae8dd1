// What `<base>/<device>/<property>/event` carries for one press: {"event_type": ...}, the payload Home Assistant's
// event entity reads. A BTHome dimmer's turn, `rotate_left_3` in the state, is split into its direction and its
// steps: HA's event types are a fixed list, in which `rotate_left_3` would be refused.
const DIMMER_TURN = /^(rotate_left|rotate_right)_(\d+)$/;
const DIMMER = /^dimmer(?:_\d+)?$/;

export interface EventPayload {
  event_type: string;
  steps?: number;
}

export function eventPayload(property: string, value: string): EventPayload {
  const turn = DIMMER.test(property) ? DIMMER_TURN.exec(value) : null;
  return turn ? { event_type: turn[1] as string, steps: Number(turn[2]) } : { event_type: value };
}
