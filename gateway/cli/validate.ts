// `zephyr2mqtt validate [FILE]`: every problem of a config file, including files it names that `run` could not
// read and broker settings `run` would refuse to start with, without starting anything.
import { LineCounter } from 'yaml';
import { brokerStartProblems } from '../broker/policy.js';
import { ConfigError, type ConfigIssue, formatIssue, formatPath } from '../config/errors.js';
import { parseConfigDocument } from '../config/flow-references.js';
import { loadConfigFile, readConfigText } from '../config/load.js';
import { locate } from '../config/locate.js';
import type { GatewayConfig } from '../config/schema.js';
import { devicesOnDisabledAdapters, strandedDevicesIssue } from '../config/stranded-devices.js';
import { fileReferences, unreadableFiles } from './config-files.js';

export async function validateCommand(file: string): Promise<number> {
  let issues: ConfigIssue[];
  let warnings: ConfigIssue[] = [];
  try {
    const config = await loadConfigFile(file);
    const stranded = strandedDeviceProblems(config);
    if (stranded.length > 0) warnings = await locatedIssues(file, stranded);
    const unreadable = await unreadableFiles(fileReferences(config));
    const problems: KeyedProblem[] = [
      ...brokerStartProblems(config.broker),
      ...unreadable.map((u) => ({
        path: u.path,
        message: `cannot read ${u.file} (${u.code})`,
        hint: unreadableHint(u.code),
      })),
    ];
    issues = problems.length > 0 ? await locatedIssues(file, problems) : [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues = err.issues;
  }
  if (issues.length > 0) {
    // validate names every problem; a ConfigError's message (logs, bridge/event) stops after the first ones.
    console.error(`invalid config ${file}:\n${issues.map((i) => `  ${formatIssue(file, i)}`).join('\n')}`);
    return 2;
  }
  // Warnings do not fail validation: switching an adapter off for a while is legitimate.
  for (const w of warnings) console.error(`warning: ${formatIssue(file, w)}`);
  console.log(
    `${file}: valid${warnings.length > 0 ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})` : ''}`,
  );
  return 0;
}

/** One per adapter that the config disables while devices are left on it, at the first such device's transport. */
function strandedDeviceProblems(config: GatewayConfig): KeyedProblem[] {
  return [...devicesOnDisabledAdapters(config)].map(([kind, devices]) => ({
    path: ['devices', String(devices[0]?.index ?? 0), 'transport'],
    ...strandedDevicesIssue(
      kind,
      devices.map((d) => d.id),
    ),
  }));
}

/** A problem the schema cannot see, at the key path of the setting to change. */
interface KeyedProblem {
  path: string[];
  message: string;
  hint: string;
}

async function locatedIssues(file: string, problems: KeyedProblem[]): Promise<ConfigIssue[]> {
  const lineCounter = new LineCounter();
  const doc = parseConfigDocument(await readConfigText(file), { lineCounter, merge: true });
  const issues = problems.map((p) => {
    const pos = locate(doc, lineCounter, p.path);
    return { path: formatPath(p.path), line: pos?.line, column: pos?.col, message: p.message, hint: p.hint };
  });
  return issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}

function unreadableHint(code: string): string {
  if (code === 'ENOENT') return 'no such file: check the path (relative paths start from the working directory)';
  if (code === 'EACCES' || code === 'EPERM')
    return 'permission denied: let the user the gateway runs as read it (owner and mode of the file and its directories)';
  if (code === 'EISDIR') return 'it is a directory: name the PEM file itself';
  return 'check the path';
}
