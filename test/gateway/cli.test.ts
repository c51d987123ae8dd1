// The `zephyr2mqtt` command line: help and version everywhere, validate's exit codes, passwd.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../gateway/broker/password.js';
import { VERSION } from '../../gateway/version.js';
import { runCli } from '../helpers/child-gateway.js';

describe('zephyr2mqtt CLI', { timeout: 120_000 }, () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints each command its own help, and the version anywhere', async () => {
    // One at a time: the machine is shared, and each run starts a TypeScript loader.
    const main = await runCli(['--help']);
    const run = await runCli(['run', '--help']);
    const validate = await runCli(['validate', '--help']);
    const health = await runCli(['health', '-h']);
    const passwd = await runCli(['passwd', '--help']);
    const version = await runCli(['--version']);
    const runVersion = await runCli(['run', '--version']);
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('zephyr2mqtt run [FILE]');
    expect(run.stdout).toMatch(/^Usage: zephyr2mqtt run \[FILE\]/);
    expect(run.stdout).toContain('SIGHUP reloads the config');
    expect(validate.stdout).toMatch(/^Usage: zephyr2mqtt validate/);
    expect(health.stdout).toMatch(/^Usage: zephyr2mqtt health/);
    expect(passwd.stdout).toMatch(/^Usage: zephyr2mqtt passwd USER/);
    for (const r of [run, validate, health, passwd]) expect(r.code).toBe(0);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(runVersion).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('rejects an unknown command or option with exit 2', async () => {
    const cmd = await runCli(['launch']);
    const opt = await runCli(['run', '--bogus']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "launch"');
    expect(opt.code).toBe(2);
    expect(opt.stderr).toMatch(/Unknown option '--bogus'/);
  });

  it('takes options before the command, the config file of run as FILE, and refuses what it would ignore', async () => {
    const before = await runCli(['-c', 'config/gateway.example.yaml', 'validate']);
    expect(before).toMatchObject({ code: 0, stdout: 'config/gateway.example.yaml: valid\n' });
    const helpRun = await runCli(['help', 'run']);
    expect(helpRun.code).toBe(0);
    expect(helpRun.stdout).toMatch(/^Usage: zephyr2mqtt run \[FILE\]/);
    // The positional file is the one run reads: its absence is the reported problem, not ./gateway.yaml's.
    const absent = join(dir, 'g1.yaml');
    const run = await runCli(['run', absent]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${absent} (root): cannot read the file (ENOENT)`);
    const both = await runCli(['run', absent, '--config', 'other.yaml']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(
      `give the config file once, either as FILE (${absent}) or with --config (other.yaml)`,
    );
    const timeout = await runCli(['health', '--timeout', 'abc']);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout takes a whole number of milliseconds above 0, got "abc"');
    const extra = await runCli(['validate', 'config/gateway.example.yaml', 'b.yaml']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('validate takes one config FILE, got 2 (config/gateway.example.yaml b.yaml)');
  });

  it('validate: exit 0 on the example config, exit 2 with located issues otherwise', async () => {
    const ok = await runCli(['validate', 'config/gateway.example.yaml']);
    expect(ok).toMatchObject({ code: 0, stdout: 'config/gateway.example.yaml: valid\n' });
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'http:\n  port: 99999\ndevices:\n  - { id: a, transport: nope }\n');
    const res = await runCli(['validate', bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${bad}:2:3 http.port:`);
    expect(res.stderr).toContain(`${bad}:4:14 devices[0].transport: unknown transport "nope"`);
    // Every problem, not only the first twenty that a log line or bridge/event carries.
    const many = join(dir, 'many.yaml');
    const entries = Array.from({ length: 25 }, (_, i) => `  - { id: Bad${i}, transport: coap }`);
    await writeFile(many, `devices:\n${entries.join('\n')}\n`);
    const all = await runCli(['validate', many]);
    expect(all.code).toBe(2);
    expect(all.stderr.match(/devices\[\d+\]\.id: expected lowercase/g)).toHaveLength(25);
    const missing = await runCli(['validate', join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the file (ENOENT): there is no such file');
  });

  it('validate: an alias problem or a directory is an invalid config (exit 2), not a crash', async () => {
    const alias = join(dir, 'alias.yaml');
    await writeFile(alias, 'gateway:\n  id: *gw\n');
    const res = await runCli(['validate', alias]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${alias}:2:7 gateway.id: *gw refers to no anchor &gw before it`);
    const directory = await runCli(['validate', dir]);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain('cannot read the file (EISDIR): it is a directory');
  });

  it('passwd prints a scrypt hash of the password read from stdin', async () => {
    const res = await runCli(['passwd', 'dashboard'], { input: 's3cret pass\n' });
    expect(res.code).toBe(0);
    const hash = res.stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifyPassword('s3cret pass', hash)).toBe(true);
    expect(await verifyPassword('other', hash)).toBe(false);
    expect(res.stderr).toContain('username: "dashboard"');
    const empty = await runCli(['passwd', 'x'], { input: '\n' });
    expect(empty).toMatchObject({ code: 2 });
    expect(empty.stderr).toContain('empty password');
    expect((await runCli(['passwd'])).code).toBe(2);
  });
});
