// Device cookies: a stranger failing logins on purpose cannot lock a user out of the browser they logged in with
// before, and a device cookie is no way around the lockout for anyone else.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { DeviceCookies } from '../../gateway/dashboard/device-cookies.js';
import { postJson, user } from './helpers.js';
import { type StandaloneDashboard, startDashboard } from './standalone.js';

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

function tryLogin(url: string, username: string, password: string, cookie?: string): Promise<Response> {
  return postJson(`${url}/api/login`, { username, password }, cookie ? { cookie } : {});
}

/** The device cookie a login answer sets, as `name=value` to send back. */
function deviceCookie(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('z2m_device='));
  if (!set) throw new Error(`no device cookie in a ${res.status} answer`);
  return set.split(';')[0] as string;
}

/** A stranger's ten failed logins as `username`: untrusted logins as that user must wait now. */
async function lockOut(url: string, username: string): Promise<void> {
  for (let i = 0; i < 10; i++) expect((await tryLogin(url, username, `guess${i}`)).status).toBe(401);
  expect((await tryLogin(url, username, `${username}-pw`)).status).toBe(429);
}

describe('dashboard device cookies', () => {
  let dash: StandaloneDashboard | undefined;
  afterEach(async () => {
    await dash?.stop();
    dash = undefined;
  });

  /** `slowHash`: the admin's password takes scrypt's default cost to check, so that logins sent at once overlap. */
  async function start(now: () => number, slowHash = false) {
    const admin = slowHash
      ? { username: 'admin', password_hash: await hashPassword('admin-pw') }
      : await user('admin', [{ allow: 'both', topic: '#' }]);
    dash = await startDashboard({ allow_anonymous: false, users: [admin, await user('viewer', [])] }, { now });
    return dash.url;
  }

  it("a stranger's failed logins do not lock the user out of a browser that logged in before", async () => {
    const url = await start(() => 0);
    const first = await tryLogin(url, 'admin', 'admin-pw');
    expect(first.headers.getSetCookie()[1]).toMatch(
      /^z2m_device=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/api\/login; Max-Age=31536000$/,
    );
    await lockOut(url, 'admin');
    const mine = await tryLogin(url, 'admin', 'admin-pw', deviceCookie(first));
    expect(mine.status).toBe(200);
    const session = mine.headers.getSetCookie()[0]?.split(';')[0] as string;
    expect((await fetch(`${url}/api/state`, { headers: { cookie: session } })).status).toBe(200);
    // Its new device cookie lets it in again.
    expect((await tryLogin(url, 'admin', 'admin-pw', deviceCookie(mine))).status).toBe(200);
  });

  it("a forged, another user's, replaced or expired device cookie gets no exemption", async () => {
    let t = 0;
    const url = await start(() => t);
    const viewers = deviceCookie(await tryLogin(url, 'viewer', 'viewer-pw'));
    const replaced = deviceCookie(await tryLogin(url, 'admin', 'admin-pw'));
    const current = deviceCookie(await tryLogin(url, 'admin', 'admin-pw', replaced));
    const otherBrowser = deviceCookie(await tryLogin(url, 'admin', 'admin-pw'));
    await lockOut(url, 'admin');
    const forged = `z2m_device=${randomBytes(32).toString('base64url')}`;
    for (const cookie of [forged, viewers, replaced]) {
      expect([cookie, (await tryLogin(url, 'admin', 'admin-pw', cookie)).status]).toEqual([cookie, 429]);
    }
    expect((await tryLogin(url, 'admin', 'admin-pw', current)).status).toBe(200);
    // A year later the old lockout has lapsed; a new one holds the browser whose cookie has expired too.
    t += YEAR_MS;
    await lockOut(url, 'admin');
    expect((await tryLogin(url, 'admin', 'admin-pw', otherBrowser)).status).toBe(429);
  });

  it('a device cookie allows ten failed logins, also sent all at once, and is void after them', async () => {
    const url = await start(() => 0, true);
    const stolen = deviceCookie(await tryLogin(url, 'admin', 'admin-pw'));
    await lockOut(url, 'admin');
    const guesses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => tryLogin(url, 'admin', `guess${i}`, stolen)),
    );
    const statuses = guesses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect((await tryLogin(url, 'admin', 'admin-pw', stolen)).status).toBe(429);
  });

  it('holds logins without a device cookie sent all at once to the same ten failures', async () => {
    const url = await start(() => 0, true);
    const guesses = await Promise.all(Array.from({ length: 25 }, (_, i) => tryLogin(url, 'admin', `guess${i}`)));
    const statuses = guesses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('a successful login takes back its up-front count: ten good logins in a row do not lock the user out', async () => {
    const url = await start(() => 0);
    for (let i = 0; i < 12; i++) expect((await tryLogin(url, 'admin', 'admin-pw')).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await tryLogin(url, 'admin', `guess${i}`)).status).toBe(401);
    expect((await tryLogin(url, 'admin', 'admin-pw')).status).toBe(200);
  });

  it('a browser shared by two users spares each of them', async () => {
    const url = await start(() => 0);
    const adminFirst = await tryLogin(url, 'admin', 'admin-pw');
    const viewerNext = await tryLogin(url, 'viewer', 'viewer-pw', deviceCookie(adminFirst));
    expect(viewerNext.headers.getSetCookie()[1]).toMatch(
      /^z2m_device=[\w-]{43}\.[\w-]{43}; HttpOnly; SameSite=Strict;/,
    );
    await lockOut(url, 'admin');
    // The address is locked out now: untrusted logins as any user wait.
    expect((await tryLogin(url, 'viewer', 'viewer-pw')).status).toBe(429);
    const admin = await tryLogin(url, 'admin', 'admin-pw', deviceCookie(viewerNext));
    expect(admin.status).toBe(200);
    const viewer = await tryLogin(url, 'viewer', 'viewer-pw', deviceCookie(admin));
    expect(viewer.status).toBe(200);
    // Each login replaced its own user's token and kept the other's.
    expect((await tryLogin(url, 'admin', 'admin-pw', deviceCookie(viewer))).status).toBe(200);
    expect((await tryLogin(url, 'viewer', 'viewer-pw', deviceCookie(viewerNext))).status).toBe(429);
  });

  it("a browser holds the device cookies of its last five users: the oldest user's goes, and is void", () => {
    const devices = new DeviceCookies(() => 0);
    let jar: string | undefined;
    const jars: string[] = [];
    for (let i = 0; i < 6; i++) {
      jar = devices.issue(`user${i}`, jar, false).split(';')[0] as string;
      jars.push(jar);
    }
    expect(devices.claim(jar, 'user0')).toBeUndefined();
    expect(devices.claim(jars[4], 'user0')).toBeUndefined();
    for (let i = 1; i < 6; i++) expect([i, devices.claim(jar, `user${i}`)]).toEqual([i, expect.any(String)]);
    // Another login as one of them puts that user first again; nobody is dropped.
    jar = devices.issue('user1', jar, false).split(';')[0] as string;
    for (let i = 1; i < 6; i++) expect([i, devices.claim(jar, `user${i}`)]).toEqual([i, expect.any(String)]);
    expect(jar.split('.')).toHaveLength(5);
  });

  it('keeps at most 20 device cookies per user and 1000 in all, the oldest going first', () => {
    const devices = new DeviceCookies(() => 0);
    const issue = (username: string) => devices.issue(username, undefined, false).split(';')[0] as string;
    const admin = issue('admin');
    const viewers = Array.from({ length: 21 }, () => issue('viewer'));
    expect(devices.claim(viewers[0], 'viewer')).toBeUndefined();
    expect(devices.claim(viewers[1], 'viewer')).toBeDefined();
    expect(devices.claim(admin, 'admin')).toBeDefined();
    for (let i = 0; i < 979; i++) issue(`user${i}`);
    expect(devices.claim(admin, 'admin')).toBeDefined();
    issue('one-more');
    expect(devices.claim(admin, 'admin')).toBeUndefined();
    expect(devices.claim(viewers[1], 'viewer')).toBeDefined();
  });
});
