/**
 * The HTTP API and the console, apart from the engine (`tasker-engine/fastify`), so the engine never
 * imports them: `app.register(taskerPlugin(tasker), { prefix: '/tasker' })` in a Fastify app, or
 * `app.use(await createNodeHandler(tasker, { prefix: '/tasker' }))` in Express, Koa, NestJS or node:http.
 */
export { taskerPlugin, type ApiOptions } from './api/plugin.js';
export { createNodeHandler, type HandlerOptions, type NodeHandler } from './api/node-handler.js';
export { buildServer, serve, type ServerOptions } from './api/server.js';
