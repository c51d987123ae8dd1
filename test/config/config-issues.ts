// The issues a config text is refused with (empty when it is accepted), for tests of single rules.
import { type ConfigError, type ConfigIssue, parseConfigText } from '../../gateway/config/load.js';

export function configIssues(text: string): ConfigIssue[] {
  try {
    parseConfigText(text, 'g.yaml', {});
  } catch (err) {
    return (err as ConfigError).issues;
  }
  return [];
}
