import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { listMessages } from '../../local/outbox.js';
import { startRelease } from '../../cli/release-client.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { diffContracts } from '../../functions/lib/contract/diff.js';
import type { ApiChange } from '../../functions/lib/contract/rules.js';
import { parseOpenApi } from '../../functions/lib/openapi.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import {
  example,
  finish,
  nextCommit,
  releaseOf,
  service,
  startTestStack,
  step,
  waitForStatus,
  type TestStack,
} from '../helpers/pipeline.js';
import { systemTool } from '../helpers/system-tools.js';

/**
 * A person approving in a real browser: Chromium (LAUNCHWAY_CHROMIUM, else chromium or chromium-browser on PATH; the
 * file fails when it is missing) opens the Approve link from the outbox email of a real embedded release, with
 * JavaScript off, reads the page, approves by keyboard, and sees the result page; the release then goes to production.
 */

const CHROMIUM = systemTool('chromium');
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const SCREENSHOT = path.join(ARTIFACTS, 'approval-confirmation.png');
const API_CHANGES_SCREENSHOT = path.join(ARTIFACTS, 'approval-api-changes.png');
const LEAD = 'lead@example.com';
const CHANGES = [
  { title: 'feat: greet partners by name', sha: '1a2b3c4d5e6f7a8b', author: 'Dana' },
  { title: 'fix: <b>bold</b> claims in the greeting', sha: '9f8e7d6c5b4a3f2e', author: 'Eli' },
];

let stack: TestStack;
let workDir: string;
let context: BrowserContext | undefined;
/** The first release, live in production once the first test approved it: the contract 1.1.0 is compared with. */
let live: { releaseId: string; version: string } | undefined;

