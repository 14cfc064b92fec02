import { readdir } from 'node:fs/promises';
import Fastify from 'fastify';
import { createTokens } from './auth.js';
import { createDb } from './db.js';
import { errorHandler, notFoundHandler } from './errors.js';

const ROUTES_DIR = new URL('./routes/', import.meta.url);

/**
 * The HTTP application: every module in src/routes/ is a Fastify plugin mounted under /api. Adding a file there
 * adds its routes; nothing else lists them.
 */
export async function buildApp(config) {
  const app = Fastify({ logger: { level: config.logLevel } });
  const deps = { config, db: createDb(), tokens: createTokens(config.tokenSecret, config.tokenTtlSeconds) };
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  const files = (await readdir(ROUTES_DIR)).filter((f) => f.endsWith('.js')).sort();
  for (const file of files) {
    const { default: routes } = await import(new URL(file, ROUTES_DIR).href);
    await app.register(routes, { prefix: '/api', ...deps });
  }
  return app;
}
