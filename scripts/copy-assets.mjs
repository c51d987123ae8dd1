// Part of `npm run build`: copies the non-TypeScript files the compiled gateway reads at run time into dist/.
import { cpSync } from 'node:fs';

const assets = [
  ['gateway/dashboard/web', 'dist/gateway/dashboard/web'],
  ['adapters/coap/lwm2m/objects', 'dist/adapters/coap/lwm2m/objects'],
];
for (const [from, to] of assets) cpSync(from, to, { recursive: true });
