// Part of `npm run build`: the compiled gateway imports zod from dist/vendor/zod.js, a bundle of the installed zod
// without its 60-odd translations of error messages. Every zod entry point imports all of them (`export * as
// locales`), expecting a bundler to drop them; node loads them all, 1.4-1.5 MB of an idle gateway's RSS
// (docs/benchmarks.md, Core). The gateway formats its own config errors in English and never reads z.locales.
// Tests and tsx run the TypeScript sources against the installed zod, so both builds validate the same way.
//   node scripts/bundle-zod.mjs [compiled output dir, default dist]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const DIST = resolve(process.argv[2] ?? 'dist');
const BUNDLE = join(DIST, 'vendor', 'zod.js');

const withoutLocales = {
  name: 'zod-without-locales',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, () => ({ path: 'zod-locales', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

await build({
  entryPoints: ['zod'],
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile: BUNDLE,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'inline',
  plugins: [withoutLocales],
  logLevel: 'warning',
});

/** `from 'zod'` and `import('zod')` in the compiled files, pointed at the bundle. */
const ZOD_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])zod\2/g;

function* compiledFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* compiledFiles(path);
    else if (entry.name.endsWith('.js') && path !== BUNDLE) yield path;
  }
}

let rewritten = 0;
for (const file of compiledFiles(DIST)) {
  const text = readFileSync(file, 'utf8');
  let target = relative(dirname(file), BUNDLE).split(sep).join('/');
  if (!target.startsWith('.')) target = `./${target}`;
  const next = text.replace(ZOD_SPECIFIER, (_, lead, quote) => `${lead}${quote}${target}${quote}`);
  if (next !== text) {
    writeFileSync(file, next);
    rewritten++;
  }
}
if (rewritten === 0)
  throw new Error(`bundle-zod: no compiled file under ${DIST}/ imports zod; is the build output elsewhere?`);
