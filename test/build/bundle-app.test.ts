// `npm run build` as shipped (tsc, scripts/copy-assets.mjs, bundle-zod.mjs, bundle-app.mjs) into a temp dir: the
// bundle replaces the compiled modules, and the gateway it makes starts, finds its dashboard files and its LwM2M
// object definitions from dist/gateway/, and answers /readyz.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node = process.execPath;

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/** Starts the built gateway and resolves with its HTTP port once it logs that it started. */
function startBuilt(cli: string, config: string): Promise<{ child: ChildProcess; httpPort: number }> {
  const child = spawn(node, [cli, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the built gateway did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the built gateway exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; http?: { port: number } };
      if (entry.msg === 'zephyr2mqtt started' && entry.http) {
        clearTimeout(timer);
        resolve({ child, httpPort: entry.http.port });
      }
    });
  });
}

describe('npm run build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'z2m-build-'));
  const dist = join(dir, 'dist');
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships a bundle that starts, serves the dashboard and loads the LwM2M objects', async () => {
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    execFileSync(node, [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      dist,
    ]);
    for (const script of ['copy-assets.mjs', 'bundle-zod.mjs', 'bundle-app.mjs'])
      execFileSync(node, [join(root, 'scripts', script), dist], { cwd: root });

    const files = filesUnder(dist);
    // Only the bundle and the files it reads at run time are left.
    expect(files.filter((f) => !/^gateway\/(cli|chunk-[A-Z0-9]+)\.js(\.map)?$/.test(f)).sort()).toEqual(
      [
        ...readdirSync(join(root, 'adapters/coap/lwm2m/objects')).map((f) => `adapters/coap/lwm2m/objects/${f}`),
        ...readdirSync(join(root, 'gateway/dashboard/web')).map((f) => `gateway/dashboard/web/${f}`),
      ].sort(),
    );

    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `gateway: { id: built, data_dir: ${join(dir, 'data')} }
broker: { listeners: [{ type: mqtt, host: 127.0.0.1, port: 0 }], allow_anonymous: true }
http: { host: 127.0.0.1, port: 0 }
adapters:
  coap: { enabled: true, bind: 127.0.0.1, port: 0 }
  serial: { enabled: false }
  ble: { enabled: false }
devices:
  - { id: meter, transport: coap, lwm2m: { endpoint: meter-1 } }
`,
    );
    const started = await startBuilt(join(dist, 'gateway/cli.js'), config);
    child = started.child;
    const base = `http://127.0.0.1:${started.httpPort}`;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ adapters: { coap: { state: 'running' } } });
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    expect((await fetch(`${base}/app.js`)).status).toBe(200);
  }, 120_000);
});
