// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax under test
// Reload details: adapters stopped and started, changed devices, per-transport availability timeouts,
// restart-only settings kept, per-module log levels, rejected files.
import { readFile, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logTail } from '../../gateway/dashboard/log-tail.js';
import { moduleLogger, parseModuleLevels } from '../../gateway/logger.js';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type Info = { adapters: Record<string, { state: string }>; config: { adapters_enabled: string[] } };
type Event = {
  type: string;
  data: { error?: string; issues?: Array<{ path: string; line?: number; message: string }> };
};

describe('config reload', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('stops a disabled adapter and starts it again when re-enabled, keeping the MQTT session', async () => {
    const adapter = createTestAdapterModule();
    const log = captureLogger();
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module], logger: log.logger },
    );
    const stranded = () => log.lines.filter((l) => /adapter is disabled in the config/.test(String(l.msg)));
    expect(stranded()).toEqual([]);
    const client = await gw.connect();
    const original = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, `${original}`.replace('adapters:\n', 'adapters:\n  test:\n    enabled: false\n'));
    expect((await gw.request(client, 'config/reload')).status).toBe('ok');
    expect(adapter.instances[0]?.stopped).toBe(true);
    let info = (await gw.request(client, 'info')).data as Info;
    expect(info.adapters.test).toEqual({ state: 'stopped', reason: 'disabled in the config' });
    expect(info.config.adapters_enabled).not.toContain('test');
    const err = await gw.expectMessage<{ error: string }>(client, 'zephyr2mqtt/dev1/set/error');
    await client.publishAsync('zephyr2mqtt/dev1/set', '{"on":true}');
    // The command error and the log name the setting that keeps the device offline.
    expect((await err.message).error).toBe('the test adapter is disabled in the config (adapters.test.enabled: false)');
    expect(stranded()).toEqual([
      expect.objectContaining({
        level: 40,
        adapter: 'test',
        devices: ['dev1'],
        msg:
          'the test adapter is disabled in the config (adapters.test.enabled: false), so its devices stay offline ' +
          'and their commands are refused: dev1 (set adapters.test.enabled: true, or disabled: true on these devices)',
      }),
    ]);

    await writeFile(gw.configPath, original);
    expect((await gw.request(client, 'config/reload')).status).toBe('ok');
    expect(adapter.instances).toHaveLength(2);
    info = (await gw.request(client, 'info')).data as Info;
    expect(info.adapters.test?.state).toBe('running');
    expect(client.connected).toBe(true);
  });

  it('reports changed devices, applies transport timeouts and keeps restart-only settings', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module], logger: pino({ level: 'info', base: undefined }, logTail) },
    );
    const client = await gw.connect();
    const original = await readFile(gw.configPath, 'utf8');
    const edited = original
      .replace(/- id: dev1\n(\s+)transport: test/, '- id: dev1\n$1transport: test\n$1name: Renamed')
      .replace(/base_topic: zephyr2mqtt/, 'base_topic: other');
    expect(original).not.toContain('\napi:'); // the helper writes no api section
    await writeFile(gw.configPath, `${edited}api:\n  transport_availability_timeouts: { test: 1 }\n`);
    // What waits for a restart is named where an MQTT user reads the gateway's log, not only in its JSON fields.
    const logged = await gw.expectMessage<{ level: string; message: string }>(
      client,
      'zephyr2mqtt/bridge/logging',
      (m) => m.level === 'warning',
    );
    const res = await gw.request(client, 'config/reload');
    expect(res).toMatchObject({
      status: 'ok',
      data: { added: [], removed: [], changed: ['dev1'], restart_required: ['gateway.base_topic'] },
    });
    expect(await logged.message).toEqual({
      level: 'warning',
      message: 'these settings take effect on the next restart: gateway.base_topic',
    });
    expect(gw.gateway.base).toBe('zephyr2mqtt');
    expect(adapter.current().devicesChangedCalls).toBe(1);
    // bridge/info keeps saying so until a restart, or a reload that puts the running value back.
    expect(gw.gateway.info().restart_required).toBe(true);
    // dev1 now times out after 1 s (transport default), checked every 250 ms.
    const online = await gw.expectMessage<{ state: string }>(
      client,
      'zephyr2mqtt/dev1/availability',
      (m) => m.state === 'online',
    );
    adapter.current().ctx.telemetry('dev1', { v: 1 });
    await online.message;
    const offline = await gw.waitForMessage<{ state: string }>(
      client,
      'zephyr2mqtt/dev1/availability',
      (m) => m.state === 'offline',
      3000,
    );
    expect(offline.state).toBe('offline');
  });
});

