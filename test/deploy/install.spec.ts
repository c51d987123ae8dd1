// install.sh under a scratch root (no systemctl), the greenboot check against a scripted systemctl/podman, and
// shellcheck over every shell script under deploy/.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { repo, requireTool, run } from './tools.js';

const install = join(repo, 'deploy', 'install.sh');
const greenboot = join(repo, 'deploy', 'greenboot', 'check', 'required.d', '50-zephyr2mqtt.sh');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'z2m-install-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, tree(path, `${prefix}${name}/`));
    else
      out[`${prefix}${name}`] =
        `${statSync(path).mode.toString(8)} ${statSync(path).mtimeMs} ${readFileSync(path, 'utf8')}`;
  }
  return out;
}

describe('deploy/install.sh', () => {
  it('installs config, Quadlet units and the image drop-in for podman 5, and a second run changes nothing', () => {
    mkdirSync(join(root, 'etc', 'greenboot'), { recursive: true });
    const first = run('bash', [install, '--root', root, '--podman5', '--channel', 'testing']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('changed: 1');
    const config = readFileSync(join(root, 'etc/zephyr2mqtt/gateway.yaml'), 'utf8');
    expect(config).toMatch(/^\s*data_dir: \/var\/lib\/zephyr2mqtt/m);
    expect(readFileSync(join(root, 'etc/containers/systemd/zephyr2mqtt.container'), 'utf8')).toContain(
      'Notify=healthy',
    );
    expect(readFileSync(join(root, 'etc/containers/systemd/zephyr2mqtt.volume'), 'utf8')).toContain('[Volume]');
    const dropIn = readFileSync(join(root, 'etc/containers/systemd/zephyr2mqtt.container.d/10-install.conf'), 'utf8');
    expect(dropIn).toMatch(/^Image=ghcr\.io\/zephyr2mqtt\/zephyr2mqtt:testing$/m);
    expect(dropIn).toMatch(/^GroupAdd=\d+$/m);
    const check = statSync(join(root, 'etc/greenboot/check/required.d/50-zephyr2mqtt.sh'));
    expect(check.mode & 0o111).not.toBe(0);

    const before = tree(root);
    const second = run('bash', [install, '--root', root, '--podman5', '--channel', 'testing']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('changed: 0');
    expect(tree(root)).toEqual(before);
  });

  it('keeps an edited config and switches channel or pins a digest through the drop-in only', () => {
    run('bash', [install, '--root', root, '--podman5']);
    const configPath = join(root, 'etc/zephyr2mqtt/gateway.yaml');
    writeFileSync(configPath, 'version: 1\n# edited by the operator\n');
    const digest = `ghcr.io/zephyr2mqtt/zephyr2mqtt@sha256:${'a'.repeat(64)}`;
    const r = run('bash', [install, '--root', root, '--podman5', '--image', digest]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(configPath, 'utf8')).toBe('version: 1\n# edited by the operator\n');
    const dropIn = readFileSync(join(root, 'etc/containers/systemd/zephyr2mqtt.container.d/10-install.conf'), 'utf8');
    expect(dropIn).toContain(`Image=${digest}\n`);
  });

  it('installs the podman 4 systemd unit with the image and dialout group filled in', () => {
    const r = run('bash', [install, '--root', root, '--podman4', '--channel', 'stable']);
    expect(r.status, r.stderr).toBe(0);
    const unit = readFileSync(join(root, 'etc/systemd/system/zephyr2mqtt.service'), 'utf8');
    expect(unit).toMatch(/^Environment=Z2M_IMAGE=ghcr\.io\/zephyr2mqtt\/zephyr2mqtt:stable$/m);
    expect(unit).toMatch(/^Environment=Z2M_DIALOUT_GID=\d+$/m);
    expect(() => statSync(join(root, 'etc/containers/systemd/zephyr2mqtt.container'))).toThrow();
    expect(() => statSync(join(root, 'etc/greenboot'))).toThrow(); // no greenboot on this host: no check
  });

  it('gives the config directory to the gateway uid (onboarding writes it), or mounts it read-only on request', () => {
    const writable = run('bash', [install, '--root', root, '--podman5']);
    expect(writable.status, writable.stderr).toBe(0);
    const unit = () => readFileSync(join(root, 'etc/containers/systemd/zephyr2mqtt.container'), 'utf8');
    expect(unit()).toMatch(/^Volume=\/etc\/zephyr2mqtt:\/etc\/zephyr2mqtt:Z$/m);
    const dir = statSync(join(root, 'etc/zephyr2mqtt'));
    const file = statSync(join(root, 'etc/zephyr2mqtt/gateway.yaml'));
    if (process.getuid?.() === 0) {
      expect([dir.uid, file.uid, dir.mode & 0o777, file.mode & 0o777]).toEqual([10001, 10001, 0o750, 0o640]);
    } else {
      expect(writable.stderr).toContain('onboarding requests need it writable by uid 10001');
    }

    const locked = run('bash', [install, '--root', root, '--podman5', '--read-only-config']);
    expect(locked.status, locked.stderr).toBe(0);
    expect(unit()).toMatch(/^Volume=\/etc\/zephyr2mqtt:\/etc\/zephyr2mqtt:ro,Z$/m);
    const podman4 = run('bash', [install, '--root', root, '--podman4', '--read-only-config']);
    expect(podman4.status, podman4.stderr).toBe(0);
    const service = readFileSync(join(root, 'etc/systemd/system/zephyr2mqtt.service'), 'utf8');
    expect(service).toContain(' -v /etc/zephyr2mqtt:/etc/zephyr2mqtt:ro,Z ');
  });

  it('rejects an unknown channel with a clear message', () => {
    const r = run('bash', [install, '--root', root, '--podman5', '--channel', 'nightly']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown channel 'nightly' (stable or testing)");
  });
});

describe('--help', () => {
  // Both print their header comment: the usage, down to the last option, and none of the script after it.
  it.each([
    [install, '--read-only-config'],
    [join(repo, 'deploy', 'build-image.sh'), '--channel NAME'],
  ])('%s prints its usage and no code', (script, lastOption) => {
    const r = run('bash', [script, '--help']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => !line.startsWith('#'))).toEqual([]);
    expect(lines.at(-1)).toContain(lastOption);
  });
});

describe('greenboot required check', () => {
  // Scripted stand-ins for the host's systemctl and podman: healthy after N health probes, or never.
  function fakeHost(healthyAfter: number | 'never'): Record<string, string> {
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\n[ "$1" = is-active ] && { echo active; exit 0; }\nexit 0\n');
    const threshold = healthyAfter === 'never' ? 1_000_000 : healthyAfter;
    writeFileSync(
      join(bin, 'podman'),
      `#!/bin/sh\nn=$(cat "${root}/probes" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "${root}/probes"\n[ $n -ge ${threshold} ]\n`,
    );
    writeFileSync(join(bin, 'journalctl'), '#!/bin/sh\necho "journal: gateway log"\n');
    for (const f of ['systemctl', 'podman', 'journalctl']) chmodSync(join(bin, f), 0o755);
    return { PATH: `${bin}:${process.env.PATH}`, Z2M_GREENBOOT_INTERVAL: '0.1' };
  }

  it('passes once the unit is active and the container healthy', () => {
    const r = run('bash', [greenboot], { ...fakeHost(3), Z2M_GREENBOOT_TIMEOUT: '20' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('healthy');
    expect(readFileSync(join(root, 'probes'), 'utf8').trim()).toBe('3');
  });

  it('fails (so rpm-ostree rolls back) when the gateway never becomes healthy', () => {
    const r = run('bash', [greenboot], { ...fakeHost('never'), Z2M_GREENBOOT_TIMEOUT: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('not healthy 1s after boot');
    expect(r.stderr).toContain('journal: gateway log');
  });
});

describe('shellcheck', () => {
  beforeAll(() => {
    requireTool('shellcheck');
  });

  function shellScripts(dir: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === '.cache') continue;
      if (statSync(path).isDirectory()) out.push(...shellScripts(path));
      else if (name.endsWith('.sh')) out.push(path);
    }
    return out;
  }

  it('finds nothing in any deploy script', () => {
    const scripts = shellScripts(join(repo, 'deploy'));
    expect(scripts).toContain(install);
    expect(scripts).toContain(join(repo, 'deploy', 'build-image.sh'));
    const r = run('shellcheck', ['--severity=style', ...scripts]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('reports a quoting bug, so the check above can fail', () => {
    const bad = join(root, 'bad.sh');
    writeFileSync(bad, '#!/bin/sh\nrm -rf $1/data\n');
    expect(run('shellcheck', [bad]).stdout).toContain('SC2086');
  });
});
