import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { releaseUploadPrefix } from '../../functions/lib/bucket-layout.js';
import { s3Client, sfnClient } from '../../functions/lib/clients.js';
import { releaseIdFor, type ReleaseRequest } from '../../functions/lib/release-request.js';
import type { SmokeDetails, ValidationDetails } from '../../functions/lib/store/step-details.js';
import { type StartedRelease, stateMachineArn } from '../../cli/release-client.js';
import { decide, finish, nextCommit, service, startTestStack, step, type TestStack } from '../helpers/pipeline.js';

/**
 * A team's collection, unedited, on the real ASL in the embedded engine (issue 8, "Test variables" and "Secrets"):
 * it calls its own `{{apiUrl}}` (whose collection default points nowhere), signs up a user that must be new on every
 * run, and sends a password the catalog names as a secret. The catalog supplies all of it; the stage overrides
 * apply; the gateway's API key is sent though the collection never mentions it; the password is found in no
 * report, record, note or email.
 */
const NOTES_API = fileURLToPath(new URL('../fixtures/services/notes-api.mjs', import.meta.url));
const SECRET = `Pw-${randomBytes(12).toString('hex')}`;
const SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';

const checks = (lines: string[]) => [{ listen: 'test', script: { exec: lines } }];
const collection = {
  info: { name: 'Notes API', schema: SCHEMA },
  variable: [{ key: 'apiUrl', value: 'http://127.0.0.1:9/api' }],
  item: [
    {
      name: 'Sign up',
      request: {
        method: 'POST',
        url: '{{apiUrl}}/users',
        header: [{ key: 'content-type', value: 'application/json' }],
        body: { mode: 'raw', raw: '{"username":"{{username}}","password":"{{password}}"}' },
      },
      event: checks([
        "pm.test('status is 201', () => pm.response.to.have.status(201));",
        "pm.test('is the new user', () => pm.expect(pm.response.json().username).to.equal(pm.variables.get('username')));",
      ]),
    },
    {
      name: 'Fetch the user',
      request: { method: 'GET', url: '{{apiUrl}}/users/{{username}}' },
      event: checks(["pm.test('status is 200', () => pm.response.to.have.status(200));"]),
    },
    {
      name: 'Health',
      request: { method: 'GET', url: '{{apiUrl}}/health' },
      event: checks([
        "pm.test('status is 200', () => pm.response.to.have.status(200));",
        "pm.test('stage label', () => pm.expect(pm.variables.get('label')).to.equal(pm.variables.get('stage') + '-label'));",
        "pm.test('from the environment file', () => pm.expect(pm.variables.get('fromFile')).to.equal('file-value'));",
        "pm.test('a user per run', () => pm.expect(pm.variables.get('username')).to.match(/^user-[0-9a-f]{16}$/));",
      ]),
    },
  ],
};
const environmentFile = {
  name: 'Notes local',
  values: [
    { key: 'fromFile', value: 'file-value', enabled: true },
    { key: 'apiUrl', value: 'http://localhost:3000/api', enabled: true },
    { key: 'baseUrl', value: 'http://localhost:3000', enabled: true },
  ],
};
const openapi = [
  'openapi: 3.0.3',
  'info: { title: Notes, version: 2.0.0 }',
  'paths:',
  '  /api/health:',
  "    get: { responses: { '200': { description: ok } } }",
  '  /api/users:',
  "    post: { responses: { '201': { description: created } } }",
  '  /api/users/{username}:',
  '    get:',
  '      parameters: [{ name: username, in: path, required: true, schema: { type: string } }]',
  "      responses: { '200': { description: found } }",
].join('\n');

let stack: TestStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'launchway-test-variables-'));
  await writeFile(path.join(dir, 'password.txt'), SECRET);
  const env = { NOTES_DATA_DIR: dir, NOTES_PASSWORD_FILE: path.join(dir, 'password.txt') };
  const base = service();
  const target = base.staging as Extract<typeof base.staging, { type: 'local-process' }>;
  stack = await startTestStack({
    notes: service({
      tests: {
        contractConformance: 'off',
        variables: { apiUrl: '{{baseUrl}}/api', username: 'user-{{runId}}', label: 'default-label' },
        secretVariables: { password: { secret: 'notes/test-password' } },
      },
      staging: { ...target, healthPath: '/api/health', env, tests: { variables: { label: 'staging-label' } } },
      production: { ...target, healthPath: '/api/health', env, tests: { variables: { label: 'production-label' } } },
    }),
  });
  // The embedded stack reads its secrets from <data dir>/secrets.json (SECRETS_FILE), as `launchway dev` does.
  const secretsFile = path.join(stack.dataDir, 'secrets.json');
  await writeFile(secretsFile, JSON.stringify({ 'notes/test-password': SECRET }), { mode: 0o600 });
  await chmod(secretsFile, 0o600);
}, 60_000);

