// Behind a TLS reverse proxy every request comes from the proxy: the dashboard takes the client's address from
// X-Forwarded-For only when the proxy is in http.trusted_proxies.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSse, postJson, user } from './helpers.js';
import { type StandaloneDashboard, startDashboard } from './standalone.js';

function tryLogin(url: string, username: string, password: string, headers: Record<string, string> = {}) {
  return postJson(`${url}/api/login`, { username, password }, headers);
}

const from = (address: string) => ({ 'x-forwarded-for': address });

describe('dashboard behind a reverse proxy', () => {
  let dash: StandaloneDashboard | undefined;
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await dash?.stop();
    await gw?.stop();
    dash = gw = undefined;
  });

  async function start(trustedProxies: string[]) {
    const users = [await user('admin', [{ allow: 'both', topic: '#' }])];
    dash = await startDashboard({ allow_anonymous: false, users }, { now: () => 0, trustedProxies });
    return dash.url;
  }

  it('from a trusted proxy, each forwarded client has its own login throttle', async () => {
    const url = await start(['127.0.0.1']);
    for (let i = 0; i < 10; i++) {
      expect((await tryLogin(url, `nobody${i}`, 'guess', from('203.0.113.1'))).status).toBe(401);
    }
    expect((await tryLogin(url, 'admin', 'admin-pw', from('203.0.113.1'))).status).toBe(429);
    expect((await tryLogin(url, 'admin', 'admin-pw', from('203.0.113.2'))).status).toBe(200);
    const failures = dash?.log.lines.filter((l) => l.msg === 'dashboard login failed') ?? [];
    expect(failures[0]).toMatchObject({ user: 'nobody0', remote: '203.0.113.1' });
  });

  it('counts forwarded IPv6 clients by their /64: fresh addresses from one prefix share its throttle', async () => {
    const url = await start(['127.0.0.1']);
    for (let i = 1; i <= 10; i++) {
      expect((await tryLogin(url, `nobody${i}`, 'guess', from(`2001:db8:1:2::${i.toString(16)}`))).status).toBe(401);
    }
    expect((await tryLogin(url, 'admin', 'admin-pw', from('2001:db8:1:2:aaaa:bbbb:cccc:dddd'))).status).toBe(429);
    expect((await tryLogin(url, 'admin', 'admin-pw', from('2001:db8:1:3::1'))).status).toBe(200);
    const failures = dash?.log.lines.filter((l) => l.msg === 'dashboard login failed') ?? [];
    expect(failures[1]).toMatchObject({ remote: '2001:db8:1:2::2' });
  });

  it('takes the rightmost X-Forwarded-For entry that is not a trusted proxy', async () => {
    const url = await start(['::ffff:127.0.0.1', '10.0.0.0/8']);
    const remoteOf = async (headers: Record<string, string>, username: string) => {
      expect((await tryLogin(url, username, 'guess', headers)).status).toBe(401);
      return dash?.log.lines.find((l) => l.msg === 'dashboard login failed' && l.user === username)?.remote;
    };
    // What the client wrote itself (198.51.100.66) is left of the address the first proxy saw.
    expect(await remoteOf(from('198.51.100.66, ::ffff:203.0.113.9, 10.1.2.3'), 'a')).toBe('203.0.113.9');
    expect(await remoteOf(from('2001:DB8:0:0:0:0:0:1'), 'b')).toBe('2001:db8::1');
    expect(await remoteOf(from('10.0.0.5, 10.0.0.6'), 'c')).toBe('10.0.0.5');
    expect(await remoteOf(from('not-an-address, 10.0.0.7'), 'd')).toBe('10.0.0.7');
    expect(await remoteOf({}, 'e')).toBe('127.0.0.1');
  });

  it('from a peer not in trusted_proxies, X-Forwarded-For is ignored (X-Forwarded-Proto: https still makes the cookies Secure)', async () => {
    const url = await start(['10.0.0.0/8']);
    const https = { 'x-forwarded-proto': 'https' };
    const login = await tryLogin(url, 'admin', 'admin-pw', https);
    expect(login.status).toBe(200);
    expect(login.headers.getSetCookie().filter((c) => c.endsWith('; Secure'))).toHaveLength(2);
    // Made-up addresses do not spread a guesser's failures over many throttles.
    for (let i = 0; i < 10; i++) {
      expect((await tryLogin(url, `nobody${i}`, 'guess', from(`198.51.100.${i}`))).status).toBe(401);
    }
    expect((await tryLogin(url, 'admin', 'admin-pw', from('198.51.100.200'))).status).toBe(429);
    const ignored = dash?.log.lines.filter((l) => /not in http\.trusted_proxies/.test(l.msg)) ?? [];
    expect(ignored).toEqual([expect.objectContaining({ peer: '127.0.0.1' })]);
  });

  it('holds each forwarded client to its own event stream limit (http.trusted_proxies in the config)', async () => {
    gw = await startTestGateway({ http: { trusted_proxies: ['127.0.0.1'] } });
    const url = `${gw.httpUrl}/api/events`;
    const held = [];
    for (let i = 0; i < 8; i++) held.push(await openSse(url, from('203.0.113.1')));
    await expect(openSse(url, from('203.0.113.1'))).rejects.toThrow(/answered 503/);
    const other = await openSse(url, from('203.0.113.2'));
    await other.next((event) => event === 'snapshot');
    for (const s of [...held, other]) s.close();
  });

  it('counts forwarded IPv6 clients by their /64 for the event stream limit', async () => {
    gw = await startTestGateway({ http: { trusted_proxies: ['127.0.0.1'] } });
    const url = `${gw.httpUrl}/api/events`;
    const held = [];
    for (let i = 1; i <= 8; i++) held.push(await openSse(url, from(`2001:db8:0:1::${i}`)));
    await expect(openSse(url, from('2001:db8:0:1:ffff::9'))).rejects.toThrow(/answered 503/);
    const other = await openSse(url, from('2001:db8:0:2::1'));
    await other.next((event) => event === 'snapshot');
    for (const s of [...held, other]) s.close();
  });
});
