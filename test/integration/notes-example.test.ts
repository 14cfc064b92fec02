import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { ContractChecker } from '../../functions/lib/contract/conformance.js';
import { parseOpenApi } from '../../functions/lib/openapi.js';
import { parsePostmanCollection } from '../../functions/lib/postman.js';
import { ROOT } from '../helpers/dev-process.js';
import {
  ensureNotesDeps,
  NOTES_COLLECTION,
  NOTES_DIR,
  NOTES_OPENAPI,
  type NotesProcess,
  runCollection,
  startNotes,
} from '../helpers/notes-service.js';

/**
 * examples/notes as its own team uses it, without Launchway: the service run by hand with its own variables, its
 * Postman collection run against it, every response checked against its OpenAPI contract with the checker the
 * pipeline uses. What the e2e release test (test/e2e/notes-release.test.ts) builds on.
 */
const SECRET = 'notes-example-secret-7d1f0c9a4b';
const VERSION = JSON.parse(readFileSync(`${NOTES_DIR}/package.json`, 'utf8')).version as string;
let notes: NotesProcess;

beforeAll(async () => {
  await ensureNotesDeps();
  notes = await startNotes({ NOTES_TOKEN_SECRET: SECRET });
}, 300_000);

afterAll(async () => {
  await notes?.stop();
});

describe('the notes service', () => {
  it('refuses to start without NOTES_TOKEN_SECRET: exit 1, saying which variable', async () => {
    const child = spawn(process.execPath, ['src/server.js'], {
      cwd: NOTES_DIR,
      env: { PATH: process.env.PATH!, NOTES_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(stderr).toContain('NOTES_TOKEN_SECRET is not set');
  });

  it('answers under /api only: GET /api/status names its package.json version, /health is a 404', async () => {
    const status = await fetch(`${notes.url}/api/status`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ service: 'notes', status: 'ok', version: VERSION });
    expect((await fetch(`${notes.url}/health`)).status).toBe(404);
    expect((await fetch(`${notes.url}/status`)).status).toBe(404);
  });

  it("passes its team's collection twice in a row (a new user each run), every response as its contract says", async () => {
    const { document } = await parseOpenApi(await readFile(NOTES_OPENAPI, 'utf8'));
    const checker = await ContractChecker.create(document);
    for (let run = 1; run <= 2; run++) {
      const { summary, exchanges } = await runCollection(NOTES_COLLECTION, { notesApi: `${notes.url}/api` });
      const failures = summary.run.failures.map((f) => `${f.source?.name}: ${f.error?.message}`);
      expect(failures, `run ${run}`).toEqual([]);
      expect(summary.run.stats.assertions.total).toBeGreaterThanOrEqual(40);
      expect(summary.run.stats.requests.total).toBe(17);
      for (const exchange of exchanges) {
        const outcome = checker.check(exchange, notes.url);
        expect(outcome, `${exchange.method} ${exchange.url}`).toEqual({ operation: expect.any(String), violations: [] });
      }
    }
  }, 60_000);

  it('never prints its secret', () => {
    expect(notes.output()).toContain('Server listening at');
    expect(notes.output()).not.toContain(SECRET);
  });
});

describe("the notes team's files", () => {
  it('the contract is OpenAPI 3.1 with /api in servers and paths without it', async () => {
    const spec = parse(await readFile(NOTES_OPENAPI, 'utf8'));
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect(new URL(spec.servers[0].url).pathname).toBe('/api');
    expect(Object.keys(spec.paths).every((p) => !p.startsWith('/api'))).toBe(true);
    expect(spec.paths['/health']).toBeUndefined();
  });

  it('the collection is Postman v2.1 on its own {{notesApi}}, with nothing Launchway-specific', async () => {
    const text = await readFile(NOTES_COLLECTION, 'utf8');
    const collection = parsePostmanCollection(text);
    expect(collection.info.schema).toBe('https://schema.getpostman.com/json/collection/v2.1.0/collection.json');
    for (const name of ['baseUrl', 'apiKey', 'expectedVersion', 'x-api-key', 'releaseId', 'runId']) expect(text).not.toContain(name);
    const urls = [...text.matchAll(/"raw": "(\{\{[^"]*)"/g)].map((m) => m[1]);
    expect(urls).toHaveLength(17);
    expect(urls.every((u) => u.startsWith('{{notesApi}}/'))).toBe(true);
  });

  it('the catalog runs it by its own names: NOTES_PORT, NOTES_HOST, /api/status, the secret by reference', async () => {
    const catalog = parseCatalog(JSON.parse(await readFile(`${ROOT}/examples/catalog.json`, 'utf8')), 'examples/catalog.json');
    const service = catalog.services.notes!;
    for (const target of [service.staging, service.production]) {
      expect(target).toMatchObject({
        type: 'local-process',
        portEnv: 'NOTES_PORT',
        hostEnv: 'NOTES_HOST',
        healthPath: '/api/status',
        secretEnv: { NOTES_TOKEN_SECRET: { secret: 'notes/token' } },
      });
    }
    expect(service.tests.variables).toEqual({ notesApi: '{{baseUrl}}/api' });
    expect(service.interop).toMatchObject({ enabled: true, apiKeyRequired: true, basePath: 'prepend' });
  });
});