describe('reload: restart-only settings and rejected files', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('gateway.id and the Home Assistant topics are restart-only: kept, and reported', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({}, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    const original = await readFile(gw.configPath, 'utf8');
    const edited = original.replace('id: test-gw', 'id: other-gw');
    await writeFile(gw.configPath, `${edited}homeassistant:\n  discovery_prefix: ha2\n  status_topic: ha2/status\n`);
    const res = await gw.request(client, 'config/reload');
    expect(res).toMatchObject({
      status: 'ok',
      data: { restart_required: ['gateway.id', 'homeassistant.discovery_prefix', 'homeassistant.status_topic'] },
    });
    expect(gw.gateway.config.gateway.id).toBe('test-gw');
    expect(gw.gateway.config.homeassistant).toMatchObject({
      discovery_prefix: 'homeassistant',
      status_topic: 'homeassistant/status',
    });
    expect(((await gw.request(client, 'info')).data as { gateway_id: string }).gateway_id).toBe('test-gw');
    expect(gw.gateway.info().restart_required).toBe(true);
    // The file as it runs again: nothing waits for a restart any more.
    await writeFile(gw.configPath, original);
    expect(await gw.request(client, 'config/reload')).toMatchObject({ status: 'ok' });
    expect(gw.gateway.info().restart_required).toBe(false);
  });

  it('config_error shows a substituted value by its reference, never the secret', async () => {
    gw = await startTestGateway({}, { env: { ...process.env, BRIDGE_PW: 'MyPlainPassw0rd' } });
    const client = await gw.connect();
    const original = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, `${original}bridge:\n  password: \${BRIDGE_PW}\n  keepalive: \${BRIDGE_PW}\n`);
    const rejected = await gw.expectMessage<Event>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'config_error',
    );
    const res = await gw.request(client, 'config/reload');
    const event = await rejected.message;
    expect(JSON.stringify([res, event])).not.toContain('MyPlainPassw0rd');
    expect(event.data.issues).toEqual([
      expect.objectContaining({ path: 'bridge.keepalive', message: 'expected number, got <value from ${BRIDGE_PW}>' }),
    ]);
  });

  it('an alias problem is a config_error with its line, not a crash', async () => {
    gw = await startTestGateway({});
    const client = await gw.connect();
    const original = await readFile(gw.configPath, 'utf8');
    const lines = original.split('\n').length;
    await writeFile(gw.configPath, `${original}homeassistant:\n  discovery_prefix: *prefix\n`);
    const rejected = await gw.expectMessage<Event>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'config_error',
    );
    expect((await gw.request(client, 'config/reload')).status).toBe('error');
    expect((await rejected.message).data.issues).toEqual([
      {
        path: 'homeassistant.discovery_prefix',
        line: lines + 1,
        column: 21,
        message: '*prefix refers to no anchor &prefix before it',
        hint: 'put `&prefix` on the value to repeat, above its first `*prefix`',
      },
    ]);
  });
});

/** An info-level logger that writes nowhere (levels are what is under test). */
function quietLogger() {
  return pino({ level: 'info' }, new Writable({ write: (_chunk, _enc, cb) => cb() }));
}

describe('per-module log levels', () => {
  it('parses LOG_LEVELS and gives a module its own level', () => {
    expect(parseModuleLevels('coap=debug, broker=warn,bad=loud,=info')).toEqual({ coap: 'debug', broker: 'warn' });
    const root = quietLogger();
    expect(moduleLogger(root, 'coap', { coap: 'debug' }).level).toBe('debug');
    expect(moduleLogger(root, 'ble', { coap: 'debug' }).level).toBe('info');
  });

  it('the gateway applies gateway.log_levels and LOG_LEVELS (env wins) to its modules', async () => {
    const adapter = createTestAdapterModule();
    const logger = quietLogger();
    const gw = await startTestGateway(
      { gateway: { log_levels: { test: 'warn', broker: 'error' } } },
      { adapterModules: [adapter.module], logger, env: { ...process.env, LOG_LEVELS: 'test=trace' } },
    );
    try {
      expect(adapter.current().ctx.logger.level).toBe('trace');
      expect(gw.gateway.moduleLogger('broker').level).toBe('error');
      expect(gw.gateway.moduleLogger('http').level).toBe('info');
    } finally {
      await gw.stop();
    }
  });

  it('a reload changes the levels of the module loggers already handed out', async () => {
    const adapter = createTestAdapterModule();
    const gw = await startTestGateway(
      { gateway: { log_levels: { test: 'warn' } } },
      { adapterModules: [adapter.module], logger: quietLogger() },
    );
    try {
      const adapterLogger = adapter.current().ctx.logger;
      const broker = gw.gateway.moduleLogger('broker');
      expect([adapterLogger.level, broker.level]).toEqual(['warn', 'info']);
      const original = await readFile(gw.configPath, 'utf8');
      await writeFile(
        gw.configPath,
        original.replace(/log_levels:\n\s+test: warn/, 'log_level: error\n  log_levels:\n    test: debug'),
      );
      const client = await gw.connect();
      expect((await gw.request(client, 'config/reload')).status).toBe('ok');
      expect(adapter.instances).toHaveLength(1); // the same logger object, not a restarted adapter's new one
      expect(adapterLogger.level).toBe('debug');
      expect(broker.level).toBe('error'); // no entry of its own: follows gateway.log_level
    } finally {
      await gw.stop();
    }
  });
});
