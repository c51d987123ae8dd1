// LOG_LEVEL and LOG_LEVELS from the environment: any case accepted, an unknown level fails like a config error
// (exit 2, naming the variable and the valid levels), ignored LOG_LEVELS entries are reported, and LOG_LEVEL keeps
// overriding gateway.log_level after a reload.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/config/errors.js';
import { createRootLogger, envLogLevel, parseLogLevel, parseModuleLevels } from '../../gateway/logger.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { spawnGateway } from './gateway-child.js';

const VALID = 'fatal, error, warn, info, debug, trace, silent';

describe('LOG_LEVEL and LOG_LEVELS', () => {
  const saved = process.env.LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = saved;
  });

  it('accepts a level in any case', () => {
    expect(parseLogLevel(' DEBUG ')).toBe('debug');
    expect(envLogLevel({ LOG_LEVEL: 'Warn' })).toBe('warn');
    expect(envLogLevel({})).toBeUndefined();
    process.env.LOG_LEVEL = 'DEBUG';
    expect(createRootLogger().level).toBe('debug');
  });

  it('rejects an unknown level as a config error naming LOG_LEVEL and the valid levels', () => {
    expect(() => envLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => envLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(
      `invalid environment: LOG_LEVEL="verbose" is not a log level; use one of ${VALID}`,
    );
  });

  it('reports each LOG_LEVELS entry it ignores and lower-cases the levels it keeps', () => {
    const ignored: string[] = [];
    const levels = parseModuleLevels('coap=loud, broker=WARN,serial,=info,a=b=c,', (e) => ignored.push(e));
    expect(levels).toEqual({ broker: 'warn' });
    expect(ignored).toEqual(['coap=loud', 'serial', '=info', 'a=b=c']);
  });

  it('zephyr2mqtt run with LOG_LEVEL=verbose exits 2 with the valid levels', { timeout: 30_000 }, async () => {
    const gw = spawnGateway(['gateway/cli.ts', 'run', '--config', '/nonexistent/gateway.yaml'], {
      LOG_LEVEL: 'verbose',
    });
    try {
      expect(await gw.exited).toBe(2);
      expect(gw.output()).toContain(`LOG_LEVEL="verbose" is not a log level; use one of ${VALID}`);
    } finally {
      gw.kill();
    }
  });

  it('zephyr2mqtt run with LOG_LEVEL=DEBUG runs at debug, over the config file', { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'z2m-loglevel-'));
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      `gateway: { data_dir: ${join(dir, 'data')}, log_level: warn }
broker: { listeners: [{ type: mqtt, host: 127.0.0.1, port: 0 }], allow_anonymous: true }
http: { enabled: false }
adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } }
`,
    );
    const gw = spawnGateway(['gateway/cli.ts', 'run', '--config', config], { LOG_LEVEL: 'DEBUG' });
    try {
      // An info line: logged only because LOG_LEVEL (debug) overrides log_level: warn.
      await gw.logLine('zephyr2mqtt started');
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    } finally {
      gw.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LOG_LEVEL on reload', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function reloadWithLogLevel(env: NodeJS.ProcessEnv): Promise<string> {
    const logger = pino({ level: 'debug' }, new Writable({ write: (_chunk, _enc, cb) => cb() }));
    gw = await startTestGateway({ gateway: { log_level: 'debug' } }, { logger, env });
    const original = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, original.replace('log_level: debug', 'log_level: error'));
    await gw.gateway.reload('test');
    return logger.level;
  }

  it('LOG_LEVEL keeps overriding gateway.log_level after a reload', async () => {
    expect(await reloadWithLogLevel({ ...process.env, LOG_LEVEL: 'DEBUG' })).toBe('debug');
  });

  it('without LOG_LEVEL a reload applies gateway.log_level', async () => {
    const { LOG_LEVEL: _unset, ...env } = process.env;
    expect(await reloadWithLogLevel(env)).toBe('error');
  });
});
