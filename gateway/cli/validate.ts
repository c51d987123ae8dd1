// `zephyr2mqtt validate [FILE]`: every problem of a config file, including files it names that `run` could not
// read, without starting anything.
import { LineCounter } from 'yaml';
import { ConfigError, type ConfigIssue, formatIssue, formatPath } from '../config/errors.js';
import { parseConfigDocument } from '../config/flow-references.js';
import { loadConfigFile, readConfigText } from '../config/load.js';
import { locate } from '../config/locate.js';
import { fileReferences, type UnreadableFile, unreadableFiles } from './config-files.js';

export async function validateCommand(file: string): Promise<number> {
  let issues: ConfigIssue[];
  try {
    const config = await loadConfigFile(file);
    const unreadable = await unreadableFiles(fileReferences(config));
    issues = unreadable.length > 0 ? await locatedIssues(file, unreadable) : [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues = err.issues;
  }
  if (issues.length > 0) {
    // validate names every problem; a ConfigError's message (logs, bridge/event) stops after the first ones.
    console.error(`invalid config ${file}:\n${issues.map((i) => `  ${formatIssue(file, i)}`).join('\n')}`);
    return 2;
  }
  console.log(`${file}: valid`);
  return 0;
}

async function locatedIssues(file: string, unreadable: UnreadableFile[]): Promise<ConfigIssue[]> {
  const lineCounter = new LineCounter();
  const doc = parseConfigDocument(await readConfigText(file), { lineCounter, merge: true });
  return unreadable.map((u) => {
    const pos = locate(doc, lineCounter, u.path);
    return {
      path: formatPath(u.path),
      line: pos?.line,
      column: pos?.col,
      message: `cannot read ${u.file} (${u.code})`,
      hint: unreadableHint(u.code),
    };
  });
}

function unreadableHint(code: string): string {
  if (code === 'ENOENT') return 'no such file: check the path (relative paths start from the working directory)';
  if (code === 'EACCES' || code === 'EPERM')
    return 'permission denied: let the user the gateway runs as read it (owner and mode of the file and its directories)';
  if (code === 'EISDIR') return 'it is a directory: name the PEM file itself';
  return 'check the path';
}
