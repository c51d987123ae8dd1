// A config problem and the error that carries them: each issue names the file, line and column, the key
// path, what was expected and a hint.

export interface ConfigIssue {
  path: string;
  line?: number | undefined;
  column?: number | undefined;
  message: string;
  hint?: string | undefined;
}

/** The message lists this many issues; `issues` keeps them all. */
const MAX_LISTED = 20;

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    const shown = issues.slice(0, MAX_LISTED).map((i) => `  ${formatIssue(file, i)}`);
    if (issues.length > MAX_LISTED) shown.push(`  ... and ${issues.length - MAX_LISTED} more`);
    super(`invalid config ${file}:\n${shown.join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatIssue(file: string, i: ConfigIssue): string {
  const where = i.line ? `${file}:${i.line}:${i.column ?? 1}` : file;
  return `${where} ${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;
}

export function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((p, i) => {
      if (typeof p === 'number' || /^\d+$/.test(p)) return `[${p}]`;
      const key = p === '' ? '""' : p; // an empty key must still show
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}
