import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../functions/lib/catalog.js';
import type { ApiRoute } from '../../functions/lib/openapi.js';
import {
  API_GATEWAY_RESOURCES_PER_API,
  STEP_FUNCTIONS_INPUT_LIMIT_BYTES,
  checkExecutionInput,
  checkGatewayQuota,
  checkReleaseRecordSize,
  dynamoItemBytes,
  gatewayResourceCount,
} from '../../functions/lib/release-limits.js';
import { ReleaseRequestSchema, type Change } from '../../functions/lib/release-request.js';

const request = (changes: Change[] = []) =>
  ReleaseRequestSchema.parse({
    service: 'greeter',
    version: '1.2.0',
    commit: 'abcdef1',
    triggeredBy: 'ci@example.com',
    artifacts: { bundle: 'releases/a/service.mjs', collection: 'releases/a/c.json', openapi: 'releases/a/o.yaml' },
    changes,
  });

const service = (extra: Record<string, unknown> = {}) =>
  parseCatalog({
    services: {
      greeter: {
        approvers: ['lead@example.com'],
        staging: { type: 'local-process' },
        production: { type: 'local-process' },
        ...extra,
      },
    },
  }).services.greeter;

/** `count` changes whose titles are `titleChars` characters long. */
const changes = (count: number, titleChars = 500): Change[] =>
  Array.from({ length: count }, (_, i) => ({
    title: `feat: ${String(i).padStart(4, '0')} ${'é'.repeat(titleChars - 11)}`,
    sha: 'a'.repeat(40),
  }));

describe('checkExecutionInput', () => {
  it('accepts an input up to 256 KiB of UTF-8, measured in bytes, not characters', () => {
    const fits = JSON.stringify({ ...request(), changes: changes(200) });
    expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(STEP_FUNCTIONS_INPUT_LIMIT_BYTES);
    expect(checkExecutionInput(fits)).toEqual({});
    // 'é' is one character and two bytes: 300 such titles are under 256 K characters but over 256 KiB.
    const over = JSON.stringify(request(changes(300)));
    expect(over.length).toBeLessThan(STEP_FUNCTIONS_INPUT_LIMIT_BYTES);
    expect(Buffer.byteLength(over)).toBeGreaterThan(STEP_FUNCTIONS_INPUT_LIMIT_BYTES);
    const fields = checkExecutionInput(over);
    expect(Object.keys(fields)).toEqual(['changes']);
    expect(fields.changes).toContain(`${Buffer.byteLength(over)} bytes`);
    expect(fields.changes).toContain('262144');
    expect(fields.changes).toMatch(/300 changes take \d+\.\d KiB/);
  });

  it('names the heaviest field when it is not changes', () => {
    const input = JSON.stringify({ ...request(), branch: 'b'.repeat(STEP_FUNCTIONS_INPUT_LIMIT_BYTES) });
    expect(Object.keys(checkExecutionInput(input))).toEqual(['branch']);
  });
});

describe('checkReleaseRecordSize', () => {
  it('accepts what fits the Step Functions input, since changes are stored once', () => {
    expect(checkReleaseRecordSize(request(changes(200)), service())).toEqual({});
  });

  it('refuses changes that would push the record past its budget, naming how many and how big', () => {
    const fields = checkReleaseRecordSize(request(changes(400)), service());
    expect(Object.keys(fields)).toEqual(['changes']);
    expect(fields.changes).toMatch(/release record would be \d+\.\d KiB, \d+\.\d KiB of it 400 changes/);
    expect(fields.changes).toContain('400 KB');
  });

  it('names the catalog entry when the record is too big without any changes', () => {
    const notify = Array.from({ length: 8000 }, (_, i) => `someone-with-a-long-address-${i}@example.com`);
    const fields = checkReleaseRecordSize(request(changes(10)), service({ notify }));
    expect(Object.keys(fields)).toEqual(['service']);
  });
});

describe('dynamoItemBytes', () => {
  it('counts names and UTF-8 values, with list and map overheads', () => {
    expect(dynamoItemBytes({ a: 'xyz' })).toBe(4);
    expect(dynamoItemBytes({ a: 'é' })).toBe(3);
    expect(dynamoItemBytes({ ok: true, n: null, gone: undefined })).toBe(2 + 1 + 1 + 1);
    expect(dynamoItemBytes({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
    expect(dynamoItemBytes({ m: { k: 'v' } })).toBe(1 + 3 + 1 + 1 + 1);
    expect(dynamoItemBytes({ n: 12345 })).toBe(1 + 4);
  });
});

describe('API Gateway resources', () => {
  const routes = (paths: string[]): ApiRoute[] => paths.map((path) => ({ method: 'GET', path }));

  it('counts the root and every distinct path prefix, not methods', () => {
    expect(gatewayResourceCount(routes(['/']))).toBe(1);
    expect(gatewayResourceCount([...routes(['/a/{id}/b', '/a/{id}', '/a/c']), { method: 'POST', path: '/a/c' }])).toBe(5);
  });

  it(`accepts ${API_GATEWAY_RESOURCES_PER_API} resources and refuses one more, under artifacts.openapi`, () => {
    const paths = Array.from({ length: API_GATEWAY_RESOURCES_PER_API - 1 }, (_, i) => `/r${i}`);
    expect(checkGatewayQuota(routes(paths))).toEqual({});
    const fields = checkGatewayQuota(routes([...paths, '/one-more']));
    expect(fields['artifacts.openapi']).toContain('300 routes need 301 API Gateway resources');
    expect(fields['artifacts.openapi']).toContain('Resources per API');
  });

  it('counts the prefixes a deep path needs even with few routes', () => {
    const deep = `/${Array.from({ length: 301 }, (_, i) => `s${i}`).join('/')}`;
    expect(checkGatewayQuota(routes([deep]))['artifacts.openapi']).toContain('1 route need 302');
  });
});
