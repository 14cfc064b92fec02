import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { listMessages } from '../../local/outbox.js';
import { startRelease } from '../../cli/release-client.js';
import { example, finish, nextCommit, service, startTestStack, step, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * A person approving in a real browser: Debian's Chromium (installed by .ci/run) opens the Approve link from the
 * outbox email of a real embedded release, with JavaScript off, reads the page, approves by keyboard, and sees the
 * result page; the release then goes to production.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const SCREENSHOT = path.join(ARTIFACTS, 'approval-confirmation.png');
const LEAD = 'lead@example.com';
const CHANGES = [
  { title: 'feat: greet partners by name', sha: '1a2b3c4d5e6f7a8b', author: 'Dana' },
  { title: 'fix: <b>bold</b> claims in the greeting', sha: '9f8e7d6c5b4a3f2e', author: 'Eli' },
];

let stack: TestStack;
let workDir: string;
let context: BrowserContext | undefined;

beforeAll(async () => {
  // CI installs Chromium (.ci/run); a machine without it must fail here, saying so, rather than pass by skipping.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get install -y chromium\` (the CI script .ci/run does)`);
  }
  workDir = await mkdtemp(path.join(tmpdir(), 'launchway-browser-'));
  await mkdir(ARTIFACTS, { recursive: true });
  stack = await startTestStack({
    greeter: service({
      interop: { enabled: false, apiKeyRequired: false, apiKeys: [], stage: 'v1', breakingChanges: 'approve', allowBreakingOnMajor: true },
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

    let approveUrl: string | undefined;
    for (let waited = 0; !approveUrl; waited += 100) {
      const mail = (await listMessages(stack.outboxDir)).find((m) => m.releaseId === started.releaseId && m.to.includes(LEAD));
      approveUrl = mail?.links.find((l) => l.label === 'Approve')?.url;
      if (!approveUrl && waited > 10_000) throw new Error('no approval email for the lead within 10 s');
      if (!approveUrl) await new Promise((r) => setTimeout(r, 100));
    }

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
  });
});
