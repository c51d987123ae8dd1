// Dashboard logins: no username probing by timing, no cross-site form logins, failures logged without flooding.
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { postJson } from './helpers.js';

async function timeLogin(httpUrl: string, username: string, password: string): Promise<number> {
  const started = performance.now();
  const res = await postJson(`${httpUrl}/api/login`, { username, password });
  expect(res.status).toBe(401);
  return performance.now() - started;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

describe('dashboard login', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('takes as long for an unknown user as for a wrong password', async () => {
    // The default scrypt cost, as `zephyr2mqtt passwd` makes it: the same as the decoy's.
    const users = [{ username: 'admin', password_hash: await hashPassword('s3cret') }];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await timeLogin(gw.httpUrl, 'admin', 'guess'));
      unknown.push(await timeLogin(gw.httpUrl, `nobody${i}`, 'guess'));
    }
    expect(median(unknown)).toBeGreaterThan(median(wrong) / 3);
  });

  it('accepts credentials only as application/json, like every other write', async () => {
    const users = [{ username: 'admin', password_hash: await hashPassword('s3cret', { N: 1024 }) }];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    // What a cross-site <form enctype="text/plain"> can send.
    const form = await fetch(`${gw.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"username":"admin","password":"s3cret"}',
    });
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();
    expect((await postJson(`${gw.httpUrl}/api/login`, { username: 'admin', password: 's3cret' })).status).toBe(200);
  });

  it('logs failed logins at most five times a minute per remote address', async () => {
    const log = captureLogger();
    const users = [{ username: 'admin', password_hash: await hashPassword('s3cret', { N: 1024 }) }];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } }, { logger: log.logger });
    for (let i = 0; i < 8; i++) await timeLogin(gw.httpUrl, 'admin', `guess${i}`);
    const failures = log.lines.filter((l) => l.msg === 'dashboard login failed');
    expect(failures).toHaveLength(5);
    expect(failures[0]).toMatchObject({ user: 'admin', remote: '127.0.0.1' });
  });
});
