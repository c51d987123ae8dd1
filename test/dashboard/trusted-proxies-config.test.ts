// http.trusted_proxies takes IP addresses and CIDR ranges; anything else is a config error naming the entry and
// the fix.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../gateway/config/load.js';
import { configIssues } from '../config/config-issues.js';

describe('http.trusted_proxies', () => {
  it('is empty unless set, and takes addresses and ranges of either family', () => {
    expect(parseConfigText('http: {}\n', 'g.yaml', {}).http.trusted_proxies).toEqual([]);
    const entries = ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '::ffff:192.0.2.1', '::ffff:192.0.2.0/120'];
    const text = `http:\n  trusted_proxies: ${JSON.stringify(entries)}\n`;
    expect(parseConfigText(text, 'g.yaml', {}).http.trusted_proxies).toEqual(entries);
  });

  it('refuses host names, zones and bad prefix lengths, each with its fix', () => {
    const text = 'http:\n  trusted_proxies: [proxy.lan, "fe80::1%eth0", 10.0.0.0/33, "fd00::/129", 10.0.0.0/8/1]\n';
    const issues = configIssues(text);
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['http.trusted_proxies[0]', 'expected an IP address or CIDR range, got "proxy.lan"'],
      ['http.trusted_proxies[1]', 'expected an IP address or CIDR range, got "fe80::1%eth0"'],
      ['http.trusted_proxies[2]', 'expected an IP address or CIDR range, got "10.0.0.0/33"'],
      ['http.trusted_proxies[3]', 'expected an IP address or CIDR range, got "fd00::/129"'],
      ['http.trusted_proxies[4]', 'expected an IP address or CIDR range, got "10.0.0.0/8/1"'],
    ]);
    expect(issues[0]).toMatchObject({
      line: 2,
      hint: expect.stringMatching(/IP address, e\.g\. "127\.0\.0\.1".*no host names/),
    });
    expect(issues[1]?.hint).toMatch(/no zone/);
    for (const issue of issues.slice(2))
      expect(issue.hint).toMatch(/prefix length: 0 to 32 for IPv4, 0 to 128 for IPv6/);
  });
});
