// Merges `npm sbom` (the Node dependencies) with the runtime base's Debian packages and the Node runtime's own
// components into one CycloneDX document, so a CVE in OpenSSL, Node or a dependency says which image to rebuild.
// Deterministic: no random serial number, and the timestamp comes from SOURCE_DATE_EPOCH when set.
// Usage: node sbom.mjs --npm npm.cdx.json --dpkg /var/lib/dpkg --node versions.json [--npm-present FILE]
//          --platform P --version V
// --dpkg is dpkg's admin directory (status plus status.d/*, where packages placed without dpkg are recorded, as in
// distroless images) or a status file; --npm-present lists the lockfile paths the image ships (prune-build-deps.mjs).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Installed packages from a dpkg status file: [{name, version, arch, source}]. */
export function parseDpkgStatus(text) {
  const packages = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const fields = {};
    let last;
    for (const line of paragraph.split('\n')) {
      if (/^\s/.test(line) && last) continue; // continuation lines (descriptions, conffiles)
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1];
        fields[m[1]] = m[2];
      }
    }
    if (!fields.Package || !fields.Version) continue;
    if (!/\binstalled\b/.test(fields.Status ?? '') || /\bnot-installed\b/.test(fields.Status ?? '')) continue;
    packages.push({
      name: fields.Package,
      version: fields.Version,
      arch: fields.Architecture ?? 'all',
      source: (fields.Source ?? fields.Package).split(' ')[0],
    });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

/** The status text of a dpkg admin directory: status and every status.d/* file; or the file itself. */
export function readDpkgStatus(path) {
  if (!statSync(path).isDirectory()) return readFileSync(path, 'utf8');
  const parts = [];
  if (existsSync(join(path, 'status'))) parts.push(readFileSync(join(path, 'status'), 'utf8'));
  const extra = join(path, 'status.d');
  if (existsSync(extra)) {
    for (const name of readdirSync(extra).sort()) parts.push(readFileSync(join(extra, name), 'utf8'));
  }
  return parts.join('\n\n');
}

/**
 * `npm sbom` describes the lockfile; keep only the components whose package path the image ships, and drop the
 * dependency entries of the others.
 */
export function keepPresentNpm(npmBom, presentPaths) {
  const present = new Set(presentPaths);
  const pathOf = (c) => c.properties?.find((p) => p.name === 'cdx:npm:package:path')?.value;
  const components = (npmBom.components ?? []).filter((c) => {
    const path = pathOf(c);
    return path === undefined || present.has(path);
  });
  const refs = new Set(components.map((c) => c['bom-ref']));
  const rootRef = npmBom.metadata?.component?.['bom-ref'];
  if (rootRef) refs.add(rootRef);
  const dependencies = (npmBom.dependencies ?? [])
    .filter((d) => refs.has(d.ref))
    .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => refs.has(r)) }));
  return { ...npmBom, components, dependencies };
}

export function debComponent(pkg) {
  const purl = `pkg:deb/debian/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}?arch=${pkg.arch}`;
  return {
    type: pkg.name.startsWith('lib') ? 'library' : 'application',
    'bom-ref': purl,
    name: pkg.name,
    version: pkg.version,
    purl,
    properties: [
      { name: 'zephyr2mqtt:layer', value: 'os' },
      { name: 'debian:source', value: pkg.source },
    ],
  };
}

// ABI numbers and standard versions in process.versions, not software components.
const NOT_COMPONENTS = new Set(['modules', 'napi', 'unicode']);

/** Node itself and the libraries it reports (OpenSSL, libuv, zlib, ICU, V8...), whether bundled or shared. */
export function nodeComponents(versions) {
  return Object.entries(versions)
    .filter(([name, v]) => !NOT_COMPONENTS.has(name) && typeof v === 'string' && /^\d/.test(v))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, version]) => {
      const purl = `pkg:generic/${name === 'node' ? 'nodejs' : name}@${encodeURIComponent(version)}`;
      return {
        type: name === 'node' ? 'platform' : 'library',
        'bom-ref': `node-runtime:${name}@${version}`,
        name: name === 'node' ? 'nodejs' : name,
        version,
        purl,
        properties: [{ name: 'zephyr2mqtt:layer', value: 'node-runtime' }],
      };
    });
}

export function mergeSbom({ npmBom, dpkgPackages, nodeVersions, platform, version, epochSeconds }) {
  const npmComponents = (npmBom.components ?? []).map((c) => ({
    ...c,
    properties: [...(c.properties ?? []), { name: 'zephyr2mqtt:layer', value: 'npm' }],
  }));
  const components = [...npmComponents, ...dpkgPackages.map(debComponent), ...nodeComponents(nodeVersions)];
  const root = { ...(npmBom.metadata?.component ?? { type: 'application', name: 'zephyr2mqtt' }) };
  root.type = 'container';
  root.name = 'zephyr2mqtt'; // npm sbom names the root after the directory it ran in
  root.version = version;
  const rootRef = root['bom-ref'] ?? 'zephyr2mqtt';
  root['bom-ref'] = rootRef;
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: npmBom.specVersion ?? '1.5',
    version: 1,
    metadata: {
      ...(epochSeconds === undefined ? {} : { timestamp: new Date(epochSeconds * 1000).toISOString() }),
      tools: npmBom.metadata?.tools,
      component: root,
      properties: [{ name: 'zephyr2mqtt:platform', value: platform }],
    },
    components,
    dependencies: [
      ...(npmBom.dependencies ?? []).filter((d) => d.ref !== rootRef),
      {
        ref: rootRef,
        dependsOn: [
          ...((npmBom.dependencies ?? []).find((d) => d.ref === rootRef)?.dependsOn ?? []),
          ...components.filter((c) => !npmComponents.includes(c)).map((c) => c['bom-ref']),
        ],
      },
    ],
  };
  const digest = createHash('sha256').update(JSON.stringify(bom)).digest('hex');
  bom.serialNumber = `urn:uuid:${digest.slice(0, 8)}-${digest.slice(8, 12)}-5${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  return bom;
}

function main() {
  const { values } = parseArgs({
    options: {
      npm: { type: 'string' },
      dpkg: { type: 'string' },
      'npm-present': { type: 'string' },
      node: { type: 'string' },
      platform: { type: 'string', default: 'unknown' },
      version: { type: 'string', default: '0.0.0-dev' },
    },
  });
  if (!values.npm || !values.dpkg || !values.node) {
    console.error(
      'usage: sbom.mjs --npm FILE --dpkg DIR|FILE --node FILE [--npm-present FILE] [--platform P] [--version V]',
    );
    process.exit(2);
  }
  const epoch = process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : undefined;
  let npmBom = JSON.parse(readFileSync(values.npm, 'utf8'));
  if (values['npm-present']) {
    npmBom = keepPresentNpm(npmBom, readFileSync(values['npm-present'], 'utf8').split('\n').filter(Boolean));
  }
  const bom = mergeSbom({
    npmBom,
    dpkgPackages: parseDpkgStatus(readDpkgStatus(values.dpkg)),
    nodeVersions: JSON.parse(readFileSync(values.node, 'utf8')),
    platform: values.platform,
    version: values.version,
    epochSeconds: Number.isFinite(epoch) ? epoch : undefined,
  });
  process.stdout.write(`${JSON.stringify(bom, null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
