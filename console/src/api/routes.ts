/**
 * Every route the console calls, checked at compile time against `paths` in openapi.d.ts: the types
 * openapi-typescript generates from the server's own OpenAPI document (`npm run openapi:types`;
 * test/openapi-client.test.ts fails while that file is stale). client.ts can only call a route listed here,
 * and takes its method, path parameters, query parameters and body from the document, so `tsc -p
 * console/tsconfig.json` fails when
 * - a route the console calls is gone from the document, or no longer answers that method;
 * - a query parameter the console sends is gone (the server refuses unknown ones with 400), or a body the
 *   console sends no longer fits the route's body schema;
 * - a route's documented success response no longer fits the type the console reads (ConsoleRoutes).
 *
 * LOOSE: the document gives no response schema for any of these routes yet (every operation answers
 * `200: {description: OK}` with no content), so the last check has nothing to compare for now: each route
 * keeps its hand-written type from types.ts, and only its method and path, parameters and body are checked.
 * Once a route declares `schema.response`, its documented response must be assignable to the console's type
 * (see `Served` below) with no change here. `LooseRoutes` lists the routes still unchecked.
 */
import type { paths } from './openapi';
import type * as T from './types';

/** The document's paths are under the server's default prefix; the console calls its own (config.api). */
type Prefix = '/tasker';

/** `METHOD /path` as the document spells the path under the prefix (`{id}` for a path parameter). */
export interface ConsoleRoutes {
  'GET /whoami': T.Principal;
  /** Also read from a 503 (an unhealthy report): the document lists neither answer's schema. */
  'GET /health': T.HealthReport;
  'GET /tasks': T.TaskPage;
  'GET /tasks/{id}': T.TaskDetail;
  'GET /tasks/{id}/transitions': T.TransitionList;
  'GET /tasks/{id}/compare': T.TaskCompare;
  'POST /tasks/{id}/retry': T.TaskDetail;
  'POST /tasks/{id}/cancel': T.TaskDetail;
  'POST /tasks/{id}/steps/{step}/resolve': T.TaskDetail;
  'GET /analytics/throughput': T.Throughput;
  'GET /analytics/bottlenecks': T.Bottlenecks;
  'GET /analytics/business-impact': T.BusinessImpact;
  'GET /analytics/failure-groups': T.FailureGroups;
  'GET /analytics/failure-groups/{fingerprint}': T.FailureGroupDetail;
  'GET /handlers': T.HandlerList;
  'GET /workers': T.WorkerList;
  /** A dry run answers the preview (200), a real run `{job}` (202). */
  'POST /bulk-actions': T.BulkDryRun | { job: T.BulkJob };
  'GET /bulk-actions': T.BulkJobList;
  'GET /bulk-actions/{id}': T.BulkJobDetail;
  'POST /bulk-actions/{id}/stop': { job: T.BulkJob };
  'GET /audit': T.AuditPage;
  /** Server-Sent Events, read by live/stream.ts: no JSON answer to check. */
  'GET /stream': unknown;
}

export type RouteKey = keyof ConsoleRoutes;

type MethodOf<K> = K extends `${infer M} /${string}` ? Lowercase<M> : never;
type DocPath<K> = K extends `${string} /${infer P}` ? `${Prefix}/${P}` : never;

/** The document's operation for a route, or never when it has no such path with that method. */
export type Operation<K extends RouteKey> =
  DocPath<K> extends infer P extends keyof paths
    ? MethodOf<K> extends infer M extends keyof paths[P]
      ? NonNullable<paths[P][M]>
      : never
    : never;

type ParamNames<P> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;
/** The route's path parameters, by the names in its path. */
export type PathParams<K extends RouteKey> = Record<ParamNames<K>, string>;

type ReadonlyArrays<V> = V extends (infer E)[] ? readonly E[] : V;
/** The route's query parameters as the document lists them (arrays may be read-only). */
export type RouteQuery<K extends RouteKey> =
  Operation<K> extends { parameters: { query?: infer Q } }
    ? [NonNullable<Q>] extends [never]
      ? never
      : { [P in keyof NonNullable<Q>]?: ReadonlyArrays<NonNullable<Q>[P]> }
    : never;

/** The route's JSON body as the document describes it; never for a route without one. */
export type RouteBody<K extends RouteKey> =
  Operation<K> extends { requestBody?: infer B }
    ? [NonNullable<B>] extends [never]
      ? never
      : NonNullable<B> extends { content: { 'application/json': infer J } }
        ? J
        : never
    : never;

type SuccessCode = 200 | 201 | 202 | 203 | 206;
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
/** What the document says a route answers on success; never when it gives no JSON schema (LOOSE). */
export type Documented<K extends RouteKey> =
  Operation<K> extends { responses: infer R }
    ? { [C in keyof R & SuccessCode]: Json<R[C]> }[keyof R & SuccessCode]
    : never;

/** Routes whose success response the document does not describe: only method, path and inputs checked. */
export type LooseRoutes = { [K in RouteKey]: [Documented<K>] extends [never] ? K : never }[RouteKey];

/** `true`, or the names of what is wrong: the compile error then names them. */
type Expect<T extends true> = T;
/** Holds when A is assignable to B; the compile error otherwise says which property differs. */
type Fits<A extends B, B> = A;

/** Routes the console calls that the document lacks (gone, renamed, or no longer with that method). */
type Undocumented = { [K in RouteKey]: [Operation<K>] extends [never] ? K : never }[RouteKey];
type _EveryRouteIsDocumented = Expect<[Undocumented] extends [never] ? true : Undocumented>;

/** What the server is documented to answer, or (LOOSE) what the console assumes it does. */
type Served = { [K in RouteKey]: [Documented<K>] extends [never] ? ConsoleRoutes[K] : Documented<K> };
type _ServedFitsConsole = Fits<Served, ConsoleRoutes>;

type QueryKeys<K extends RouteKey> = [RouteQuery<K>] extends [never] ? never : keyof RouteQuery<K>;
/**
 * The query keys of Q that the route does not document: `true` when there are none. For query objects
 * passed whole (spread), which escape the excess-property check a literal gets.
 */
export type OnlyDocumentedQuery<Q, K extends RouteKey> = [Exclude<keyof Q, QueryKeys<K>>] extends [never]
  ? true
  : Exclude<keyof Q, QueryKeys<K>>;
export type { Expect as ExpectTrue, Fits as Assignable };
