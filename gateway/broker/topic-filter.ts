// MQTT 3.1.1 topic filter matching (section 4.7), including the rule that a filter starting with a
// wildcard never matches a topic starting with '$' [MQTT-4.7.2-1].

/** Does `filter` (may hold + and #) match the concrete topic name `topic`? */
export function filterMatchesTopic(filter: string, topic: string): boolean {
  return levelsMatch(filter.split('/'), topic.split('/'));
}

/** filterMatchesTopic on pre-split levels, for callers that match one topic against many filters. */
export function levelsMatch(f: readonly string[], t: readonly string[]): boolean {
  const first = f[0];
  if ((first === '+' || first === '#') && t[0]?.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // also matches the parent level: 'a/#' matches 'a'
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Is every topic matched by `inner` also matched by `outer`? Used to authorise SUBSCRIBE filters. */
export function filterCovers(outer: string, inner: string): boolean {
  if (inner.startsWith('$') && (outer.startsWith('+') || outer.startsWith('#'))) return false;
  const o = outer.split('/');
  const n = inner.split('/');
  for (let i = 0; i < o.length; i++) {
    const level = o[i];
    if (level === '#') return true;
    const sub = n[i];
    if (sub === undefined) return false;
    if (sub === '#') return false; // only '#' covers '#'
    if (level === '+') continue; // '+' covers one literal or '+'
    if (sub === '+' || sub !== level) return false;
  }
  return o.length === n.length;
}

/** A syntactically valid filter (3.1.1 section 4.7.1): '#' last and alone in its level, '+' alone in its level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\0')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1;
    if (level.includes('+')) return level === '+';
    return true;
  });
}
