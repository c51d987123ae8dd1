import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitBuildOnly } from '../../deploy/container/prune-build-deps.mjs';
import {
  debComponent,
  keepPresentNpm,
  mergeSbom,
  nodeComponents,
  parseDpkgStatus,
  readDpkgStatus,
} from '../../deploy/container/sbom.mjs';

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

describe('dpkg admin directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'z2m-dpkg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads status plus the status.d records of packages placed without dpkg (the CA bundle)', () => {
    writeFileSync(join(dir, 'status'), status);
    mkdirSync(join(dir, 'status.d'));
    writeFileSync(
      join(dir, 'status.d', 'ca-certificates'),
      'Package: ca-certificates\nStatus: install ok installed\nArchitecture: all\nVersion: 20250419+deb13u1\n',
    );
    const names = parseDpkgStatus(readDpkgStatus(dir)).map((p) => `${p.name} ${p.version}`);
    expect(names).toEqual([
      'base-files 1:13.8',
      'ca-certificates 20250419+deb13u1',
      'libssl3t64 3.5.9-1~deb13u1',
      'nodejs 20.19.2+dfsg-1+deb13u3',
    ]);
    expect(readDpkgStatus(join(dir, 'status'))).toBe(status);
  });
});

describe('build-only npm packages', () => {
  // The app needs addon (its .node file) and mqtt; addon's build needs node-gyp, which needs tar and a nested which.
  const lock = {
    packages: {
      '': { dependencies: { addon: '1', mqtt: '5' }, devDependencies: { vitest: '4' } },
      'node_modules/addon': { dependencies: { 'node-gyp': '10', 'node-addon-api': '8', debug: '4' } },
      'node_modules/mqtt': { dependencies: { debug: '4' }, optionalDependencies: { 'not-installed': '1' } },
      'node_modules/debug': {},
      'node_modules/node-gyp': { dependencies: { tar: '6', which: '4' } },
      'node_modules/node-gyp/node_modules/which': {},
      'node_modules/node-addon-api': {},
      'node_modules/tar': { dependencies: { debug: '4' } },
      'node_modules/not-installed': { optional: true },
      'node_modules/vitest': { dev: true },
    },
  };

  it('removes node-gyp, node-addon-api and what only they need; keeps what the app also needs', () => {
    const { keep, remove } = splitBuildOnly(lock);
    expect(keep.sort()).toEqual([
      'node_modules/addon',
      'node_modules/debug',
      'node_modules/mqtt',
      'node_modules/not-installed',
    ]);
    expect(remove.sort()).toEqual([
      'node_modules/node-addon-api',
      'node_modules/node-gyp',
      'node_modules/node-gyp/node_modules/which',
      'node_modules/tar',
    ]);
  });

  it('the SBOM keeps only the npm components the image ships, and their dependency edges', () => {
    const bom = {
      metadata: { component: { 'bom-ref': 'app@1' } },
      components: [
        {
          type: 'library',
          'bom-ref': 'mqtt@5',
          name: 'mqtt',
          version: '5',
          properties: [{ name: 'cdx:npm:package:path', value: 'node_modules/mqtt' }],
        },
        {
          type: 'library',
          'bom-ref': 'tar@6',
          name: 'tar',
          version: '6',
          properties: [{ name: 'cdx:npm:package:path', value: 'node_modules/tar' }],
        },
      ],
      dependencies: [
        { ref: 'app@1', dependsOn: ['mqtt@5', 'tar@6'] },
        { ref: 'mqtt@5', dependsOn: [] },
        { ref: 'tar@6', dependsOn: [] },
      ],
    };
    const kept = keepPresentNpm(bom, ['node_modules/mqtt']);
    expect(kept.components.map((c) => c.name)).toEqual(['mqtt']);
    expect(kept.dependencies).toEqual([
      { ref: 'app@1', dependsOn: ['mqtt@5'] },
      { ref: 'mqtt@5', dependsOn: [] },
    ]);
  });
});
