import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failureMessage, handleOf, LOG_FILE } from '../../functions/lib/deploy/local-process-support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lp-failure-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECRET = 'pa"ss\\wörd-9f1e';

describe("a failed local process's message", () => {
  it('masks a secret a JSON logger escaped, as pino and ensure_ascii loggers write it', async () => {
    const lines = [
      `plain ${SECRET}`,
      JSON.stringify({ level: 50, msg: `connect failed with ${SECRET}` }),
      `{"msg":"ascii ${JSON.stringify(SECRET).slice(1, -1).replace('ö', '\\u00f6')}"}`,
      `{"msg":"ASCII ${JSON.stringify(SECRET).slice(1, -1).replace('ö', '\\u00F6')}"}`,
    ];
    await writeFile(path.join(dir, LOG_FILE), `${lines.join('\n')}\n`);
    const message = await failureMessage(handleOf(1, 3000, dir, 'now'), 'exit code 1', [SECRET]);
    expect(message).toContain('plain ***');
    expect(message).toContain('connect failed with ***');
    expect(message).toContain('ascii ***');
    expect(message).toContain('ASCII ***');
    expect(message).not.toMatch(/w(ö|\\u00f6|\\u00F6)rd/);
  });

  it('drops the partial first line of a tail read from the middle of a long log', async () => {
    // The last 64 KiB start inside the secret, whose end alone would not be masked.
    const head = `token=${SECRET.slice(0, -7)}`;
    const rest = `${SECRET.slice(-7)} ok\n`;
    const last = 'service crashed\n';
    const filler = 'x'.repeat(64 * 1024 - Buffer.byteLength(rest) - 1 - last.length);
    await writeFile(path.join(dir, LOG_FILE), `${head}${rest}${filler}\n${last}`);
    const message = await failureMessage(handleOf(1, 3000, dir, 'now'), 'exit code 1', [SECRET]);
    expect(message).toContain(`${filler}\nservice crashed`);
    expect(message).not.toContain('rd-9f1e');
  });
});
