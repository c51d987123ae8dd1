// Multicast through real interfaces: a gateway namespace with two veth links, a responder namespace behind each.
// Needs root and `ip netns` (iproute2), like coap-netns.test.ts; fails saying so elsewhere. Linux takes the interface from a group address's zone only for
// link-local scope, so `ff05::fd%gwB` must pick gwB through the socket's multicast interface.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ns = (name: string) => `z2m-${process.pid}-${name}`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** Fails with what is missing instead of skipping: this suite's point is the real link. */
function requireNetns(): void {
  try {
    ip('netns', 'add', ns('check'));
    ip('netns', 'del', ns('check'));
  } catch (error) {
    throw new Error(
      `cannot create a network namespace (needs root and a kernel with netns; install iproute2): ${(error as Error).message}`,
    );
  }
}

// Answers every request with a NON 2.05 carrying its name (argv: interface, name).
const RESPONDER = `
const s = require('node:dgram').createSocket({ type: 'udp6', reuseAddr: true });
const [iface, name] = process.argv.slice(1);
s.bind(5683, '::', () => {
  for (const g of ['ff02::fd', 'ff05::fd']) s.addMembership(g, '::%' + iface);
  console.log('ready');
});
s.on('message', (m, r) => {
  const tkl = m[0] & 0x0f;
  const head = Buffer.from([0x50 | tkl, 0x45, m[2], m[3]]);
  s.send(Buffer.concat([head, m.subarray(4, 4 + tkl), Buffer.from([0xff]), Buffer.from(name)]), r.port, r.address);
});`;

describe('multicast out of the zone interface (network namespaces)', () => {
  const responders: ChildProcess[] = [];

  beforeAll(async () => {
    requireNetns();
    for (const name of ['gw', 'a', 'b']) {
      ip('netns', 'add', ns(name));
      // No duplicate address detection: link-local addresses are usable as soon as a link is up.
      ip(
        'netns',
        'exec',
        ns(name),
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.accept_dad=0',
        'net.ipv6.conf.default.accept_dad=0',
      );
      ip('-n', ns(name), 'link', 'set', 'lo', 'up');
    }
    for (const side of ['a', 'b']) {
      const gwSide = `gw${side.toUpperCase()}`;
      ip('link', 'add', gwSide, 'netns', ns('gw'), 'type', 'veth', 'peer', 'name', 'dev0', 'netns', ns(side));
      ip('-n', ns('gw'), 'link', 'set', gwSide, 'up');
      ip('-n', ns(side), 'link', 'set', 'dev0', 'up');
      const child = spawn('ip', ['netns', 'exec', ns(side), process.execPath, '-e', RESPONDER, 'dev0', side]);
      responders.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`responder ${side} exited with ${code}`)));
      });
    }
    // A new link drops what it is given until the kernel's link watch has made it operational (up to a second).
    const links: Array<[string, string]> = [
      [ns('gw'), 'gwA'],
      [ns('gw'), 'gwB'],
      [ns('a'), 'dev0'],
      [ns('b'), 'dev0'],
    ];
    for (let wait = 0; wait < 50; wait++) {
      if (links.every(([n, link]) => ip('-n', n, 'link', 'show', link).toString().includes('state UP'))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 20_000);

  afterAll(() => {
    for (const child of responders) child.kill();
    for (const name of ['gw', 'a', 'b']) {
      try {
        ip('netns', 'del', ns(name));
      } catch {
        // not created
      }
    }
  });

  it('sends each group request out of the interface its zone names, site-local scope included', async () => {
    const probe = fileURLToPath(new URL('./coap-multicast-probe.ts', import.meta.url));
    const groups = ['ff05::fd%gwA', 'ff05::fd%gwB', 'ff02::fd%gwB'];
    const { stdout } = await promisify(execFile)('ip', [
      'netns',
      'exec',
      ns('gw'),
      process.execPath,
      '--import',
      'tsx',
      probe,
      ...groups,
    ]);
    expect(JSON.parse(stdout)).toEqual({ 'ff05::fd%gwA': ['a'], 'ff05::fd%gwB': ['b'], 'ff02::fd%gwB': ['b'] });
  }, 20_000);
});
