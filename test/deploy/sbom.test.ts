import { describe, expect, it } from 'vitest';
import { debComponent, mergeSbom, nodeComponents, parseDpkgStatus } from '../../deploy/container/sbom.mjs';

const status = `Package: libssl3t64
Status: install ok installed
Priority: optional
Architecture: arm64
Source: openssl (3.5.9-1~deb13u1)
Version: 3.5.9-1~deb13u1
Description: Secure Sockets Layer toolkit
 This package is part of the OpenSSL project's implementation.
 .
 Continuation lines are ignored.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: arm64
Version: 1.0

Package: nodejs
Status: install ok installed
Architecture: arm64
Version: 20.19.2+dfsg-1+deb13u3

Package: base-files
Status: install ok installed
Architecture: arm64
Version: 1:13.8
`;

const npmBom = {
  bomFormat: 'CycloneDX',
  specVersion: '1.5',
  serialNumber: 'urn:uuid:random-each-run',
  metadata: {
    timestamp: '2030-01-01T00:00:00.000Z',
    tools: [{ vendor: 'npm', name: 'cli', version: '10.9.9' }],
    component: { 'bom-ref': 'zephyr2mqtt@0.1.0', type: 'library', name: 'src', version: '0.1.0' },
  },
  components: [
    { type: 'library', 'bom-ref': 'mqtt@5.16.0', name: 'mqtt', version: '5.16.0', purl: 'pkg:npm/mqtt@5.16.0' },
  ],
  dependencies: [
    { ref: 'zephyr2mqtt@0.1.0', dependsOn: ['mqtt@5.16.0'] },
    { ref: 'mqtt@5.16.0', dependsOn: [] },
  ],
};

describe('dpkg status parsing', () => {
  it('keeps installed packages only, with source package and epoch intact', () => {
    const pkgs = parseDpkgStatus(status);
    expect(pkgs.map((p) => p.name)).toEqual(['base-files', 'libssl3t64', 'nodejs']);
    expect(pkgs.find((p) => p.name === 'libssl3t64')).toEqual({
      name: 'libssl3t64',
      version: '3.5.9-1~deb13u1',
      arch: 'arm64',
      source: 'openssl',
    });
    expect(pkgs.find((p) => p.name === 'base-files')?.version).toBe('1:13.8');
  });

  it('returns nothing for empty or foreign text instead of throwing', () => {
    expect(parseDpkgStatus('')).toEqual([]);
    expect(parseDpkgStatus('\u0000\u00ff garbage\n\n: :')).toEqual([]);
  });

  it('encodes Debian versions in package URLs', () => {
    expect(debComponent({ name: 'base-files', version: '1:13.8', arch: 'arm64', source: 'base-files' }).purl).toBe(
      'pkg:deb/debian/base-files@1%3A13.8?arch=arm64',
    );
  });
});

describe('merged SBOM', () => {
  const input = {
    npmBom,
    dpkgPackages: parseDpkgStatus(status),
    nodeVersions: { node: '20.19.2', openssl: '3.5.9', uv: '1.51.0', modules: '115', unicode: '16.0' },
    platform: 'linux/arm64',
    version: '0.1.0',
    epochSeconds: 1_700_000_000,
  };

  it('lists npm, Debian and Node runtime components under the image as root', () => {
    const bom = mergeSbom(input);
    expect(bom.metadata.component).toMatchObject({ name: 'zephyr2mqtt', type: 'container', version: '0.1.0' });
    const purls = bom.components.map((c) => c.purl);
    expect(purls).toContain('pkg:npm/mqtt@5.16.0');
    expect(purls).toContain('pkg:deb/debian/libssl3t64@3.5.9-1~deb13u1?arch=arm64');
    expect(purls).toContain('pkg:generic/openssl@3.5.9');
    expect(purls).toContain('pkg:generic/nodejs@20.19.2');
    const root = bom.dependencies.find((d) => d.ref === 'zephyr2mqtt@0.1.0');
    expect(root?.dependsOn).toContain('mqtt@5.16.0');
    expect(root?.dependsOn).toContain('pkg:deb/debian/nodejs@20.19.2%2Bdfsg-1%2Bdeb13u3?arch=arm64');
    expect(bom.metadata.properties).toContainEqual({ name: 'zephyr2mqtt:platform', value: 'linux/arm64' });
  });

  it('is reproducible: same inputs give the same document, timestamp from SOURCE_DATE_EPOCH', () => {
    const a = mergeSbom(input);
    const b = mergeSbom({ ...input, npmBom: { ...npmBom, serialNumber: 'urn:uuid:other-random' } });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.metadata.timestamp).toBe('2023-11-14T22:13:20.000Z');
    expect(a.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(mergeSbom({ ...input, version: '0.2.0' }).serialNumber).not.toBe(a.serialNumber);
  });

  it('keeps Node and its libraries, not ABI numbers or non-versions', () => {
    const names = nodeComponents({ node: '20.19.2', napi: '9', modules: '115', zlib: '1.3.1', foo: 'bar' }).map(
      (c) => c.name,
    );
    expect(names).toEqual(['nodejs', 'zlib']);
  });
});
