import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { notifierFromConfig, OutboxNotifier, SesNotifier } from '../../functions/lib/notify/index.js';
import { encodeQuotedPrintable, printsLinks } from '../../functions/lib/notify/outbox-notifier.js';
import { decodeQuotedPrintable, listMessages } from '../../local/outbox.js';
import type { Config } from '../../functions/lib/config.js';
import type { EmailMessage } from '../../functions/lib/notify/notifier.js';

const LONG_URL = `http://127.0.0.1:4321/approvals/greeter-1.2.0-abcdef123456~${'x'.repeat(22)}?decision=approve&approver=alice%2Bops%40example.com&expires=1900000000&sig=${'A'.repeat(43)}`;

const message = (over: Partial<EmailMessage> = {}): EmailMessage => ({
  to: ['alice@example.com'],
  subject: '[Launchway] Approval needed: greeter 1.2.0 — ünïcödé',
  text: `Hello,\n\nline with trailing space \nApprove: ${LONG_URL}\nemoji 🚀 = equals\n`,
  html: `<p>Hello <b>there</b></p><p><a href="${LONG_URL}">Approve</a></p>`,
  links: [{ label: 'Approve', url: LONG_URL }],
  tags: { kind: 'approval-request', releaseId: 'greeter-1.2.0-abcdef123456', approver: 'alice@example.com' },
  ...over,
});

describe('OutboxNotifier', () => {
  let dir: string;
  let printed: string[];
  beforeEach(async () => {
    dir = path.join(await mkdtemp(path.join(tmpdir(), 'launchway-outbox-')), 'nested', 'outbox');
    printed = [];
  });
  afterEach(async () => rm(path.dirname(path.dirname(dir)), { recursive: true, force: true }));

  it('writes one RFC 5322 multipart/alternative .eml per message into a directory it creates', async () => {
    const notifier = new OutboxNotifier(dir, { print: (l) => printed.push(l), from: 'launchway@example.org' });
    const { messageId } = await notifier.send(message());
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{8}T\d{9}Z-\d{6}-[0-9a-f]{6}\.eml$/);
    const raw = await readFile(path.join(dir, files[0]), 'utf8');
    const [head] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^From: launchway@example\.org\r\n/);
    expect(head).toContain('\r\nTo: alice@example.com\r\n');
    expect(head).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r\n/);
    expect(head).toContain(`\r\nMessage-ID: ${messageId}\r\n`);
    expect(head).toContain('\r\nX-Launchway-Kind: approval-request\r\n');
    expect(head).toContain('\r\nX-Launchway-Release: greeter-1.2.0-abcdef123456\r\n');
    expect(head).toMatch(/\r\nContent-Type: multipart\/alternative; boundary="[^"]+"/);
    // Every line of the file fits the RFC 5322 limit, and line ends are CRLF only.
    for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    // The subject is not ASCII, so it is RFC 2047 encoded.
    expect(head).toMatch(/\r\nSubject: =\?UTF-8\?B\?/);
  });

  it('round-trips through the outbox reader: subject, recipients, tags, text, HTML and links', async () => {
    const notifier = new OutboxNotifier(dir, { print: () => undefined });
    await notifier.send(message());
    const [parsed] = await listMessages(dir);
    expect(parsed.subject).toBe('[Launchway] Approval needed: greeter 1.2.0 — ünïcödé');
    expect(parsed.to).toEqual(['alice@example.com']);
    expect(parsed.kind).toBe('approval-request');
    expect(parsed.releaseId).toBe('greeter-1.2.0-abcdef123456');
    expect(parsed.text).toBe(message().text);
    expect(parsed.html).toBe(message().html);
    expect(parsed.links).toEqual([{ label: 'Approve', url: LONG_URL }]);
  });

  it('writes a plain text message without HTML as a single part', async () => {
    await new OutboxNotifier(dir, { print: () => undefined }).send(message({ html: undefined, links: [] }));
    const [parsed] = await listMessages(dir);
    expect(parsed.html).toBeUndefined();
    expect(parsed.text).toContain('emoji 🚀 = equals');
    // Without link headers the reader falls back to `Label: url` lines in the text.
    expect(parsed.links).toEqual([{ label: 'Approve', url: LONG_URL }]);
  });

  it('names files so that sorting by name sorts by time', async () => {
    let t = Date.parse('2026-03-01T10:00:00.000Z');
    const notifier = new OutboxNotifier(dir, { print: () => undefined, now: () => new Date(t) });
    for (const subject of ['first', 'second', 'third']) {
      await notifier.send(message({ subject }));
      t += 1;
    }
    await notifier.send(message({ subject: 'fourth' })); // same millisecond as the third
    expect((await listMessages(dir)).map((m) => m.subject)).toEqual(['first', 'second', 'third', 'fourth']);
  });

  it('prints the subject, the recipients, each link as "label: url" and the file', async () => {
    await new OutboxNotifier(dir, { print: (l) => printed.push(l) }).send(message());
    expect(printed[0]).toBe('[outbox] [Launchway] Approval needed: greeter 1.2.0 — ünïcödé');
    expect(printed).toContain('  to: alice@example.com');
    expect(printed).toContain(`  Approve: ${LONG_URL}`);
    expect(printed.at(-1)).toMatch(/^ {2}file: .*\.eml$/);
  });

  it('keeps signed links out of the lines when asked not to print them, saying where they are instead', async () => {
    await new OutboxNotifier(dir, { print: (l) => printed.push(l), printLinks: false }).send(message());
    expect(printed.join('\n')).not.toContain('sig=');
    expect(printed).toContain('  links: Approve, in the file below (not printed: stdout is not a terminal)');
    expect(printed).toContain(
      '  open the file in a mail client, or run: launchway approve greeter-1.2.0-abcdef123456 --as alice@example.com',
    );
    expect(printed.at(-1)).toMatch(/^ {2}file: .*\.eml$/);
    // The file still has them: `launchway approve` follows the link from there.
    expect((await listMessages(dir))[0].links).toEqual([{ label: 'Approve', url: LONG_URL }]);
  });

  it('prints links to stdout only when it is a terminal, or when asked (launchway dev --print-links)', async () => {
    expect(printsLinks(undefined, { isTTY: true })).toBe(true);
    expect(printsLinks(undefined, { isTTY: false })).toBe(false);
    expect(printsLinks(undefined, {})).toBe(false);
    expect(printsLinks(true, { isTTY: false })).toBe(true);
    expect(printsLinks(false, { isTTY: true })).toBe(false);

    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
    try {
      const config = {
        RELEASES_TABLE: 't',
        ARTIFACTS_BUCKET: 'b',
        MAIL_FROM: 'l@example.com',
        NOTIFIER: 'outbox',
        OUTBOX_DIR: dir,
      } as Config;
      await notifierFromConfig(config).send(message());
      expect(written.join('')).toContain('[outbox]');
      expect(written.join('')).not.toContain('sig=');
      written.length = 0;
      await notifierFromConfig({ ...config, OUTBOX_PRINT_LINKS: true }).send(message());
      expect(written.join('')).toContain(`  Approve: ${LONG_URL}\n`);
    } finally {
      write.mockRestore();
      if (tty) Object.defineProperty(process.stdout, 'isTTY', tty);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
  });

  it('refuses a message without recipients', async () => {
    await expect(new OutboxNotifier(dir, { print: () => undefined }).send(message({ to: [] }))).rejects.toThrow(/recipient/);
  });
});