afterAll(async () => {
  await stack?.stopAll();
  await rm(dir, { recursive: true, force: true });
});

/** Uploads the files and starts the execution, as `launchway release --environment` does. */
async function release(version: string): Promise<StartedRelease> {
  const commit = nextCommit();
  const prefix = releaseUploadPrefix('notes', version, commit);
  const artifacts = new ArtifactStore(s3Client(), process.env.ARTIFACTS_BUCKET!);
  const files = {
    bundle: [`${prefix}/notes-api.mjs`, await readFile(NOTES_API)],
    collection: [`${prefix}/collection.postman.json`, JSON.stringify(collection)],
    openapi: [`${prefix}/openapi.yaml`, openapi],
    environment: [`${prefix}/notes.postman_environment.json`, JSON.stringify(environmentFile)],
  } as const;
  for (const [key, body] of Object.values(files)) await artifacts.put(key, body, 'application/octet-stream');
  const request: ReleaseRequest = {
    service: 'notes',
    version,
    commit,
    branch: 'main',
    triggeredBy: 'ci@example.com',
    artifacts: {
      bundle: files.bundle[0],
      collection: files.collection[0],
      openapi: files.openapi[0],
      environment: files.environment[0],
    },
    changes: [],
  };
  const releaseId = releaseIdFor(request);
  const out = await sfnClient().send(
    new StartExecutionCommand({ stateMachineArn: stateMachineArn(), name: releaseId, input: JSON.stringify(request) }),
  );
  return { releaseId, executionArn: out.executionArn!, started: true };
}

/** Every object in the artifacts bucket, as text. */
async function bucketText(): Promise<string[]> {
  const bucket = process.env.ARTIFACTS_BUCKET!;
  const artifacts = new ArtifactStore(s3Client(), bucket);
  const listed = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket }));
  return Promise.all((listed.Contents ?? []).map((o) => artifacts.getText(o.Key!)));
}

describe('test variables and secrets of a release', () => {
  it("runs the team's collection unedited with the catalog's variables, a new user per run and the secret masked everywhere", async () => {
    const started = await release('2.0.0');
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started, 120_000)]);
    expect(view.error).toBeUndefined();
    expect(view.status).toBe('SUCCEEDED');

    const smoke = step(view, 'SmokeTestStaging').details as SmokeDetails;
    const validation = step(view, 'ValidateProduction').details as ValidationDetails;
    for (const details of [smoke, validation]) {
      expect(details).toMatchObject({ total: 7, passed: 7, failed: 0, requests: 3, failures: [] });
    }
    // Production went through the gateway, which requires an API key the collection never sends itself.
    expect(validation.viaInterop).toBe(true);

    // Each run signed up its own user in the store both stages share; a repeated name would have been refused.
    const users = (await readFile(path.join(dir, 'users.txt'), 'utf8')).split('\n').filter(Boolean);
    expect(users).toHaveLength(2);
    expect(new Set(users).size).toBe(2);
    for (const user of users) expect(user).toMatch(/^user-[0-9a-f]{16}$/);

    // The secret reached the service (it refuses any other password) and the reports show where it was masked.
    const report = await new ArtifactStore(s3Client(), process.env.ARTIFACTS_BUCKET!).getText(smoke.reportKeys.json);
    expect(report).toContain('***');
    expect(report).not.toContain(SECRET);

    expect(JSON.stringify(view)).not.toContain(SECRET);
    const objects = await bucketText();
    expect(objects.length).toBeGreaterThan(6);
    for (const text of objects) expect(text).not.toContain(SECRET);
    for (const file of await readdir(stack.outboxDir)) {
      expect(await readFile(path.join(stack.outboxDir, file), 'utf8')).not.toContain(SECRET);
    }
  }, 150_000);
});
