// Benchmarks measure the gateway as it ships: compiled JavaScript, not TypeScript under tsx (whose loader alone
// adds tens of MB of RSS). This compiles the given sources with the build's settings into a temp dir.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface CompiledTree {
  /** The output root: `<out>/gateway/cli.js`, `<out>/bench/<name>.js`, ... */
  out: string;
  remove(): void;
}

/** tsc of `gateway`, `adapters` and the extra paths (relative to the repository root) into a temp dir.
 * `sourceRoot`: another checkout to compile instead of this one (an earlier commit, for A/B). */
export function compileForBench(extra: readonly string[], sourceRoot = root): CompiledTree {
  const dir = mkdtempSync(join(tmpdir(), 'z2m-bench-build-'));
  const out = join(dir, 'out');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(sourceRoot, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: sourceRoot,
        outDir: out,
        sourceMap: false,
        typeRoots: [join(root, 'node_modules/@types')],
      },
      include: ['gateway', 'adapters', ...extra].map((p) => join(sourceRoot, p)),
      exclude: ['node_modules', 'dist', '**/*.test.ts'].map((p) => join(sourceRoot, p)),
    }),
  );
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], {
      stdio: 'ignore',
    });
  } catch {
    // type errors are `npm run typecheck`'s business; the emitted JavaScript is what is measured
  }
  // What scripts/copy-assets.mjs and scripts/bundle-zod.mjs add to dist, and what the compiled files resolve at run
  // time.
  execFileSync(process.execPath, [join(root, 'scripts/bundle-zod.mjs'), out], { stdio: 'inherit' });
  cpSync(join(sourceRoot, 'adapters/coap/lwm2m/objects'), join(out, 'adapters/coap/lwm2m/objects'), {
    recursive: true,
  });
  cpSync(join(sourceRoot, 'gateway/dashboard/web'), join(out, 'gateway/dashboard/web'), { recursive: true });
  cpSync(join(sourceRoot, 'package.json'), join(out, 'package.json'));
  // The gateway process runs the bundle, as shipped; the bench scripts import the compiled modules left beside it.
  // A checkout from before the bundle (an A/B) is measured as it shipped then.
  const bundler = join(sourceRoot, 'scripts/bundle-app.mjs');
  if (existsSync(bundler))
    execFileSync(process.execPath, [bundler, out, '--keep-compiled'], { cwd: root, stdio: 'inherit' });
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  return { out, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
