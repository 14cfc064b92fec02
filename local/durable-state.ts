import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { portIsFree } from '../functions/lib/deploy/loopback-port.js';

/**
 * What the embedded stack keeps under its data directory so that a restart of `launchway dev` finds its records,
 * artifacts, approvals, gateway routes and live versions again, and the links it sent out keep working.
 */
export const STATE_PATHS = {
  /** dynalite's LevelDB files: releases, steps, approvals, locks, what is live. */
  dynamodb: 'dynamodb',
  /** s3rver's objects: artifacts, catalog, reports, notes. */
  s3: 's3',
  outbox: 'outbox',
  /** One directory per running version of a local-process target. */
  targets: 'targets',
  gateway: 'gateway.json',
  /** The HMAC secret that signs approval links (mode 0600). */
  signingSecret: 'approval-signing-secret',
  ports: 'ports.json',
} as const;

/** The file a user creates (mode 0600) for the secrets the catalog names; never created or removed by the stack. */
export const SECRETS_FILE_NAME = 'secrets.json';

export const SERVER_NAMES = ['sfn', 'dynamodb', 's3', 'approval', 'gateway', 'lambda'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];
export type Ports = Partial<Record<ServerName, number>>;

/** Removes everything the stack keeps (not the user's secrets file), for a clean start. */
export async function clearState(dataDir: string): Promise<void> {
  for (const entry of Object.values(STATE_PATHS)) await rm(path.join(dataDir, entry), { recursive: true, force: true });
}

/**
 * The approval signing secret: read from its file, or created once with mode 0600. A new secret would void every
 * approval link already emailed, so it lives as long as the data directory.
 */
export async function signingSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, STATE_PATHS.signingSecret);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(text)) return text;
    throw new Error(`${file} does not hold a signing secret (64 hex digits); delete it or start with --fresh`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('hex');
  await mkdir(dataDir, { recursive: true });
  // `wx`: two stacks racing on one directory must not each believe their own secret.
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return secret;
}

/** The ports the last run listened on (empty when there was none or the file is unreadable). */
export async function savedPorts(dataDir: string): Promise<Ports> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dataDir, STATE_PATHS.ports), 'utf8')) as Record<string, unknown>;
    const out: Ports = {};
    for (const name of SERVER_NAMES) {
      const port = parsed[name];
      if (Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536) out[name] = port as number;
    }
    return out;
  } catch {
    return {};
  }
}

export async function savePorts(dataDir: string, ports: Record<ServerName, number>): Promise<void> {
  await writeFile(path.join(dataDir, STATE_PATHS.ports), `${JSON.stringify(ports, null, 2)}\n`);
}

/**
 * The port each server should listen on: the one asked for, else the one it had last time if that is free (so
 * approval links and partner URLs keep working), else 0 (a free one). A saved port that is taken is reported.
 */
export async function choosePorts(requested: Ports, saved: Ports): Promise<{ ports: Ports; notices: string[] }> {
  const ports: Ports = {};
  const notices: string[] = [];
  for (const name of SERVER_NAMES) {
    if (requested[name]) ports[name] = requested[name];
    else if (saved[name] && (await portIsFree(saved[name]))) ports[name] = saved[name];
    else {
      if (saved[name]) {
        notices.push(
          `port ${saved[name]} of the ${name} endpoint is taken: it moves to a new port (links and URLs to the old one stop working)`,
        );
      }
      ports[name] = 0;
    }
  }
  return { ports, notices };
}
