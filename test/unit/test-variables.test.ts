import { describe, expect, it } from 'vitest';
import { maskDeep, maskJsonReport, withApiKeyHeader } from '../../functions/lib/newman-reports.js';
import { maskText } from '../../functions/lib/secrets.js';
import { summarize } from '../../functions/lib/newman-summary.js';
import { describeFailure, failureText } from '../../functions/lib/pipeline/collection-run.js';
import type { PostmanCollection } from '../../functions/lib/postman.js';
import {
  type BuiltInVariables,
  expandTemplate,
  newmanVariables,
  newRunId,
  stageTests,
  type TestsCatalog,
} from '../../functions/lib/test-variables.js';

const builtIns: BuiltInVariables = {
  baseUrl: 'http://127.0.0.1:4100',
  apiKey: '',
  expectedVersion: '2.0.0',
  service: 'notes',
  releaseId: 'notes-2.0.0-abc',
  version: '2.0.0',
  stage: 'staging',
  runId: '0123456789abcdef',
};

describe('stageTests', () => {
  const catalog: TestsCatalog = {
    tests: { variables: { apiUrl: '{{baseUrl}}/api', lang: 'en' }, secretVariables: { password: { secret: 'notes/user' } } },
    staging: { tests: { variables: { lang: 'fr' } } },
    production: { tests: { secretVariables: { password: { secret: 'notes/user-prod', key: 'pw' } } } },
  };

  it("merges the service's variables with the stage's, the stage winning per name", () => {
    expect(stageTests(catalog, 'staging')).toEqual({
      variables: { apiUrl: '{{baseUrl}}/api', lang: 'fr' },
      secretVariables: { password: { secret: 'notes/user' } },
    });
    expect(stageTests(catalog, 'production')).toEqual({
      variables: { apiUrl: '{{baseUrl}}/api', lang: 'en' },
      secretVariables: { password: { secret: 'notes/user-prod', key: 'pw' } },
    });
  });

  it('gives nothing for a catalog snapshot from before tests had variables', () => {
    expect(stageTests({ staging: {}, production: {} }, 'staging')).toEqual({ variables: {}, secretVariables: {} });
  });
});

describe('expandTemplate', () => {
  it('replaces the five template names and leaves every other {{...}} for Postman', () => {
    expect(expandTemplate('{{baseUrl}}/api/{{stage}}/{{version}}/{{releaseId}}/u-{{runId}}', builtIns)).toBe(
      'http://127.0.0.1:4100/api/staging/2.0.0/notes-2.0.0-abc/u-0123456789abcdef',
    );
    expect(expandTemplate('{{token}} {{$randomInt}} {{ baseUrl }} {{apiKey}} {{service}}', builtIns)).toBe(
      '{{token}} {{$randomInt}} {{ baseUrl }} {{apiKey}} {{service}}',
    );
  });
});

