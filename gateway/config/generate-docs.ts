// `npm run docs`: writes docs/config.schema.json and docs/config.md from the zod schema.
// test/config/docs.test.ts fails when the committed files are stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigReference, renderJsonSchema } from './reference.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../../docs/config.schema.json', import.meta.url));
export const REFERENCE_FILE = fileURLToPath(new URL('../../docs/config.md', import.meta.url));

writeFileSync(SCHEMA_FILE, renderJsonSchema());
writeFileSync(REFERENCE_FILE, renderConfigReference());
console.log(`wrote ${SCHEMA_FILE} and ${REFERENCE_FILE}`);
