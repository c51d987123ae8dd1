// How the `zephyr2mqtt` command line is read: options before or after the command, and nothing silently ignored.
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../gateway/cli/args.js';
import { COMMAND_HELP, MAIN_HELP } from '../../gateway/cli/help.js';

describe('zephyr2mqtt command line', () => {
  it('takes the config file of run as FILE or --config, and options before the command', () => {
    expect(parseCommandLine(['run', 'g1.yaml'])).toEqual({
      kind: 'command',
      command: 'run',
      options: { config: undefined, url: undefined, timeout: undefined },
      args: ['g1.yaml'],
    });
    expect(parseCommandLine(['-c', 'g1.yaml', 'run'])).toMatchObject({
      kind: 'command',
      command: 'run',
      options: { config: 'g1.yaml' },
      args: [],
    });
    expect(parseCommandLine(['--config', 'g1.yaml', 'validate'])).toMatchObject({
      command: 'validate',
      options: { config: 'g1.yaml' },
    });
  });

  it('refuses the config file given both ways, and extra arguments', () => {
    expect(parseCommandLine(['run', 'g1.yaml', '--config', 'g2.yaml'])).toEqual({
      kind: 'usage-error',
      message: 'give the config file once, either as FILE (g1.yaml) or with --config (g2.yaml), not both',
      help: COMMAND_HELP.run,
    });
    expect(parseCommandLine(['validate', 'a.yaml', 'b.yaml'])).toEqual({
      kind: 'usage-error',
      message: 'validate takes one config FILE, got 2 (a.yaml b.yaml)',
      help: COMMAND_HELP.validate,
    });
    expect(parseCommandLine(['run', 'a.yaml', 'b.yaml'])).toMatchObject({ kind: 'usage-error' });
    expect(parseCommandLine(['passwd', 'alice', 'bob'])).toMatchObject({
      kind: 'usage-error',
      message: 'passwd takes one USER, got 2 (alice bob)',
    });
    expect(parseCommandLine(['health', 'http://127.0.0.1:8080'])).toMatchObject({
      kind: 'usage-error',
      message: 'health takes no arguments (the address goes in --url), got 1 (http://127.0.0.1:8080)',
    });
  });

  it('refuses an option the command does not take, and a --timeout that is not milliseconds', () => {
    expect(parseCommandLine(['run', '--url', 'http://x'])).toMatchObject({
      kind: 'usage-error',
      message: 'run does not take --url',
    });
    for (const bad of ['abc', '0', '-5', '1.5', '']) {
      expect(parseCommandLine(['health', `--timeout=${bad}`])).toEqual({
        kind: 'usage-error',
        message: `--timeout takes a whole number of milliseconds above 0, got "${bad}"`,
        help: COMMAND_HELP.health,
      });
    }
    for (const tooLong of ['4294967296', '5000000000', '99999999999999999999']) {
      expect(parseCommandLine(['health', '--timeout', tooLong])).toEqual({
        kind: 'usage-error',
        message: `--timeout takes at most 4294967295 milliseconds (about 49 days), got ${tooLong}`,
        help: COMMAND_HELP.health,
      });
    }
    expect(parseCommandLine(['health', '--timeout', '4294967295'])).toMatchObject({ kind: 'command' });
    expect(parseCommandLine(['health', '--timeout', '2000'])).toMatchObject({
      kind: 'command',
      options: { timeout: '2000' },
    });
  });

  it("prints a command's help for `help COMMAND` and `COMMAND --help`, the main help otherwise", () => {
    expect(parseCommandLine(['help', 'run'])).toEqual({ kind: 'help', text: COMMAND_HELP.run, code: 0 });
    expect(parseCommandLine(['health', '-h'])).toEqual({ kind: 'help', text: COMMAND_HELP.health, code: 0 });
    expect(parseCommandLine(['help'])).toEqual({ kind: 'help', text: MAIN_HELP, code: 0 });
    expect(parseCommandLine([])).toEqual({ kind: 'help', text: MAIN_HELP, code: 2 });
    expect(parseCommandLine(['help', 'launch'])).toMatchObject({
      kind: 'usage-error',
      message: 'unknown command "launch"',
    });
    expect(parseCommandLine(['launch'])).toMatchObject({ kind: 'usage-error', message: 'unknown command "launch"' });
    expect(parseCommandLine(['run', '--version'])).toEqual({ kind: 'version' });
  });

  it("answers an unknown option with the named command's help", () => {
    const res = parseCommandLine(['run', '--bogus']);
    expect(res).toMatchObject({ kind: 'usage-error', help: COMMAND_HELP.run });
    expect(res.kind === 'usage-error' && res.message).toMatch(/Unknown option '--bogus'/);
  });
});