/** The lead's approve link for a release, from the outbox, waiting (bounded) for the email. */
async function approveLinkOf(releaseId: string): Promise<string> {
  for (let waited = 0; ; waited += 100) {
    const mail = (await listMessages(stack.outboxDir)).find((m) => m.releaseId === releaseId && m.to.includes(LEAD));
    const url = mail?.links.find((l) => l.label === 'Approve')?.url;
    if (url) return url;
    if (waited > 10_000) throw new Error(`no approval email for the lead about ${releaseId} within 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'launchway-browser-'));
  await mkdir(ARTIFACTS, { recursive: true });
  stack = await startTestStack({
    greeter: service({
      interop: {
        enabled: false,
        apiKeyRequired: false,
        apiKeys: [],
        stage: 'v1',
        breakingChanges: 'approve',
        allowBreakingOnMajor: true,
        basePath: 'prepend',
      },
      approvalReminderBeforeExpirySeconds: 0,
    }),
  });
  context = await chromium.launchPersistentContext(path.join(workDir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    // The page must work without JavaScript; the browser runs with it off.
    javaScriptEnabled: false,
    viewport: { width: 1000, height: 1400 },
    timeout: 30_000,
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await stack?.stopAll();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('approving in a browser', () => {
  it('opens the emailed Approve link, reads the release, approves by keyboard, and the release succeeds', async () => {
    const changesFile = path.join(workDir, 'changes.json');
    await writeFile(changesFile, JSON.stringify(CHANGES));
    const started = await startRelease({
      service: 'greeter',
      version: '1.0.0',
      commit: nextCommit(),
      triggeredBy: 'ci@example.com',
      bundle: example('1.0.0', 'service.mjs'),
      collection: example('1.0.0', 'collection.postman.json'),
      openapi: example('1.0.0', 'openapi.yaml'),
      changesFile,
    });
    const waiting = await waitForStatus(started.releaseId, ['AWAITING_APPROVAL']);
    const smokeStep = step(waiting, 'SmokeTestStaging').details as { total: number; passed: number; failed: number };
    expect(smokeStep.total).toBeGreaterThan(0);

    const approveUrl = await approveLinkOf(started.releaseId);

    const page = await context!.newPage();
    const response = await page.goto(approveUrl, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Approve greeter 1.0.0?');

    const row = (name: string) => page.locator('tr', { has: page.locator('th', { hasText: name }) }).locator('td');
    expect(await row('Service').innerText()).toBe('greeter');
    expect(await row('Version').innerText()).toBe('1.0.0');
    expect(await row('Triggered by').innerText()).toBe('ci@example.com');
    const changes = page.locator('#changes li');
    expect(await changes.allInnerTexts()).toEqual([
      'feat: greet partners by name (1a2b3c4d5e6f, by Dana)',
      'fix: <b>bold</b> claims in the greeting (9f8e7d6c5b4a, by Eli)',
    ]);
    const counts = page.locator('#smoke-counts');
    expect(await counts.isVisible()).toBe(true);
    expect(await counts.innerText()).toBe(`${smokeStep.passed} passed, ${smokeStep.failed} failed of ${smokeStep.total} (SUCCEEDED)`);
    expect(await page.locator('#decisions, p:has-text("No decisions yet.")').first().innerText()).toBe('No decisions yet.');

    // The JUnit report is one click away: a presigned GET that expires in minutes.
    const junit = page.getByRole('link', { name: 'JUnit report (XML)' });
    const junitHref = (await junit.getAttribute('href'))!;
    expect(new URL(junitHref).searchParams.get('X-Amz-Expires')).toBe('900');
    expect(new URL(junitHref).pathname).toMatch(/\/reports\/greeter\/.+\/junit\.xml$/);
    const report = await fetch(junitHref, { signal: AbortSignal.timeout(5000) });
    expect(report.status).toBe(200);
    expect(await report.text()).toContain('<testsuites');

    // Labelled controls: the comment box is found by its label, the buttons by their names.
    const comment = page.getByLabel('Comment (optional)');
    const approve = page.getByRole('button', { name: 'Approve greeter 1.0.0' });
    expect(await approve.isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Reject greeter 1.0.0' }).isVisible()).toBe(true);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    // By keyboard: type the comment, Tab to the Approve button, press Enter.
    await comment.focus();
    await page.keyboard.type('Looks good in the browser');
    await page.keyboard.press('Tab');
    expect(await page.locator('button:focus').innerText()).toBe('Approve greeter 1.0.0');
    const [result] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
    expect(result?.status()).toBe(200);

    expect(await page.locator('h1').innerText()).toBe(`You approved ${started.releaseId}`);
    expect(await page.locator('#outcome').innerText()).toBe('The release has all the approvals it needs and continues to production.');
    expect(await page.locator('#decisions li').first().innerText()).toMatch(
      /^lead@example\.com chose to approve at .+: “Looks good in the browser”$/,
    );
    await page.close();

    const view = await finish(started);
    expect(view.status).toBe('SUCCEEDED');
    expect(view.approval?.decisions).toEqual([
      expect.objectContaining({ approver: LEAD, decision: 'approve', comment: 'Looks good in the browser' }),
    ]);
    live = { releaseId: view.releaseId, version: view.version };
  });

  it('shows the API changes, the breaking one marked, above the buttons; the notes then carry them for partners', async () => {
    expect(live, 'the first test put 1.0.0 live').toBeDefined();
    const started = await releaseOf({ service: 'greeter', version: '1.1.0' });
    await waitForStatus(started.releaseId, ['AWAITING_APPROVAL']);

    // Prepare writes apiChanges once the contract gate is in; here the record gets them as Prepare would: the real
    // diff of the examples' contracts against the live 1.0.0, plus one breaking change so the page must mark it.
    const spec = async (version: string) => (await parseOpenApi(await readFile(example(version, 'openapi.yaml'), 'utf8'))).document;
    const removed: ApiChange = {
      severity: 'breaking',
      method: 'GET',
      path: '/greetings/{name}',
      location: 'response 200 application/json body.message',
      change: 'property `message` was removed',
      rule: 'response-property-removed',
    };
    const changes = [removed, ...(await diffContracts(await spec('1.0.0'), await spec('1.1.0')))];
    const store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
    await store.updateRelease(started.releaseId, {
      apiChanges: {
        against: live!,
        changes,
        breaking: 1,
        deprecations: 0,
        nonBreaking: changes.length - 1,
        policy: 'approve',
        ownerApprovalRequired: true,
        apiOwners: ['api-owner@example.com'],
      },
    });

    const page = await context!.newPage();
    expect((await page.goto(await approveLinkOf(started.releaseId), { waitUntil: 'load' }))?.status()).toBe(200);
    const section = page.locator('#api-changes');
    expect(await section.locator('h2').innerText()).toBe('API changes for partners');
    expect(await page.locator('#api-changes-counts').innerText()).toBe(
      '1 breaking, 0 deprecated, 3 non-breaking, against 1.0.0 in production.',
    );
    expect(await page.locator('#api-owner-approval').innerText()).toBe(
      "The breaking changes need an API owner's approval. API owners: api-owner@example.com.",
    );
    const items = section.locator('li');
    expect(await items.first().innerText()).toBe(
      'BREAKING GET /greetings/{name}: property message was removed (at response 200 application/json body.message)',
    );
    expect(await items.nth(1).innerText()).toMatch(/^Non-breaking GET \/greetings\/\{name\}: optional query parameter lang was added/);
    expect(await items.count()).toBe(4);

    // Above the buttons, as the approver reads down the page: the breaking change ends before either button begins.
    const breakingBox = (await section.locator('li[data-severity="breaking"]').boundingBox())!;
    for (const name of ['Approve greeter 1.1.0', 'Reject greeter 1.1.0']) {
      const button = page.getByRole('button', { name });
      expect(await button.isVisible()).toBe(true);
      const buttonBox = (await button.boundingBox())!;
      expect(breakingBox.y + breakingBox.height).toBeLessThan(buttonBox.y);
    }
    await page.screenshot({ path: API_CHANGES_SCREENSHOT, fullPage: true });
    expect(existsSync(API_CHANGES_SCREENSHOT)).toBe(true);

    const [result] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Approve greeter 1.1.0' }).click(),
    ]);
    expect(result?.status()).toBe(200);
    await page.close();

    const view = await finish(started);
    expect(view.status).toBe('SUCCEEDED');
    const artifacts = new ArtifactStore(s3Client(), process.env.ARTIFACTS_BUCKET!);
    const keyOf = (uri: string) => uri.replace(`s3://${artifacts.bucket}/`, '');
    expect(keyOf(view.links!.apiChanges)).toBe(`release-notes/greeter/${started.releaseId}.api-changes.md`);
    const forPartners = await artifacts.getText(keyOf(view.links!.apiChanges));
    expect(forPartners.split('\n').slice(0, 7)).toEqual([
      '# API changes for partners: greeter 1.1.0',
      '',
      'Versions compared: 1.0.0 (in production now) → 1.1.0.',
      '',
      '1 breaking, 0 deprecated, 3 non-breaking.',
      '',
      '## Breaking',
    ]);
    expect(forPartners).not.toContain('api-owner@example.com');
    const notes = await artifacts.getText(keyOf(view.links!.releaseNotes));
    expect(notes).toContain('## API changes for partners\n\nCompared with 1.0.0, the version in production.');
  });
});
