// Removes from a production node_modules the packages that only build native addons: node-gyp and
// @mapbox/node-pre-gyp (dependencies of @abandonware/bluetooth-hci-socket, which loads its addon with a plain
// require), node-addon-api (C++ headers) and whatever is reachable only through them. Their ~140 packages are
// about 9 MB of an image that has already compiled its addons. Writes the lockfile paths of the packages that stay,
// one per line, so the SBOM lists exactly what the image ships (sbom.mjs --npm-present).
// Usage: node prune-build-deps.mjs APP_DIR PRESENT_LIST_OUT  (APP_DIR holds package-lock.json and node_modules)
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILD_ONLY = ['node-gyp', '@mapbox/node-pre-gyp', 'node-addon-api'];

/** Where Node resolves `name` from the lockfile path `from` (walking up the node_modules chain), or null. */
function resolve(packages, from, name) {
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return null;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

/**
 * Lockfile paths of the non-dev packages reachable from the root without passing through a build-only package,
 * and of those that are not (to remove). Optional and peer dependencies count as edges.
 */
export function splitBuildOnly(lock, buildOnly = BUILD_ONLY) {
  const packages = lock.packages ?? {};
  const skip = new Set(buildOnly);
  const keep = new Set();
  const stack = [''];
  while (stack.length > 0) {
    const from = stack.pop() ?? '';
    const pkg = packages[from] ?? {};
    const names = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });
    for (const name of names) {
      if (skip.has(name)) continue;
      const key = resolve(packages, from, name);
      if (key && !keep.has(key)) {
        keep.add(key);
        stack.push(key);
      }
    }
  }
  const all = Object.entries(packages).filter(([key, p]) => key !== '' && !p.dev && !p.link);
  return {
    keep: all.map(([key]) => key).filter((key) => keep.has(key)),
    remove: all.map(([key]) => key).filter((key) => !keep.has(key)),
  };
}

function main() {
  const [app, presentOut] = process.argv.slice(2);
  if (!app || !presentOut) {
    console.error('usage: prune-build-deps.mjs APP_DIR PRESENT_LIST_OUT');
    process.exit(2);
  }
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
  const { keep, remove } = splitBuildOnly(lock);
  for (const key of remove) rmSync(join(app, key), { recursive: true, force: true });
  const present = keep.filter((key) => existsSync(join(app, key, 'package.json')));
  writeFileSync(presentOut, `${present.join('\n')}\n`);
  console.error(`prune-build-deps: removed ${remove.length} build-only packages, ${present.length} remain`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
