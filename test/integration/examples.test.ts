import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { parseConventionalCommit } from '../../functions/lib/conventional-commits.js';
import { parsePostmanCollection, type PostmanItem } from '../../functions/lib/postman.js';
import { ChangeSchema } from '../../functions/lib/release-request.js';
import {
  GREETER_VERSIONS,
  greeterFile,
  startGreeter,
  type GreeterVersion,
  type RunningGreeter,
} from '../../examples/greeter/start-greeter.js';

const examplesFile = (p: string) => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));
const running: RunningGreeter[] = [];

async function start(version: GreeterVersion, env?: Record<string, string>): Promise<RunningGreeter> {
  const g = await startGreeter(version, { env });
  running.push(g);
  return g;
}

async function get(base: string, path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

afterAll(async () => {
  await Promise.all(running.map((g) => g.stop()));
});

describe('greeter 1.0.0', () => {
  let g: RunningGreeter;
  beforeAll(async () => {
    g = await start('1.0.0');
  });

  it('is healthy and tells its version', async () => {
    expect(await get(g.url, '/health')).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: { status: 'ok', version: '1.0.0' },
    });
  });

  it('greets by name, letters of any script', async () => {
    expect((await get(g.url, '/greetings/Ada')).body).toEqual({ message: 'Hello, Ada!', version: '1.0.0' });
    expect((await get(g.url, `/greetings/${encodeURIComponent('Zoë')}`)).body.message).toBe('Hello, Zoë!');
    expect((await get(g.url, `/greetings/${'a'.repeat(64)}`)).status).toBe(200);
  });

  it('answers 400 JSON for a name that is not 1 to 64 letters, or a malformed escape', async () => {
    for (const bad of ['R2D2', 'a'.repeat(65), 'Ada%20Lovelace', '%E0%A4%A', 'x_y']) {
      const res = await get(g.url, `/greetings/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body, bad).toEqual({ error: { code: 'VALIDATION_ERROR', message: 'name must be 1 to 64 letters' } });
    }
  });

  it('answers 404 JSON elsewhere, including routes 1.1.0 adds, and 405 for other methods', async () => {
    for (const path of ['/', '/greetings', '/greetings/Ada/extra', '/languages']) {
      const res = await get(g.url, path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('NOT_FOUND');
    }
    const post = await get(g.url, '/greetings/Ada', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('ignores a lang parameter it does not know about', async () => {
    expect((await get(g.url, '/greetings/Ada?lang=fr')).body.message).toBe('Hello, Ada!');
  });
});

describe('greeter 1.1.0', () => {
  let g: RunningGreeter;
  beforeAll(async () => {
    g = await start('1.1.0');
  });

  it('keeps every 1.0.0 answer', async () => {
    expect((await get(g.url, '/health')).body).toEqual({ status: 'ok', version: '1.1.0' });
    expect((await get(g.url, '/greetings/Ada')).body).toEqual({ message: 'Hello, Ada!', lang: 'en', version: '1.1.0' });
    expect((await get(g.url, '/greetings/R2D2')).status).toBe(400);
    expect((await get(g.url, '/nope')).status).toBe(404);
  });

  it('greets in French and Spanish and rejects other languages', async () => {
    expect((await get(g.url, '/greetings/Ada?lang=fr')).body).toEqual({ message: 'Bonjour, Ada!', lang: 'fr', version: '1.1.0' });
    expect((await get(g.url, '/greetings/Ada?lang=es')).body.message).toBe('¡Hola, Ada!');
    const bad = await get(g.url, '/greetings/Ada?lang=de');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR', message: 'lang must be one of en, fr, es' } } });
  });

  it('lists its languages', async () => {
    expect((await get(g.url, '/languages')).body).toEqual({
      languages: [
        { code: 'en', name: 'English' },
        { code: 'fr', name: 'Français' },
        { code: 'es', name: 'Español' },
      ],
      default: 'en',
      version: '1.1.0',
    });
  });

  it('reports SERVICE_VERSION when the provider sets it', async () => {
    const other = await start('1.1.0', { SERVICE_VERSION: '1.1.0-rc.1' });
    expect((await get(other.url, '/health')).body.version).toBe('1.1.0-rc.1');
    expect((await get(other.url, '/greetings/Ada')).body.version).toBe('1.1.0-rc.1');
    await other.stop();
    expect(other.process.exitCode ?? other.process.signalCode).not.toBeNull();
  });
});

describe('greeter 1.2.0-broken', () => {
  it('starts and is healthy, but greets wrongly', async () => {
    const g = await start('1.2.0-broken');
    expect((await get(g.url, '/health')).body).toEqual({ status: 'ok', version: '1.2.0' });
    expect((await get(g.url, '/greetings/Ada')).body.message).toBe('Goodbye, Ada!');
  });

  it('carries 1.1.0 contract and collection unchanged', async () => {
    for (const file of ['openapi.yaml', 'collection.postman.json'] as const) {
      expect(await readFile(greeterFile('1.2.0-broken', file), 'utf8'), file).toBe(await readFile(greeterFile('1.1.0', file), 'utf8'));
    }
  });
});

describe('OpenAPI contracts', () => {
  const partnerRoutes: Record<'1.0.0' | '1.1.0', string[]> = {
    '1.0.0': ['/greetings/{name}'],
    '1.1.0': ['/greetings/{name}', '/languages'],
  };

  for (const version of ['1.0.0', '1.1.0'] as const) {
    it(`${version} passes swagger-parser validation and declares only the partner routes`, async () => {
      const api = (await SwaggerParser.validate(greeterFile(version, 'openapi.yaml'))) as {
        openapi: string;
        info: { version: string };
        paths: Record<string, unknown>;
        components: { securitySchemes: Record<string, { type: string; in: string; name: string }> };
      };
      expect(api.openapi).toMatch(/^3\.0\./);
      expect(api.info.version).toBe(version);
      expect(Object.keys(api.paths).sort()).toEqual(partnerRoutes[version]);
      expect(api.paths).not.toHaveProperty('/health');
      expect(Object.values(api.components.securitySchemes)).toContainEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    });

    it(`${version} serves every route its contract declares`, async () => {
      const g = await start(version);
      for (const route of partnerRoutes[version]) {
        const res = await get(g.url, route.replace('{name}', 'Ada'));
        expect(res.status, route).toBe(200);
      }
    });
  }
});

describe('Postman collections', () => {
  const requests = (items: PostmanItem[]): PostmanItem[] =>
    items.flatMap((i) => [...(i.request !== undefined ? [i] : []), ...requests(i.item ?? [])]);

  for (const version of GREETER_VERSIONS) {
    it(`${version} is a v2.1 collection whose every request uses {{baseUrl}}, sends x-api-key and tests something`, async () => {
      const collection = parsePostmanCollection(await readFile(greeterFile(version, 'collection.postman.json'), 'utf8'));
      expect(collection.info.schema).toBe('https://schema.getpostman.com/json/collection/v2.1.0/collection.json');
      const reqs = requests(collection.item);
      expect(reqs.length).toBeGreaterThan(0);
      for (const item of reqs) {
        const request = item.request as { url: { raw: string }; header: Array<{ key: string; value: string }> };
        expect(request.url.raw.startsWith('{{baseUrl}}/'), item.name).toBe(true);
        expect(request.header, item.name).toContainEqual(expect.objectContaining({ key: 'x-api-key', value: '{{apiKey}}' }));
        const tests = JSON.stringify(item.event ?? []);
        expect(tests, item.name).toContain('pm.test(');
        expect(tests, item.name).toMatch(/to\.have\.status\((200|400)\)/);
      }
    });
  }
});

describe('demo data', () => {
  it('examples/catalog.json is a valid catalog with the demo settings', async () => {
    const catalog = parseCatalog(JSON.parse(await readFile(examplesFile('catalog.json'), 'utf8')), 'examples/catalog.json');
    const greeter = catalog.services.greeter!;
    expect(greeter).toMatchObject({
      approvers: ['lead@example.com', 'qa@example.com'],
      requiredApprovals: 1,
      triggeredBy: ['ci@example.com'],
      approvalTimeoutSeconds: 3600,
      staging: { type: 'local-process', healthPath: '/health' },
      production: { type: 'local-process', healthPath: '/health' },
      interop: { enabled: true, apiKeyRequired: true, apiKeys: ['partner-demo'], stage: 'v1' },
    });
  });

  it('changes-1.1.0.json is a list of valid conventional-commit changes', async () => {
    const changes = JSON.parse(await readFile(examplesFile('greeter/changes-1.1.0.json'), 'utf8')) as unknown[];
    expect(changes.length).toBeGreaterThan(0);
    const types = new Set<string>();
    for (const change of changes) {
      const parsed = ChangeSchema.parse(change);
      const commit = parseConventionalCommit(parsed.title);
      expect(commit.conventional, parsed.title).toBe(true);
      types.add(commit.type);
    }
    expect([...types]).toEqual(expect.arrayContaining(['feat', 'fix', 'docs', 'chore']));
  });
});
