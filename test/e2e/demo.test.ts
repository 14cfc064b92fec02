import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startS3rver } from '../../local/emulators.js';
import { listMessages } from '../../local/outbox.js';
import type { ReleaseView } from '../../functions/lib/store/records.js';
import { runCli } from '../helpers/run-cli.js';

let dataDir: string;

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start -- --approve-as lead@example.com --json', () => {
  it('releases the example service, exits 0, and prints the final record as the last line', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-demo-'));
    const { code, stdout, stderr } = await runCli(['demo', '--approve-as', 'lead@example.com', '--json', '--data-dir', dataDir], {
      // The demo may install examples/notes' dependencies (npm ci): npm keeps using this user's cache.
      env: { LOG_LEVEL: 'ERROR', HOME: process.env.HOME ?? dataDir },
    });
    expect(code, stderr).toBe(0);
    // Each release showed its API changes before it started: nothing to compare for 1.0.0, a new route in 1.1.0.
    expect(stderr).toContain('first release of greeter: no live contract to compare');
    expect(stderr).toMatch(/against greeter 1\.0\.0, live in production .*: 0 breaking[\s\S]*\+ GET \/languages: the operation was added/);

    const last = stdout.trimEnd().split('\n').at(-1)!;
    const view = JSON.parse(last) as ReleaseView;
    expect(view).toMatchObject({ service: 'greeter', version: '1.1.0', status: 'SUCCEEDED' });
    expect(view.steps.length).toBeGreaterThanOrEqual(9);
    for (const step of view.steps) {
      expect(step.status, step.step).toBe('SUCCEEDED');
      expect(step.startedAt, step.step).toMatch(/^\d{4}-/);
      expect(step.endedAt, step.step).toMatch(/^\d{4}-/);
      expect(step.durationMs, step.step).toBeTypeOf('number');
    }
    expect(view.approval?.approvedBy).toEqual(['lead@example.com']);

    // The demo's S3 data stays on disk; a fresh s3rver on it serves the release notes the record points at.
    const s3 = await startS3rver({ directory: path.join(dataDir, 's3') });
    const client = new S3Client({ endpoint: s3.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    try {
      const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(view.links!.releaseNotes)!;
      const notes = await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
      expect(notes).toContain('1.1.0');
      expect(notes).toContain(view.commit);
      expect(notes).toContain('lead@example.com');
      expect(notes).toMatch(/Features/);
      // 1.1.0 adds a route: the notes and the approval email say so, for partners.
      expect(notes).toMatch(/## API changes for partners[\s\S]*GET \/languages/);
      const emails = (await listMessages(path.join(dataDir, 'outbox'))).filter(
        (m) => m.releaseId === view.releaseId && m.kind === 'approval-request',
      );
      expect(emails.length).toBeGreaterThan(0);
      expect(emails[0].text).toMatch(/API changes for partners[\s\S]*GET \/languages/);
      const json = JSON.parse(
        await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key.replace(/\.md$/, '.json') }))).Body!.transformToString(),
      );
      expect(json.changes.groups.length).toBeGreaterThan(0);
      expect(json.tests.staging.total).toBeGreaterThan(0);
      expect(json.tests.production.failed).toBe(0);
      expect(json.approvals[0].approver).toBe('lead@example.com');
    } finally {
      client.destroy();
      await s3.close();
    }
  }, 150_000);
});
