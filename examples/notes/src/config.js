import { readFileSync } from 'node:fs';

/** The service's settings, from its own environment variables. */
export function loadConfig(env = process.env) {
  const secret = env.NOTES_TOKEN_SECRET ?? '';
  if (secret.length === 0) {
    throw new ConfigError('NOTES_TOKEN_SECRET is not set: notes signs session tokens with it and will not start without one');
  }
  if (secret.length < 16) throw new ConfigError('NOTES_TOKEN_SECRET is too short: use at least 16 characters');
  const port = Number(env.NOTES_PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`NOTES_PORT must be a port number, got "${env.NOTES_PORT}"`);
  return {
    port,
    host: env.NOTES_HOST || '127.0.0.1',
    tokenSecret: secret,
    tokenTtlSeconds: Number(env.NOTES_TOKEN_TTL_SECONDS ?? 3600),
    logLevel: env.NOTES_LOG_LEVEL || 'info',
    version: packageVersion(),
  };
}

/** A setting the service cannot run with; server.js prints the message and exits 1. */
export class ConfigError extends Error {}

/** The version is the package's: bumping package.json is the release. */
function packageVersion() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return pkg.version;
}
