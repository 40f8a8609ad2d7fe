/**
 * The console's calls, checked by an outside tool: console/src/api/openapi.d.ts is what openapi-typescript
 * generates from the live GET /tasker/openapi.json (stale means failed: `npm run openapi:types`), and the
 * console's client (console/src/api/client.ts over routes.ts) compiles against it. The same compile over
 * altered documents shows what the check catches: a route gone, a query parameter gone, a documented
 * response that no longer fits what the console reads, a call to a route the document lacks.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OpenAPI3 } from 'openapi-typescript';
import { OPENAPI_TYPES_FILE, fetchOpenApiDocument, openApiTypes } from '../scripts/openapi-types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPES = resolve(ROOT, OPENAPI_TYPES_FILE);
const CLIENT = resolve(ROOT, 'console/src/api/client.ts');
const PROBE = resolve(ROOT, 'console/src/api/probe.ts');

const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'console/tsconfig.json'), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
if (!config) throw new Error('console/tsconfig.json unreadable');
const cache = new Map<string, ts.SourceFile | undefined>();

/** Type errors of the console's client (and `extra` files) with `files` in place of what is on disk. */
function compileConsole(files: Record<string, string>, extra: string[] = []): string[] {
  const host = ts.createCompilerHost(config!.options);
  const read = host.getSourceFile.bind(host);
  host.fileExists = (f) => resolve(f) in files || ts.sys.fileExists(f);
  host.readFile = (f) => files[resolve(f)] ?? ts.sys.readFile(f);
  host.getSourceFile = (f, lang, ...rest) => {
    const text = files[resolve(f)];
    if (text !== undefined) return ts.createSourceFile(f, text, lang);
    if (!cache.has(f)) cache.set(f, read(f, lang, ...rest));
    return cache.get(f);
  };
  const program = ts.createProgram({ rootNames: [CLIENT, ...extra], options: config!.options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file
      ? `${d.file.fileName.slice(ROOT.length)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

let doc: OpenAPI3;
let committed: string;
beforeAll(async () => {
  doc = await fetchOpenApiDocument(ROOT);
  committed = readFileSync(TYPES, 'utf8');
}, 60_000);

/** The console's client compiled against the types generated from an altered copy of the document. */
async function compileAgainst(alter: (doc: any) => void, extra: Record<string, string> = {}) {
  const altered = structuredClone(doc) as any;
  alter(altered);
  return compileConsole({ [TYPES]: await openApiTypes(altered), ...extra }, Object.keys(extra));
}

describe('typed client generated from the OpenAPI document', () => {
  it('the committed openapi.d.ts is what the live document generates (else: npm run openapi:types)', async () => {
    const fresh = await openApiTypes(doc);
    expect(fresh.startsWith('/**\n * GENERATED')).toBe(true);
    expect(fresh, `${OPENAPI_TYPES_FILE} is stale: run npm run openapi:types and commit it`).toBe(committed);
    // Every path the server documents is in the generated `paths`.
    for (const path of Object.keys(doc.paths ?? {})) expect(committed).toContain(`"${path}": {`);
  });

  it('the console’s client compiles against the generated types', () => {
    expect(compileConsole({})).toEqual([]);
  }, 60_000);

  it('fails when a route the console calls is gone, or no longer answers its method', async () => {
    const gone = await compileAgainst((d) => delete d.paths['/tasker/bulk-actions/{id}/stop']);
    expect(gone.join('\n')).toMatch(
      /routes\.ts:\d+ .*"POST \/bulk-actions\/\{id\}\/stop".*constraint 'true'/,
    );

    const moved = await compileAgainst((d) => {
      d.paths['/tasker/tasks/{id}/retry'].put = d.paths['/tasker/tasks/{id}/retry'].post;
      delete d.paths['/tasker/tasks/{id}/retry'].post;
    });
    expect(moved.join('\n')).toContain('"POST /tasks/{id}/retry"');
  }, 60_000);

  it('fails when a query parameter the console sends is gone', async () => {
    const errors = await compileAgainst((d) => {
      const op = d.paths['/tasker/tasks'].get;
      op.parameters = op.parameters.filter((p: { name: string }) => p.name !== 'tag');
    });
    // TaskQuery is passed whole: its own check names the key.
    expect(errors.join('\n')).toMatch(/client\.ts:\d+ Type '"tag"' does not satisfy the constraint 'true'/);

    const inline = await compileAgainst((d) => {
      const op = d.paths['/tasker/analytics/throughput'].get;
      op.parameters = op.parameters.filter((p: { name: string }) => p.name !== 'bucket');
    });
    expect(inline.join('\n')).toMatch(/client\.ts:\d+ .*'bucket' does not exist/);
  }, 60_000);

  it('fails when a body the console sends no longer fits', async () => {
    const errors = await compileAgainst((d) => {
      const schema =
        d.paths['/tasker/bulk-actions/{id}/stop'].post.requestBody.content['application/json'].schema;
      schema.properties = { reason: { type: 'integer' } };
    });
    expect(errors.join('\n')).toMatch(/client\.ts:\d+ Type 'string' is not assignable to type 'number'/);
  }, 60_000);

  it('checks a documented response against the type the console reads', async () => {
    // The document has no response schemas yet (routes.ts: LOOSE); with one, the shape is checked.
    const whoami = (schema: object) => (d: any) => {
      d.paths['/tasker/whoami'].get.responses['200'] = {
        description: 'OK',
        content: { 'application/json': { schema } },
      };
    };
    const principal = {
      type: 'object',
      required: ['name', 'scopes', 'namespaces', 'auth_required'],
      properties: {
        name: { type: 'string' },
        scopes: { type: 'array', items: { type: 'string' } },
        namespaces: { type: 'array', items: { type: 'string' }, nullable: true },
        auth_required: { type: 'boolean' },
        trace_url: { type: 'string', nullable: true },
      },
    };
    expect(await compileAgainst(whoami(principal))).toEqual([]);

    // `scopes` no longer sent: the console reads it.
    const missing = structuredClone(principal);
    missing.required = ['name', 'namespaces', 'auth_required'];
    delete (missing.properties as Record<string, unknown>).scopes;
    const errors = (await compileAgainst(whoami(missing))).join('\n');
    expect(errors).toMatch(/routes\.ts:\d+ Type 'Served' does not satisfy the constraint 'ConsoleRoutes'/);
    expect(errors).toContain(`Types of property ''GET /whoami'' are incompatible`);
    expect(errors).toContain(`Property 'scopes' is missing`);

    // A field the console reads as a string, now a number.
    const retyped = structuredClone(principal);
    retyped.properties.name = { type: 'integer' };
    expect((await compileAgainst(whoami(retyped))).join('\n')).toMatch(
      /types of ''GET \/whoami'\.name' are incompatible[^]*Type 'number' is not assignable to type 'string'/,
    );
  }, 60_000);

  it('refuses a call to a route, parameter or body the document lacks', () => {
    const probe = `import { request } from './client';
void request('GET /taskz', { signal: undefined });
void request('GET /tasks', { query: { statuz: ['failed'] } });
void request('GET /tasks/{id}', { params: { task: 'x' } });
void request('POST /tasks/{id}/cancel', { params: { id: 'x' }, body: { reason: 1 } });
`;
    const errors = compileConsole({ [PROBE]: probe }, [PROBE]);
    const at = (line: number) => errors.filter((e) => e.startsWith(`console/src/api/probe.ts:${line} `));
    expect(at(2).join()).toContain(
      `'"GET /taskz"' is not assignable to parameter of type 'keyof ConsoleRoutes'`,
    );
    expect(at(3).join()).toContain(`'statuz' does not exist`);
    expect(at(4).join()).toContain(`'task' does not exist`);
    expect(at(5).join()).toContain(`Type 'number' is not assignable to type 'string'`);
    expect(errors).toHaveLength(4);
  }, 60_000);
});
