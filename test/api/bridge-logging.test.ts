// <base>/bridge/logging: log lines as Zigbee2MQTT publishes them, filtered by level, bounded per second, and never
// fed by its own publishing; through the real gateway with a logger that writes to the process's log tail.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BridgeLogging, type BridgeLogMessage, type LogSource } from '../../gateway/api/bridge-logging.js';
import { logTail } from '../../gateway/dashboard/log-tail.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** A log source the test writes lines into. */
function source(): LogSource & {
  write(record: Record<string, unknown>): void;
  writeLine(line: string): void;
  followers(): number;
} {
  const listeners = new Set<(line: string) => void>();
  return {
    followers: () => listeners.size,
    follow(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    write(record) {
      for (const l of listeners) l(JSON.stringify(record));
    },
    writeLine(line) {
      for (const l of listeners) l(line);
    },
  };
}

describe('BridgeLogging', () => {
  it('publishes lines at or above its level with Zigbee2MQTT level names, the module and the error', () => {
    const sent: BridgeLogMessage[] = [];
    const logs = source();
    const logging = new BridgeLogging((m) => sent.push(m), 'info');
    logging.start(logs);
    logs.write({ level: 20, msg: 'debug detail' });
    logs.write({ level: 30, msg: 'config reloaded' });
    logs.write({ level: 40, msg: 'CoAP socket error', module: 'coap', err: { message: 'EACCES' } });
    logs.write({ level: 50, msg: 'adapter failed', module: 'ble' });
    logs.write({ level: 60, msg: 'fatal' });
    // A reason logged as text (a refused CoAP request) is there too, not only the fixed message.
    logs.write({ level: 40, msg: 'could not decode device data', err: 'PUT /ps/x from ::1: 4.01 missing ?token=' });
    expect(sent).toEqual([
      { level: 'info', message: 'config reloaded' },
      { level: 'warning', message: 'CoAP socket error: EACCES', namespace: 'coap' },
      { level: 'error', message: 'adapter failed', namespace: 'ble' },
      { level: 'error', message: 'fatal' },
      { level: 'warning', message: 'could not decode device data: PUT /ps/x from ::1: 4.01 missing ?token=' },
    ]);
    logging.setLevel('error');
    logs.write({ level: 40, msg: 'now below' });
    logging.setLevel('off');
    logs.write({ level: 50, msg: 'off' });
    logging.stop();
    logging.setLevel('info');
    logs.write({ level: 50, msg: 'stopped' });
    expect(sent).toHaveLength(5);
  });

  it('does not follow the log while off, and reads no line below its level', () => {
    const logs = source();
    const logging = new BridgeLogging(() => undefined, 'off');
    logging.start(logs);
    expect(logs.followers()).toBe(0);
    logging.setLevel('warn');
    expect(logs.followers()).toBe(1);
    const parse = vi.spyOn(JSON, 'parse');
    logs.write({ level: 20, msg: 'debug, per device message' });
    logs.write({ level: 30, msg: 'info' });
    expect(parse).not.toHaveBeenCalled();
    logs.write({ level: 40, msg: 'warn' });
    expect(parse).toHaveBeenCalledTimes(1);
    parse.mockRestore();
    logging.stop();
    expect(logs.followers()).toBe(0);
  });

  it('sends at most 50 lines a second and then says how many it left out', () => {
    const sent: BridgeLogMessage[] = [];
    const logs = source();
    let now = 0;
    const logging = new BridgeLogging(
      (m) => sent.push(m),
      'info',
      () => now,
    );
    logging.start(logs);
    for (let i = 0; i < 80; i++) logs.write({ level: 30, msg: `line ${i}` });
    expect(sent).toHaveLength(50);
    now = 1000;
    logs.write({ level: 30, msg: 'next second' });
    expect(sent.slice(50)).toEqual([
      { level: 'warning', message: '30 log lines not published on bridge/logging (more than 50 a second)' },
      { level: 'info', message: 'next second' },
    ]);
  });

  it('does not publish what is logged while it publishes, nor lines that are not JSON', () => {
    const logs = source();
    const sent: BridgeLogMessage[] = [];
    const logging = new BridgeLogging((m) => {
      sent.push(m);
      logs.write({ level: 40, msg: 'logged by the publish itself' });
    }, 'info');
    logging.start(logs);
    logs.write({ level: 30, msg: 'one' });
    logs.writeLine('not json {');
    logs.writeLine('42');
    expect(sent).toEqual([{ level: 'info', message: 'one' }]);
  });
});

describe('bridge/logging through the gateway', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('publishes the gateway log lines, not retained, at api.bridge_logging and above', async () => {
    const logger = pino({ level: 'info', base: undefined }, logTail);
    gw = await startTestGateway({ api: { bridge_logging: 'info' } }, { logger });
    const client = await gw.connect();
    const logged = await gw.expectMessage<BridgeLogMessage>(
      client,
      'zephyr2mqtt/bridge/logging',
      (m) => m.message === 'config reloaded',
    );
    expect((await gw.request(client, 'config/reload')).status).toBe('ok');
    expect(await logged.message).toEqual({ level: 'info', message: 'config reloaded' });
    expect(gw.gateway.broker.retained('zephyr2mqtt/bridge/logging')).toBeUndefined();
  });

  it('logs requests of names the gateway does not know under one rate limit (a client cannot flood it)', async () => {
    const logger = pino({ level: 'info', base: undefined }, logTail);
    gw = await startTestGateway({ api: { bridge_logging: 'warn' } }, { logger });
    const client = await gw.connect();
    const lines: string[] = [];
    await client.subscribeAsync('zephyr2mqtt/bridge/logging');
    client.on('message', (topic, payload) => {
      if (topic === 'zephyr2mqtt/bridge/logging')
        lines.push((JSON.parse(payload.toString()) as BridgeLogMessage).message);
    });
    for (let i = 0; i < 7; i++) expect((await gw.request(client, `made-up-${i}`)).status).toBe('error');
    // A known request's failure, logged under its own name, comes after whatever the made-up ones logged.
    const barrier = await gw.expectMessage<BridgeLogMessage>(client, 'zephyr2mqtt/bridge/logging', (m) =>
      m.message.startsWith('request "device/remove"'),
    );
    await gw.request(client, 'device/remove', { id: 'no-such-device' });
    await barrier.message;
    // Five a minute per key (RateLimitedLog), all seven names sharing one.
    expect(lines.filter((l) => l.includes('made-up'))).toEqual(
      [0, 1, 2, 3, 4].map((i) => `request "made-up-${i}" failed: unknown request "made-up-${i}"`),
    );
  });

  it('says why a request failed, as Zigbee2MQTT does', async () => {
    const logger = pino({ level: 'info', base: undefined }, logTail);
    gw = await startTestGateway({ api: { bridge_logging: 'warn' } }, { logger });
    const client = await gw.connect();
    const logged = await gw.expectMessage<BridgeLogMessage>(client, 'zephyr2mqtt/bridge/logging', (m) =>
      m.message.startsWith('request "device/remove"'),
    );
    const response = await gw.request(client, 'device/remove', { id: 'no-such-device' });
    expect(response.status).toBe('error');
    expect(await logged.message).toEqual({
      level: 'warning',
      message: `request "device/remove" failed: ${response.error}`,
      namespace: 'api',
    });
    // A payload that is no JSON: the answer's words first, then where the parser stopped.
    const notJson = await gw.expectMessage<BridgeLogMessage>(client, 'zephyr2mqtt/bridge/logging', (m) =>
      m.message.startsWith('request "permit_join"'),
    );
    const answer = await gw.expectMessage<{ status: string; error: string }>(
      client,
      'zephyr2mqtt/bridge/response/permit_join',
    );
    await client.publishAsync('zephyr2mqtt/bridge/request/permit_join', '{bad');
    expect(await answer.message).toEqual({ status: 'error', data: {}, error: 'payload is not valid JSON' });
    expect((await notJson.message).message).toMatch(
      /^request "permit_join" failed: payload is not valid JSON: Expected property name or '\}' in JSON at position 1/,
    );
  });
});