describe('quoted-printable', () => {
  it('round-trips text with long lines, =, trailing spaces and multi-byte characters', () => {
    const text = `${'a'.repeat(200)}=b\ntrailing \t\n🚀ü${'é'.repeat(40)}`;
    const encoded = encodeQuotedPrintable(text);
    for (const line of encoded.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(decodeQuotedPrintable(encoded)).toBe(text.replace(/\n/g, '\r\n'));
  });
});

describe('SesNotifier', () => {
  const ses = mockClient(SESv2Client);
  afterEach(() => ses.reset());

  it('sends SES v2 SendEmail with simple content, text and HTML, and sanitized tags', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    const out = await new SesNotifier(new SESv2Client({}), 'launchway@example.com').send(message());
    expect(out).toEqual({ messageId: 'ses-1' });
    expect(ses).toReceiveCommandWith(SendEmailCommand, {
      FromEmailAddress: 'launchway@example.com',
      Destination: { ToAddresses: ['alice@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: message().subject, Charset: 'UTF-8' },
          Body: { Text: { Data: message().text, Charset: 'UTF-8' }, Html: { Data: message().html, Charset: 'UTF-8' } },
        },
      },
      EmailTags: [
        { Name: 'kind', Value: 'approval-request' },
        { Name: 'releaseId', Value: 'greeter-1_2_0-abcdef123456' },
        { Name: 'approver', Value: 'alice_example_com' },
      ],
    });
  });

  it('sends text only when the message has no HTML', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-2' });
    await new SesNotifier(new SESv2Client({}), 'launchway@example.com').send(message({ html: undefined, tags: undefined }));
    const input = ses.commandCalls(SendEmailCommand)[0].args[0].input;
    expect(input.Content?.Simple?.Body).toEqual({ Text: { Data: message().text, Charset: 'UTF-8' } });
    expect(input.EmailTags).toBeUndefined();
  });
});

describe('notifierFromConfig', () => {
  const base = { RELEASES_TABLE: 't', ARTIFACTS_BUCKET: 'b', MAIL_FROM: 'launchway@example.com' } as Config;

  it('builds the outbox from OUTBOX_DIR and SES for NOTIFIER=ses', () => {
    const outbox = notifierFromConfig({ ...base, NOTIFIER: 'outbox', OUTBOX_DIR: '/tmp/x' });
    expect(outbox).toBeInstanceOf(OutboxNotifier);
    expect((outbox as OutboxNotifier).dir).toBe('/tmp/x');
    expect(notifierFromConfig({ ...base, NOTIFIER: 'ses' })).toBeInstanceOf(SesNotifier);
  });

  it('names OUTBOX_DIR when the outbox has no directory', () => {
    expect(() => notifierFromConfig({ ...base, NOTIFIER: 'outbox' })).toThrow(/OUTBOX_DIR/);
  });
});
