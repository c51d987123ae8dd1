// scripts/bundle-zod.mjs (part of `npm run build`): the compiled gateway's zod, without the translations that every
// zod entry point loads.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/bundle-zod.mjs', import.meta.url));

describe('bundle-zod', () => {
  const out = mkdtempSync(join(tmpdir(), 'z2m-bundle-zod-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  mkdirSync(join(out, 'gateway/config'), { recursive: true });
  const compiled = join(out, 'gateway/config/schema.js');
  writeFileSync(
    compiled,
    `import { z } from 'zod';
const lazy = await import("zod");
const schema = z.object({ port: z.number().int().max(65535) });
const bad = schema.safeParse({ port: 'x' });
console.log(JSON.stringify({
  ok: schema.parse({ port: 1883 }).port,
  message: bad.success ? null : bad.error.issues[0].message,
  same: lazy.z === z,
  locales: Object.keys(z.locales ?? {}).length,
}));
`,
  );
  execFileSync(process.execPath, [SCRIPT, out], { stdio: 'pipe' });

  it('points the compiled imports at the bundle, static and dynamic alike', () => {
    const text = readFileSync(compiled, 'utf8');
    expect(text).toContain(`from '../../vendor/zod.js'`);
    expect(text).toContain(`import("../../vendor/zod.js")`);
    expect(text).not.toMatch(/['"]zod['"]/);
  });

  it('validates as zod does, with English messages and no other locale', () => {
    const result = JSON.parse(execFileSync(process.execPath, [compiled], { encoding: 'utf8' })) as Record<
      string,
      unknown
    >;
    expect(result).toEqual({
      ok: 1883,
      message: 'Invalid input: expected number, received string',
      same: true,
      locales: 0,
    });
  });

  it('leaves no translation in the bundle', () => {
    const bundle = readFileSync(join(out, 'vendor/zod.js'), 'utf8');
    expect(bundle).toContain('Invalid input');
    expect(bundle).not.toContain('Ungültige Eingabe');
  });
});
