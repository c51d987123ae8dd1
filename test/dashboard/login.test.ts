// Dashboard logins: no username probing by timing, no cross-site form logins, failures logged without flooding.
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { LoginThrottle } from '../../gateway/dashboard/login-throttle.js';
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

describe('dashboard login throttle', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('after ten failures an address waits (429 with Retry-After), even with the right password', async () => {
    const users = [{ username: 'admin', password_hash: await hashPassword('s3cret', { N: 1024 }) }];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    for (let i = 0; i < 10; i++) await timeLogin(gw.httpUrl, i % 2 ? 'admin' : `nobody${i}`, `guess${i}`);
    const held = await postJson(`${gw.httpUrl}/api/login`, { username: 'admin', password: 's3cret' });
    expect(held.status).toBe(429);
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('marks the session and device cookies Secure behind a TLS reverse proxy (X-Forwarded-Proto: https), listed in trusted_proxies or not', async () => {
    const users = [{ username: 'admin', password_hash: await hashPassword('s3cret', { N: 1024 }) }];
    gw = await startTestGateway({ broker: { allow_anonymous: false, users } });
    const credentials = { username: 'admin', password: 's3cret' };
    const plain = await postJson(`${gw.httpUrl}/api/login`, credentials);
    expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/);
    const proxied = await postJson(`${gw.httpUrl}/api/login`, credentials, { 'x-forwarded-proto': 'https' });
    const [session, device] = proxied.headers.getSetCookie();
    expect(session).toMatch(/^z2m_session=.*; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/);
    expect(device).toMatch(/^z2m_device=.*; HttpOnly; SameSite=Strict; Path=\/api\/login; Max-Age=\d+; Secure$/);
  });

  it('doubles the wait per further failure, up to five minutes, and forgets after a success', () => {
    let t = 0;
    const throttle = new LoginThrottle(() => t);
    for (let i = 0; i < 9; i++) throttle.failed('10.0.0.1', 'admin');
    expect(throttle.wait('10.0.0.1', 'admin')).toBe(0);
    throttle.failed('10.0.0.1', 'admin'); // the tenth
    expect(throttle.wait('10.0.0.1', 'someone')).toBe(1000);
    expect(throttle.wait('10.0.0.2', 'admin')).toBe(1000); // the user name too
    expect(throttle.wait('10.0.0.2', 'other')).toBe(0);
    throttle.failed('10.0.0.1', 'admin');
    expect(throttle.wait('10.0.0.1', 'x')).toBe(2000);
    for (let i = 0; i < 20; i++) throttle.failed('10.0.0.1', 'admin');
    expect(throttle.wait('10.0.0.1', 'x')).toBe(5 * 60_000);
    t += 5 * 60_000;
    throttle.succeeded('10.0.0.1', 'admin');
    expect(throttle.wait('10.0.0.1', 'x')).toBe(0);
  });

  it("takes back a success's up-front failure from the user's count, with the wait it started", () => {
    let t = 0;
    const throttle = new LoginThrottle(() => t);
    for (let i = 0; i < 9; i++) throttle.failed(`10.0.0.${i}`, 'admin');
    const tenth = throttle.failed('10.0.0.100', 'admin'); // counted before the password was checked
    expect(throttle.wait('10.0.0.200', 'admin')).toBe(1000);
    throttle.succeeded('10.0.0.100', 'admin', tenth);
    expect(throttle.wait('10.0.0.200', 'admin')).toBe(0);
    // Past ten failures: a right login after the wait neither lengthens nor lifts the wait there was.
    throttle.failed('10.0.0.101', 'admin');
    t += 1500;
    const right = throttle.failed('10.0.0.102', 'admin');
    expect(throttle.wait('10.0.0.200', 'admin')).toBe(2000);
    throttle.succeeded('10.0.0.102', 'admin', right);
    expect(throttle.wait('10.0.0.200', 'admin')).toBe(0);
  });
});
