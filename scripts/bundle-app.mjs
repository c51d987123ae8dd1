// Part of `npm run build`, after tsc, copy-assets and bundle-zod: the compiled gateway as one entry file and a few
// chunks (the parts it imports on demand: each adapter, the upstream bridge, the dashboard, the CLI commands) in
// dist/gateway/, in place of ~340 modules. Node keeps a record, a namespace and a scope per module: an idle gateway
// with 100 devices loaded 230 of them, 1.4 MB of its RSS (docs/benchmarks.md, twentieth session). npm packages stay
// external (native addons, and the packages' own files they read). Not minified: stack traces keep their names, and
// each chunk has a source map back to the TypeScript (node --enable-source-maps).
//   node scripts/bundle-app.mjs [compiled output dir, default dist] [--keep-compiled]
// --keep-compiled (the benchmarks' builds) leaves the compiled modules beside the bundle, for the bench scripts
// that import them; the gateway process still runs the bundle.
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const keepCompiled = args.includes('--keep-compiled');
const DIST = resolve(args.find((a) => !a.startsWith('--')) ?? 'dist');
const STAGING = `${DIST}.bundle`;
/** What the bundle reads at run time, left in place: the dashboard's files and the LwM2M object definitions. */
const KEEP = [join(DIST, 'gateway', 'dashboard', 'web'), join(DIST, 'adapters', 'coap', 'lwm2m', 'objects')];

rmSync(STAGING, { recursive: true, force: true });
await build({
  entryPoints: [join(DIST, 'gateway', 'cli.js')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir: STAGING,
  chunkNames: 'chunk-[hash]',
  // One-byte source text: V8 keeps a module's source, as two-byte when any character in it is beyond Latin-1.
  charset: 'ascii',
  sourcemap: 'linked',
  logLevel: 'warning',
});

/** Every compiled file but the kept directories goes: nothing imports them any more. */
function removeCompiled(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (KEEP.includes(path)) continue;
    if (statSync(path).isDirectory()) {
      removeCompiled(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else rmSync(path);
  }
}
if (!keepCompiled) removeCompiled(DIST);
for (const file of readdirSync(STAGING)) renameSync(join(STAGING, file), join(DIST, 'gateway', file));
rmSync(STAGING, { recursive: true });
