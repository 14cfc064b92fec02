import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import newman, { type NewmanRunSummary } from 'newman';
import { ensureExampleDeps } from '../../scripts/example-deps.js';
import { ROOT } from './dev-process.js';

/** examples/notes: the service shaped like a real team's (own dependencies, /api, its own variable names). */
export const NOTES_DIR = path.join(ROOT, 'examples/notes');
export const NOTES_OPENAPI = path.join(NOTES_DIR, 'openapi.yaml');
export const NOTES_COLLECTION = path.join(NOTES_DIR, 'postman/notes.postman_collection.json');

/** Installs examples/notes/node_modules on a fresh checkout (its own `npm ci`). */
export const ensureNotesDeps = () => ensureExampleDeps(NOTES_DIR);

export interface NotesProcess {
  url: string;
  child: ChildProcess;
  /** Everything the service printed so far, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs the notes service as its team runs it (`node src/server.js` in its folder) on a port it picks (NOTES_PORT=0),
 * and waits, bounded, for the address Fastify logs when it listens.
 */
export async function startNotes(env: Record<string, string>, dir = NOTES_DIR): Promise<NotesProcess> {
  const child = spawn(process.execPath, ['src/server.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH!, NOTES_PORT: '0', NOTES_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`notes did not listen within 30 s:\n${out}`)), 30_000);
    const look = () => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`notes exited ${code} before listening:\n${out}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { url, child, output: () => out, stop };
}

/** One request of a collection run and the response it got, for the contract check. */
export interface Exchanged {
  name: string;
  method: string;
  url: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Runs a Postman collection with the newman API, as the team does by hand; resolves with its summary and exchanges. */
export function runCollection(
  collection: string,
  envVar: Record<string, string>,
): Promise<{ summary: NewmanRunSummary; exchanges: Exchanged[] }> {
  const exchanges: Exchanged[] = [];
  return new Promise((resolve, reject) => {
    const run = newman.run(
      {
        collection,
        envVar: Object.entries(envVar).map(([key, value]) => ({ key, value })),
        reporters: [],
        timeoutRequest: 10_000,
      },
      (err, summary) => (err ? reject(err) : resolve({ summary, exchanges })),
    );
    run.on('request', (err: unknown, args: any) => {
      if (err || !args?.response) return;
      const headers: Record<string, string> = {};
      for (const h of args.response.headers.all()) headers[h.key.toLowerCase()] = h.value;
      exchanges.push({
        name: args.item?.name ?? '',
        method: args.request.method,
        url: args.request.url.toString(),
        status: args.response.code,
        headers,
        body: args.response.text() ?? '',
      });
    });
  });
}
