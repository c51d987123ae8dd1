// What makes gateway.base_topic unusable as the first level(s) of every topic the gateway publishes and reads.
import type { z } from 'zod';

const EXAMPLE = 'e.g. base_topic: zephyr2mqtt';

/** The same rules for editors (docs/config.schema.json): not empty, no wildcard or U+0000, no "$" first, no "/" last. */
export const BASE_TOPIC_PATTERN = '^(?!\\$)[^#+\\u0000]*[^#+/\\u0000]$';

/** The first problem of a base topic, with a fix; undefined when it is usable. */
export function baseTopicProblem(topic: string): { message: string; hint: string } | undefined {
  const shown = JSON.stringify(topic);
  if (topic === '') return { message: 'the base topic "" is empty; every topic starts with it', hint: EXAMPLE };
  if (/[+#]/.test(topic))
    return {
      message: `${shown} holds an MQTT wildcard (+ or #); every topic starts with the base topic`,
      hint: EXAMPLE,
    };
  if (topic.includes('\u0000'))
    return { message: `${shown} holds U+0000, which no MQTT topic may hold`, hint: EXAMPLE };
  // MQTT-4.7.2: "#" does not match topics starting with "$", and the broker refuses client publishes to $SYS: the
  // bridge requests and /set commands would never arrive.
  if (topic.startsWith('$'))
    return {
      message: `${shown} starts with "$": such topics are the broker's own, "#" subscriptions do not see them`,
      hint: `drop the "$", ${EXAMPLE}`,
    };
  if (topic.endsWith('/')) {
    const trimmed = topic.replace(/\/+$/, '');
    return {
      message: `${shown} ends with "/": every topic would have an empty level (${topic}/bridge/state)`,
      hint: trimmed === '' ? EXAMPLE : `did you mean "${trimmed}"?`,
    };
  }
  return undefined;
}

export function checkBaseTopic(topic: string, ctx: z.RefinementCtx): void {
  const problem = baseTopicProblem(topic);
  if (problem) ctx.addIssue({ code: 'custom', input: topic, message: problem.message, params: { hint: problem.hint } });
}
