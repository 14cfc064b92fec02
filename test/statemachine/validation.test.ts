import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, s3Client, sfnClient } from '../../functions/lib/clients.js';
import { ValidationError } from '../../functions/lib/errors.js';
import { startRelease } from '../../cli/release-client.js';
import { example, service, startTestStack, type TestStack } from '../helpers/pipeline.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ greeter: service() });
}, 60_000);
afterAll(async () => stack?.stopAll());

const good = () => ({
  service: 'greeter',
  version: '1.0.0',
  commit: 'abc1234',
  triggeredBy: 'ci@example.com',
  bundle: example('1.0.0', 'service.mjs'),
  collection: example('1.0.0', 'collection.postman.json'),
  openapi: example('1.0.0', 'openapi.yaml'),
  changesFile: undefined as string | undefined,
  artifact: undefined as string | undefined,
  environment: undefined as string | undefined,
});

async function uploadedKeys(): Promise<string[]> {
  const out = await s3Client().send(new ListObjectsV2Command({ Bucket: process.env.ARTIFACTS_BUCKET!, Prefix: 'releases/' }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

async function executionCount(): Promise<number> {
  const out = await sfnClient().send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }));
  return out.executions!.length;
}

describe('launchway release stops bad input before anything starts', () => {
  const cases: [string, (o: ReturnType<typeof good>) => Promise<void> | void, string, RegExp][] = [
    ['an unknown service', (o) => void (o.service = 'nope'), 'service', /not in it/],
    ['a malformed version', (o) => void (o.version = '1.0'), 'version', /semantic version/],
    ['a missing artifact', (o) => void (o.bundle = '/nonexistent/service.mjs'), 'artifacts.bundle', /does not exist/],
    ['both --artifact and --bundle', (o) => void (o.artifact = o.bundle), '--artifact', /give only one of --artifact or --bundle/],
    [
      'an artifact directory with nothing in it',
      async (o) => {
        o.bundle = path.join(stack.dataDir, 'empty-build');
        await mkdir(o.bundle, { recursive: true });
      },
      'artifacts.bundle',
      /empty-build is empty/,
    ],
    [
      'a Postman environment without values',
      async (o) => {
        o.environment = path.join(stack.dataDir, 'local.postman_environment.json');
        await writeFile(o.environment, JSON.stringify({ name: 'local', value: [] }));
      },
      'artifacts.environment',
      /expected a Postman environment: values: expected an array/,
    ],
    [
      'a file that is not a Postman collection',
      async (o) => {
        o.collection = path.join(stack.dataDir, 'not-a-collection.json');
        await writeFile(o.collection, JSON.stringify({ hello: 'world' }));
      },
      'artifacts.collection',
      /Postman/,
    ],
    [
      'an OpenAPI spec that does not parse',
      async (o) => {
        o.openapi = path.join(stack.dataDir, 'broken.yaml');
        await writeFile(o.openapi, 'openapi: 3.0.3\npaths: [unclosed\n');
      },
      'artifacts.openapi',
      /./,
    ],
    [
      'changes that make the execution input larger than 256 KiB',
      async (o) => {
        o.changesFile = path.join(stack.dataDir, 'many-changes.json');
        const title = `feat: ${'a long change title '.repeat(24)}`.slice(0, 500);
        await writeFile(o.changesFile, JSON.stringify(Array.from({ length: 500 }, () => ({ title, sha: 'a'.repeat(40) }))));
      },
      'changes',
      /execution input would be \d+ bytes and Step Functions accepts at most 262144/,
    ],
    [
      'a contract with more paths than API Gateway allows resources',
      async (o) => {
        o.openapi = path.join(stack.dataDir, 'too-many-routes.json');
        const ok = { get: { responses: { 200: { description: 'ok' } } } };
        const paths = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`/things/t${i}`, ok]));
        await writeFile(o.openapi, JSON.stringify({ openapi: '3.0.3', info: { title: 'many', version: '1' }, paths }));
      },
      'artifacts.openapi',
      /300 routes need 302 API Gateway resources.*at most 300/,
    ],
  ];
  for (const [name, mutate, field, message] of cases) {
    it(`rejects ${name}, naming ${field}`, async () => {
      const opts = good();
      await mutate(opts);
      const err = await startRelease(opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).fields[field]).toMatch(message);
      expect(await uploadedKeys()).toEqual([]);
      expect(await executionCount()).toBe(0);
    });
  }
});

describe('Prepare runs the same checks', () => {
  it('ends with ValidationError, field details on the record, and nothing else written', async () => {
    const input = {
      service: 'greeter',
      version: 'one',
      commit: 'abc1234',
      triggeredBy: 'ci@example.com',
      artifacts: { bundle: 'releases/missing.mjs', collection: 'releases/missing.json', openapi: 'releases/missing.yaml' },
    };
    const { executionArn } = await sfnClient().send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: 'invalid-release', input: JSON.stringify(input) }),
    );
    let exec: DescribeExecutionCommandOutput | undefined;
    for (let i = 0; i < 100; i++) {
      exec = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
      if (exec.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(exec).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(exec!.cause).toContain('version');

    const items = await documentClient().send(
      new QueryCommand({
        TableName: process.env.RELEASES_TABLE!,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'RELEASE#invalid-release' },
      }),
    );
    const sks = items.Items!.map((i) => i.sk).sort();
    expect(sks).toEqual(['META', 'STEP#01#Prepare']);
    const meta = items.Items!.find((i) => i.sk === 'META')!;
    expect(meta.status).toBe('FAILED');
    expect(meta.error.fields).toMatchObject({ version: expect.stringContaining('semantic version') });
    expect(meta.error.state).toBe('Prepare');
    const locks = await documentClient().send(
      new QueryCommand({
        TableName: process.env.RELEASES_TABLE!,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'LOCK#greeter' },
      }),
    );
    expect(locks.Items).toEqual([]);
  });
});
