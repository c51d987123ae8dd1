// Part of `npm run build`: copies the non-TypeScript files the compiled gateway reads at run time into dist/.
//   node scripts/copy-assets.mjs [compiled output dir, default dist]
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DIST = resolve(process.argv[2] ?? 'dist');
const assets = ['gateway/dashboard/web', 'adapters/coap/lwm2m/objects'];
for (const path of assets) cpSync(join(root, path), join(DIST, path), { recursive: true });
