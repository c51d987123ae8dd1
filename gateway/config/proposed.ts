// Values proposed over the MQTT API (a device entry, a new id or name), checked on their own before the file
// is edited: a problem names the key in the request, not a line of a file that was never written.
import type { z } from 'zod';
import { formatIssue, formatPath } from './errors.js';
import { describeIssues } from './issues.js';

/**
 * Problems of `value` under `schema`, as "key: problem (hint: ...)" texts; `at` is where the proposed part sits
 * in `value` (its problems are the only ones kept, with paths relative to it).
 */
export function proposedProblems(schema: z.ZodType, value: unknown, at: readonly string[] = []): string[] {
  const result = schema.safeParse(value, { reportInput: true });
  const problems: string[] = [];
  for (const issue of result.error?.issues ?? [])
    for (const d of describeIssues(issue, schema, undefined, value)) {
      if (!at.every((key, i) => d.path[i] === key)) continue;
      const path = formatPath(d.path.slice(at.length)) || '(entry)';
      problems.push(formatIssue('', { path, message: d.message, hint: d.hint }).trimStart());
    }
  return problems;
}
