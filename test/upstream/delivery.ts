import { expect } from 'vitest';

/** Per topic: the first occurrences must be exactly the sent sequence; anything else is a counted duplicate. */
export function checkDelivery(seen: Array<{ topic: string; payload: string }>, sent: Map<string, string[]>) {
  let duplicates = 0;
  for (const [topic, payloads] of sent) {
    const got = seen.filter((m) => m.topic === topic).map((m) => m.payload);
    const first: string[] = [];
    const seenSet = new Set<string>();
    for (const p of got) {
      if (seenSet.has(p)) duplicates++;
      else {
        seenSet.add(p);
        first.push(p);
      }
    }
    expect(first, `order on ${topic}`).toEqual(payloads);
  }
  return duplicates;
}