describe('newmanVariables', () => {
  it('layers the environment file, the built-ins, the catalog and the secrets, later winning', () => {
    const env = newmanVariables({
      builtIns,
      file: { baseUrl: 'http://localhost:3000', apiUrl: 'http://localhost:3000/api', fromFile: 'kept', password: 'file-pw' },
      variables: { apiUrl: '{{baseUrl}}/api', user: 'user-{{runId}}@example.com', service: 'override' },
      secrets: { password: 'secret-pw' },
    });
    expect(env).toEqual({
      // A file exported from Postman may not point the release's tests at the team's localhost.
      baseUrl: 'http://127.0.0.1:4100',
      apiUrl: 'http://127.0.0.1:4100/api',
      fromFile: 'kept',
      password: 'secret-pw',
      apiKey: '',
      expectedVersion: '2.0.0',
      service: 'override',
      releaseId: 'notes-2.0.0-abc',
      version: '2.0.0',
      stage: 'staging',
      runId: '0123456789abcdef',
      user: 'user-0123456789abcdef@example.com',
    });
  });

  it('lets the catalog move baseUrl on purpose, from the built-in value', () => {
    expect(newmanVariables({ builtIns, variables: { baseUrl: '{{baseUrl}}/api' } }).baseUrl).toBe('http://127.0.0.1:4100/api');
  });

  it('makes a different run id each time, fit for a user name', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newRunId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('failure summaries', () => {
  const run = {
    executions: [
      {
        item: { name: 'Create note' },
        request: { method: 'post', url: 'http://127.0.0.1:4100/prod/api/notes?token=abc' },
        response: { code: 404 },
        assertions: [
          { assertion: 'status is 201', error: { message: 'expected response to have status code 201 but got 404' } },
          { assertion: 'has an id' },
        ],
      },
      {
        item: { name: 'List notes' },
        request: { method: 'GET', url: { toString: () => 'http://127.0.0.1:4100/prod/api/notes' } },
        requestError: { message: 'connect ECONNREFUSED 127.0.0.1:4100' },
        assertions: [],
      },
    ],
  };

  it('names the request, its method, its path without the query, and the status it got', () => {
    const result = { ...summarize(run), reportKeys: { json: 'j', junit: 'u' } };
    expect(result.failures).toEqual([
      {
        name: 'Create note',
        test: 'status is 201',
        message: 'expected response to have status code 201 but got 404',
        method: 'POST',
        path: '/prod/api/notes',
        status: 404,
      },
      { name: 'List notes', test: 'request', message: 'connect ECONNREFUSED 127.0.0.1:4100', method: 'GET', path: '/prod/api/notes' },
    ]);
    expect(failureText(result)).toBe(
      '2 of 3 assertions failed (Create note (POST /prod/api/notes → 404) › status is 201: expected response to have status code 201 ' +
        'but got 404; List notes (GET /prod/api/notes → no response) › request: connect ECONNREFUSED 127.0.0.1:4100)',
    );
  });

  it('reads as before for a failure without an exchange (a record from before, a run cut short)', () => {
    expect(describeFailure({ name: '(run)', test: 'run', message: 'Newman stopped' })).toBe('(run) › run: Newman stopped');
  });
});

describe('the API key header', () => {
  const collection: PostmanCollection = {
    info: { name: 'c', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: [
      { name: 'plain', request: '{{baseUrl}}/a' },
      {
        name: 'folder',
        item: [
          {
            name: 'own key',
            request: {
              method: 'POST',
              url: '{{baseUrl}}/b',
              header: [
                { key: 'X-Api-Key', value: '{{apiKey}}' },
                { key: 'accept', value: 'application/json' },
              ],
            },
          },
        ],
      },
    ],
  };

  it('is on every request, folders included, replacing the collection’s own', () => {
    const out = withApiKeyHeader(collection, 'key-value-1');
    const header = { key: 'x-api-key', value: 'key-value-1', type: 'text' };
    expect(out.item[0]!.request).toEqual({ url: '{{baseUrl}}/a', method: 'GET', header: [header] });
    expect(out.item[1]!.item![0]!.request).toEqual({
      method: 'POST',
      url: '{{baseUrl}}/b',
      header: [{ key: 'accept', value: 'application/json' }, header],
    });
    // The parsed collection is left as it was.
    expect(collection.item[0]!.request).toBe('{{baseUrl}}/a');
  });
});

describe('masking', () => {
  const secret = 'p"w<&>d 1';

  it('masks a secret in a JSON report in text, escaped, percent-encoded and inside Buffer bodies', () => {
    const json = JSON.stringify({
      environment: { values: [{ key: 'password', value: secret }] },
      request: { url: `http://h/login?pw=${encodeURIComponent(secret)}` },
      response: { stream: { type: 'Buffer', data: [...Buffer.from(`{"echo":"${secret}"}`)] } },
      other: { stream: { type: 'Buffer', data: [...Buffer.from('unrelated')] } },
    });
    const masked = maskJsonReport(json, [secret]);
    expect(masked).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(masked).not.toContain(encodeURIComponent(secret));
    const parsed = JSON.parse(masked);
    expect(parsed.environment.values[0].value).toBe('***');
    expect(parsed.request.url).toBe('http://h/login?pw=***');
    expect(Buffer.from(parsed.response.stream.data).toString()).toBe('{"echo":"***"}');
    expect(Buffer.from(parsed.other.stream.data).toString()).toBe('unrelated');
  });

  it('masks strings and keys only, so a secret like 1234 or true leaves numbers, literals and the JSON intact', () => {
    const json = JSON.stringify({ timings: { total: 1234, dns: 12345 }, ok: true, code: 200, body: 'pin 1234', h: { '1234': 'x' } });
    const masked = maskJsonReport(json, ['1234', 'true']);
    expect(JSON.parse(masked)).toEqual({ timings: { total: 1234, dns: 12345 }, ok: true, code: 200, body: 'pin ***', h: { '***': 'x' } });
  });

  it('masks a secret inside Basic, Proxy-Authorization and cookie headers, base64 or percent-encoded', () => {
    const pw = 'hunter2-Secret';
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const header = [
      { key: 'Authorization', value: `Basic ${b64(`svc:${pw}`)}` },
      { key: 'Proxy-Authorization', value: `Basic ${b64(`proxy:${pw}`)}` },
      { key: 'Cookie', value: `theme=dark; sid=${encodeURIComponent(b64(pw))}; other=${pw}` },
      { key: 'Authorization', value: 'Basic c3ZjOnB1YmxpYw==' },
    ];
    const response = { header: [{ key: 'Set-Cookie', value: `sid=${b64(`s:${pw}`)}; Path=/; HttpOnly` }] };
    const masked = JSON.parse(maskJsonReport(JSON.stringify({ request: { header }, response }), [pw]));
    expect(masked.request.header).toEqual([
      { key: 'Authorization', value: 'Basic ***' },
      { key: 'Proxy-Authorization', value: 'Basic ***' },
      { key: 'Cookie', value: 'theme=dark; sid=***; other=***' },
      // A credential without a secret in it is left alone.
      { key: 'Authorization', value: 'Basic c3ZjOnB1YmxpYw==' },
    ]);
    expect(masked.response.header).toEqual([{ key: 'Set-Cookie', value: 'sid=***; Path=/; HttpOnly' }]);
  });

  it('masks XML-escaped text and every string of a result', () => {
    expect(maskText('<failure message="expected \'p&quot;w&lt;&amp;&gt;d 1\'"/>', [secret])).toBe('<failure message="expected \'***\'"/>');
    expect(maskDeep({ failures: [{ message: `got ${secret}`, status: 200 }] }, [secret])).toEqual({
      failures: [{ message: 'got ***', status: 200 }],
    });
  });
});
