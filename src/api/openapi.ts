/**
 * The OpenAPI 3 document, generated from the route schemas Fastify validates with, so it cannot drift from
 * what the server accepts and returns.
 */
import type { FastifySchema, HTTPMethods } from 'fastify';
import type { Scope } from './auth.js';

export interface RouteDoc {
  method: HTTPMethods | HTTPMethods[];
  url: string;
  schema: FastifySchema | undefined;
  scope: Scope | null | undefined;
}

interface JsonSchemaObject {
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
}

export function buildOpenApi(routes: readonly RouteDoc[], prefix: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.schema?.hide) continue;
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    for (const m of methods) {
      const op: Record<string, unknown> = {
        summary: r.schema?.summary,
        description: r.schema?.description,
        parameters: [
          ...params(r.schema?.params as JsonSchemaObject | undefined, 'path'),
          ...params(r.schema?.querystring as JsonSchemaObject | undefined, 'query'),
        ],
        responses: responses(
          r.schema?.response as Record<string, unknown> | undefined,
          r.schema?.statuses,
          r.scope !== null,
        ),
      };
      if (r.scope) op.security = [{ bearer: [r.scope] }];
      else if (r.scope === null) op.security = [];
      if (r.schema?.body)
        op.requestBody = {
          required: true,
          content: { 'application/json': { schema: schemaObject(r.schema.body) } },
        };
      (paths[path] ??= {})[m.toLowerCase()] = op;
    }
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Tasker HTTP API', version: '1', description: `Mounted at ${prefix || '/'}` },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

function params(schema: JsonSchemaObject | undefined, where: 'path' | 'query') {
  return Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (schema?.required ?? []).includes(name),
    schema: schemaObject(s),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
  }));
}

const ERROR_BODY = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
};
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: ERROR_BODY } },
});

/** 200 unless the route says otherwise, its other success codes, and the errors every route can answer. */
function responses(
  schema: Record<string, unknown> | undefined,
  statuses: Record<number, string> | undefined,
  authenticated: boolean,
) {
  const out: Record<string, unknown> = {};
  for (const [code, s] of Object.entries(schema ?? {}))
    out[code] = { description: code, content: { 'application/json': { schema: schemaObject(s) } } };
  for (const [code, description] of Object.entries(statuses ?? {})) out[code] ??= { description };
  if (!Object.keys(out).some((c) => c.startsWith('2'))) out['200'] = { description: 'OK' };
  out['400'] = error('The request is invalid: the message names the field and what was expected');
  if (authenticated) {
    out['401'] = error('No valid bearer token');
    out['403'] = error("The token's scope or namespaces do not cover this");
  }
  out.default = error('Error: {error, message, details?}');
  return out;
}

/**
 * A route's JSON Schema (draft 7, what Fastify validates with) as an OpenAPI 3.0 Schema Object: a type
 * list with "null" becomes `nullable`, and keywords 3.0 lacks are dropped. Without this the document is
 * not valid 3.0, and 3.0 client generators reject it.
 */
export function schemaObject(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(schemaObject);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  const source = schema as Record<string, unknown>;
  for (const [k, v] of Object.entries(source)) {
    if (DRAFT_ONLY.has(k)) continue;
    out[k] =
      SUBSCHEMA_MAPS.has(k) && v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, schemaObject(sub)]))
        : schemaObject(v);
  }
  if (Array.isArray(source.type)) {
    const all: unknown[] = source.type;
    const types = all.filter((t) => t !== 'null');
    if (types.length < all.length) out.nullable = true;
    if (types.length === 1) out.type = types[0];
    else {
      delete out.type;
      if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }));
    }
  }
  if ('const' in source) out.enum = [source.const];
  return out;
}

/** Draft-7 keywords with no OpenAPI 3.0 meaning. */
const DRAFT_ONLY = new Set([
  '$id',
  '$schema',
  'const',
  'examples',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
]);
/** Keywords whose value maps names to schemas (the names are not keywords). */
const SUBSCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
