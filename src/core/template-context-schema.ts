/** A template's context schema must be a JSON Schema ajv compiles; its errors located inside the schema. */
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { describe, isRec } from './template-fields.js';
import type { Found, Issues, PathSegment, Rec } from './template-fields.js';

export function checkContextSchema(c: Issues, schema: Found<Rec>): void {
  // Formats are not validated (no ajv-formats), so Tasker schemas using `format: email` still compile;
  // strict mode stays on so a typo like `propertys` is caught rather than silently accepting anything.
  const ajv = new Ajv({ allErrors: true, verbose: true, validateFormats: false, logger: false });
  try {
    if (!(ajv.validateSchema(schema.value) as boolean)) {
      for (const e of firstErrorPerPath(ajv.errors ?? [])) {
        const at = pointerSegments(schema.value, e.instancePath);
        const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
        const more = allowed ? ` (${allowed.map(String).join(', ')})` : '';
        const got = `, got ${describe(e.data)}`;
        c.add([...schema.segs, ...at], `invalid JSON Schema: ${e.message ?? 'invalid'}${more}${got}`);
      }
      return;
    }
    ajv.compile(schema.value);
  } catch (e) {
    c.add(schema.segs, `invalid JSON Schema: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** anyOf/oneOf wrappers only repeat what the specific error already says. */
function firstErrorPerPath(errors: ErrorObject[]): ErrorObject[] {
  const byPath = new Map<string, ErrorObject>();
  for (const e of errors) {
    if (!byPath.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
      byPath.set(e.instancePath, e);
  }
  return [...byPath.values()];
}

/** JSON pointer -> segments, with array indexes as numbers so they format and locate as `[i]`. */
function pointerSegments(root: unknown, pointer: string): PathSegment[] {
  const out: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg = Array.isArray(node) ? Number(key) : key;
    out.push(seg);
    node = Array.isArray(node) ? node[Number(key)] : isRec(node) ? node[key] : undefined;
  }
  return out;
}
