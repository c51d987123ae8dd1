// The Quadlet units go through the real generator (podman 5.4 from Debian trixie) and systemd-analyze verify;
// the podman 4 unit through systemd-analyze verify. Any warning fails.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quadletBinary, repo, requireTool, run } from './tools.js';

let work: string;
let quadlet: string;
beforeAll(() => {
  requireTool('systemd-analyze');
  requireTool('podman'); // systemd-analyze verify checks that ExecStart binaries exist
  quadlet = quadletBinary();
  work = mkdtempSync(join(tmpdir(), 'z2m-units-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function generate(sourceDir: string, outDir: string) {
  mkdirSync(outDir, { recursive: true });
  const dry = run(quadlet, ['-dryrun'], { QUADLET_UNIT_DIRS: sourceDir });
  const gen = run(quadlet, ['-no-kmsg-log', outDir], { QUADLET_UNIT_DIRS: sourceDir });
  return { dry, gen };
}

/** systemd-analyze verify prints nothing for clean units; everything it prints is a finding. */
function verify(files: string[]) {
  const r = run('systemd-analyze', ['verify', ...files]);
  return { status: r.status, findings: `${r.stdout}${r.stderr}`.trim() };
}

describe('Quadlet units (podman 5)', () => {
  it('generate a service with health-gated start, auto-update, host network, capabilities and volumes', () => {
    const src = join(work, 'quadlet');
    cpSync(join(repo, 'deploy', 'quadlet'), src, { recursive: true });
    mkdirSync(join(src, 'zephyr2mqtt.container.d'));
    writeFileSync(
      join(src, 'zephyr2mqtt.container.d', '10-install.conf'),
      '[Container]\nImage=registry.example/z2m:testing\nGroupAdd=18\n',
    );
    const { dry, gen } = generate(src, join(work, 'out'));
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stderr).not.toMatch(/error|warning|unsupported/i);
    expect(gen.status, gen.stderr).toBe(0);
    expect(dry.stdout).toContain('---zephyr2mqtt.service---');
    expect(dry.stdout).toContain('---zephyr2mqtt-volume.service---');

    const service = readFileSync(join(work, 'out', 'zephyr2mqtt.service'), 'utf8');
    const execStart = service.split('\n').find((l) => l.startsWith('ExecStart=')) ?? '';
    for (const arg of [
      '--sdnotify=healthy',
      '--network host',
      '--cap-add cap_net_admin --cap-add cap_net_raw',
      '--label io.containers.autoupdate=registry',
      '--health-cmd "zephyr2mqtt health --url http://127.0.0.1:8080"',
      '--health-on-failure kill',
      '-v /etc/zephyr2mqtt:/etc/zephyr2mqtt:Z',
      '-v zephyr2mqtt-data:/var/lib/zephyr2mqtt:Z',
      '--group-add 18',
      'registry.example/z2m:testing',
    ]) {
      expect(execStart.toLowerCase(), `ExecStart lacks ${arg}`).toContain(arg.toLowerCase());
    }
    expect(service).toMatch(/^Restart=on-failure$/m);
    expect(service).toMatch(/^TimeoutStartSec=600$/m);
    expect(service).toMatch(/^Type=notify$/m);

    const checked = verify([join(work, 'out', 'zephyr2mqtt.service'), join(work, 'out', 'zephyr2mqtt-volume.service')]);
    expect(checked.findings).toBe('');
    expect(checked.status).toBe(0);
  });

  it('the generator rejects a broken unit, so the check above can fail', () => {
    const src = join(work, 'broken');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'bad.container'), '[Container]\nNetwork=host\n'); // no Image=
    const { dry } = generate(src, join(work, 'broken-out'));
    expect(dry.status).not.toBe(0);
    expect(dry.stderr).toMatch(/Image/);
  });
});

describe('systemd unit for podman 4 hosts', () => {
  it('passes systemd-analyze verify without findings and waits for health after start', () => {
    const dir = join(work, 'podman4');
    mkdirSync(dir, { recursive: true });
    cpSync(join(repo, 'deploy', 'systemd', 'zephyr2mqtt.service'), join(dir, 'zephyr2mqtt.service'));
    const checked = verify([join(dir, 'zephyr2mqtt.service')]);
    expect(checked.findings).toBe('');
    expect(checked.status).toBe(0);
    const unit = readFileSync(join(dir, 'zephyr2mqtt.service'), 'utf8');
    expect(unit).toMatch(/^ExecStartPost=.*podman healthcheck run zephyr2mqtt/m);
    expect(unit).toContain('--label io.containers.autoupdate=registry');
    expect(unit).toContain('--health-on-failure kill');
    // The health check follows http.port through an Environment= drop-in, as the image and group id do.
    expect(unit).toMatch(/^Environment=Z2M_HEALTH_URL=http:\/\/127\.0\.0\.1:8080$/m);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${VAR} substitution under test
    expect(unit).toContain('--health-cmd "zephyr2mqtt health --url ${Z2M_HEALTH_URL}"');
  });

  it('systemd-analyze verify reports a bad key, so the check above can fail', () => {
    const dir = join(work, 'podman4-bad');
    mkdirSync(dir, { recursive: true });
    const unit = readFileSync(join(repo, 'deploy', 'systemd', 'zephyr2mqtt.service'), 'utf8');
    writeFileSync(join(dir, 'zephyr2mqtt.service'), unit.replace('Restart=on-failure', 'Restart=sometimes'));
    expect(verify([join(dir, 'zephyr2mqtt.service')]).findings).toMatch(/restart specifier/);
  });
});
