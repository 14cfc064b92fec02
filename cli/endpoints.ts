import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where `launchway dev` writes the endpoints of the embedded stack. */
export const ENDPOINTS_FILE = path.join('.launchway', 'endpoints.env');

/**
 * Reads `.launchway/endpoints.env` into the environment, so the CLI works after `launchway dev` without `source`.
 * Only when LAUNCHWAY_STATE_MACHINE_ARN is unset: anyone pointing the CLI at AWS sets it, and a stale file from an
 * earlier embedded session must never redirect them to loopback.
 */
export function loadEndpointsEnv(file = ENDPOINTS_FILE): void {
  if (process.env.LAUNCHWAY_STATE_MACHINE_ARN || !existsSync(file)) return;
  process.stderr.write(`(using the embedded stack's endpoints from ${file})\n`);
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/.exec(line.trim());
    if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
}
