// The LwM2M object model: resource names, types and MQTT property names, loaded from JSON data files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Lwm2mPath } from './path.js';
import type { ResourceType } from './values.js';

const resourceSchema = z.object({
  name: z.string(),
  type: z.enum(['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'none']),
  /** Any of R, W, E ("" for bootstrap-only resources). */
  operations: z.string().regex(/^R?W?E?$/),
  multiple: z.boolean().default(false),
  /** State property name in `<base>/<device>` (instance N > 0 gets the suffix `_N`). */
  property: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .optional(),
  /** Observe this resource when a client registers the object. */
  observe: z.boolean().default(false),
  units: z.string().optional(),
});

export const objectDefinitionSchema = z.object({
  id: z.number().int().min(0).max(65535),
  name: z.string(),
  version: z.string().default('1.0'),
  multiple: z.boolean(),
  resources: z.record(z.string().regex(/^\d{1,5}$/), resourceSchema),
});
export type ObjectDefinition = z.infer<typeof objectDefinitionSchema>;
export type ResourceDefinition = z.infer<typeof resourceSchema>;

export type ResourcePath = Lwm2mPath & { inst: number; res: number };

export class ObjectModel {
  readonly #objects = new Map<number, ObjectDefinition>();
  readonly #byProperty = new Map<string, { obj: number; res: number }>();

  constructor(definitions: readonly ObjectDefinition[]) {
    for (const def of definitions) this.#objects.set(def.id, def);
    for (const def of this.#objects.values()) {
      for (const [res, r] of Object.entries(def.resources)) {
        if (r.property) this.#byProperty.set(r.property, { obj: def.id, res: Number(res) });
      }
    }
  }

  object(obj: number): ObjectDefinition | undefined {
    return this.#objects.get(obj);
  }

  objects(): ObjectDefinition[] {
    return [...this.#objects.values()];
  }

  resource(obj: number, res: number): ResourceDefinition | undefined {
    return this.#objects.get(obj)?.resources[String(res)];
  }

  readonly typeOf = (obj: number, res: number): ResourceType | undefined => this.resource(obj, res)?.type;

  /** `temperature` for 3303/0/5700, `temperature_1` for 3303/1/5700; undefined for unnamed or multi-instance values. */
  propertyOf(path: Lwm2mPath): string | undefined {
    if (path.res === undefined || path.inst === undefined || path.ri !== undefined) return undefined;
    const name = this.resource(path.obj, path.res)?.property;
    if (!name) return undefined;
    return path.inst === 0 ? name : `${name}_${path.inst}`;
  }

  /** The inverse of propertyOf. */
  pathOfProperty(property: string): ResourcePath | undefined {
    const direct = this.#byProperty.get(property);
    if (direct) return { obj: direct.obj, inst: 0, res: direct.res };
    const m = /^(.+)_(\d{1,5})$/.exec(property);
    const base = m?.[1] ? this.#byProperty.get(m[1]) : undefined;
    if (!m || !base) return undefined;
    return { obj: base.obj, inst: Number(m[2]), res: base.res };
  }

  /** Resources to observe when a client registers an instance of `obj`. */
  defaultObserved(obj: number): number[] {
    const def = this.#objects.get(obj);
    if (!def) return [];
    return Object.entries(def.resources)
      .filter(([, r]) => r.observe)
      .map(([res]) => Number(res));
  }
}

/** The built-in data files: beside this module in the sources; in a build, where scripts/copy-assets.mjs puts them
 * (dist/adapters/coap/lwm2m/objects), seen from the bundle in dist/gateway (scripts/bundle-app.mjs). */
export function builtinObjectsDir(): string {
  const here = fileURLToPath(new URL('./objects/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../adapters/coap/lwm2m/objects/', import.meta.url));
}

/** Reads every `*.json` definition in `dir`; a broken file is an error naming the file. */
export function loadObjectDefinitions(dir: string): ObjectDefinition[] {
  const defs: ObjectDefinition[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const path = join(dir, file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`LwM2M object file ${path}: ${(e as Error).message}`);
    }
    const parsed = objectDefinitionSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`LwM2M object file ${path}: ${z.prettifyError(parsed.error)}`);
    defs.push(parsed.data);
  }
  return defs;
}

/** Built-in objects, then the user's directory (same id replaces the built-in definition). */
export function loadObjectModel(extraDir?: string): ObjectModel {
  const defs = loadObjectDefinitions(builtinObjectsDir());
  if (extraDir) defs.push(...loadObjectDefinitions(extraDir));
  return new ObjectModel(defs);
}
