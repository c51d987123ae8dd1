// Signals that reach the real `zephyr2mqtt run` while it still loads the gateway's modules, before runGateway()
// installs its handlers: held and handed over, so that they act as during start-up (a stop stops cleanly once
// started, a SIGHUP reloads once started, a second stop exits at once) instead of killing the process unlogged.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayChild, spawnGateway } from './gateway-child.js';

const CLI = 'gateway/cli.ts';
/** Written by cli.ts's test hook once the signals are held; it then waits for a line on stdin before loading. */
const LOADING_HELD = 'ZEPHYR2MQTT_TEST_HOLD_IMPORT: loading held until a line on stdin';

function configText(dir: string, ports: { mqtt: number; http: number }): string {
  return `gateway:
  data_dir: ${join(dir, 'data')}
broker:
  listeners:
    - { type: mqtt, host: 127.0.0.1, port: ${String(ports.mqtt)} }
  allow_anonymous: true
http:
  host: 127.0.0.1
  port: ${String(ports.http)}
adapters:
  coap: { enabled: false }
  serial: { enabled: false }
  ble: { enabled: false }
devices: []
`;
}

/** Resolves once the child wrote `text` to stderr; rejects if it ends first or after timeoutMs. */
function stderrText(gw: GatewayChild, text: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${text}" within ${timeoutMs} ms:\n${gw.output()}`)),
      timeoutMs,
    );
    gw.child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void gw.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`process ended (${code}) before writing "${text}":\n${gw.output()}`));
    });
  });
}

describe('signals while `run` loads the gateway', { timeout: 60_000 }, () => {
  let dir = '';
  let config = '';
  let gw: GatewayChild | undefined;
  // Each test its own ports (in this suite's range), so a previous child's sockets never get in the way.
  let nextPort = 21110;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-importsig-'));
    config = join(dir, 'gateway.yaml');
    await writeFile(config, configText(dir, { mqtt: nextPort, http: nextPort + 1 }));
    nextPort += 2;
  });
  afterEach(async () => {
    gw?.kill();
    if (gw) await gw.exited;
    gw = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts `run` and returns once its signals are held and loading waits for the test. */
  async function startLoading(): Promise<GatewayChild> {
    gw = spawnGateway([CLI, 'run', '--config', config], { ZEPHYR2MQTT_TEST_HOLD_IMPORT: '1' });
    await stderrText(gw, LOADING_HELD);
    return gw;
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while loading: starts, then stops cleanly, releases the lock, exits 0`, async () => {
      const loading = await startLoading();
      loading.child.kill(signal);
      loading.child.stdin?.write('go\n');
      expect(
        await loading.logLine('stop requested during start-up; the gateway stops once it has started'),
      ).toMatchObject({ signal });
      await loading.logLine('zephyr2mqtt started');
      expect(await loading.logLine('shutting down')).toMatchObject({ signal });
      expect(await loading.exited).toBe(0);
      await loading.logLine('zephyr2mqtt stopped');
      expect(existsSync(join(dir, 'data', '.lock'))).toBe(false);
    });
  }

  it('SIGHUP while loading: logged, and the config is reloaded once started', async () => {
    const loading = await startLoading();
    loading.child.kill('SIGHUP');
    loading.child.stdin?.write('go\n');
    await loading.logLine('reload requested during start-up; the config is reloaded once started');
    await loading.logLine('zephyr2mqtt started');
    expect(await loading.logLine('config reloaded')).toMatchObject({ source: 'SIGHUP' });
    loading.child.kill('SIGTERM');
    expect(await loading.exited).toBe(0);
    expect(existsSync(join(dir, 'data', '.lock'))).toBe(false);
  });

  it('a second stop signal while loading exits at once with 1', async () => {
    const loading = await startLoading();
    // Two different signals: a second SIGTERM sent before the first was delivered would merge with it.
    loading.child.kill('SIGTERM');
    loading.child.kill('SIGINT');
    expect(await loading.exited).toBe(1);
    expect(loading.output()).toMatch(
      /second stop signal \(SIG(TERM|INT)\) while loading, exiting without a clean stop/,
    );
    expect(loading.output()).not.toContain('zephyr2mqtt started');
  });
});
