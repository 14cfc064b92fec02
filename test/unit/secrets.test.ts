import 'aws-sdk-client-mock-vitest/extend';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../../functions/lib/errors.js';
import { FileSecretSource, maskSecrets, resolveSecret, resolveSecrets, SecretsManagerSource } from '../../functions/lib/secrets.js';

const secretsManager = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:notes/db-AbCdEf';

describe('SecretsManagerSource with resolveSecret', () => {
  const source = new SecretsManagerSource();
  beforeEach(() => secretsManager.reset());

  it('returns a string secret whole, asking for it by the name or ARN the catalog gives', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 's3cr3t-value' });
    await expect(resolveSecret({ secret: ARN }, source)).resolves.toBe('s3cr3t-value');
    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN });
  });

  it('extracts `key` from a JSON secret, giving non-string fields as JSON', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ password: 'pw-123456', port: 5432 }) });
    await expect(resolveSecret({ secret: 'notes/db', key: 'password' }, source)).resolves.toBe('pw-123456');
    await expect(resolveSecret({ secret: 'notes/db', key: 'port' }, source)).resolves.toBe('5432');
  });

  it('refuses a key the JSON secret lacks, naming the secret and the key but not the value', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ user: 'u-value-1' }) });
    const err = await resolveSecret({ secret: 'notes/db', key: 'password' }, source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect((err as Error).name).toBe('SecretUnavailable');
    expect((err as Error).message).toBe('secret "notes/db" has no key "password"');
  });

  it('refuses a key of a secret that is not JSON, without quoting the secret', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'plain-secret-text' });
    const err = (await resolveSecret({ secret: 'notes/token', key: 'k' }, source).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('secret "notes/token" is not a JSON object, so it has no key "k"');
    expect(err.message).not.toContain('plain-secret-text');
  });

  it('decodes a binary secret as UTF-8, and reads its key too', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode('{"token":"bin-token-1"}') });
    await expect(resolveSecret({ secret: 'notes/bin' }, source)).resolves.toBe('{"token":"bin-token-1"}');
    await expect(resolveSecret({ secret: 'notes/bin', key: 'token' }, source)).resolves.toBe('bin-token-1');
  });

  it('refuses a value shorter than 4 characters, which no report could mask, without quoting it', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'notes/pin' }).resolves({ SecretString: 'x7z' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'notes/db' }).resolves({ SecretString: JSON.stringify({ port: 80, pw: 'abcd' }) });
    const err = (await resolveSecret({ secret: 'notes/pin' }, source).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect(err.message).toBe('secret "notes/pin" is shorter than 4 characters, too short to mask safely');
    await expect(resolveSecrets({ PORT: { secret: 'notes/db', key: 'port' } }, source)).rejects.toThrow(
      'PORT: secret "notes/db" key "port" is shorter than 4 characters, too short to mask safely',
    );
    await expect(resolveSecret({ secret: 'notes/db', key: 'pw' }, source)).resolves.toBe('abcd');
  });

  it('turns a missing secret into SecretUnavailable naming it and the AWS error', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'Secrets Manager cannot find the secret', $metadata: {} }));
    await expect(resolveSecret({ secret: 'notes/gone' }, source)).rejects.toThrow(
      'secret "notes/gone" cannot be read from Secrets Manager: ResourceNotFoundException',
    );
  });

  it('resolveSecrets names the variable whose secret is missing', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'notes/api' }).resolves({ SecretString: 'api-value-1' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'notes/db' }).resolves({ SecretString: '{}' });
    await expect(resolveSecrets({ token: { secret: 'notes/api' } }, source)).resolves.toEqual({ token: 'api-value-1' });
    await expect(
      resolveSecrets({ token: { secret: 'notes/api' }, dbPassword: { secret: 'notes/db', key: 'password' } }, source),
    ).rejects.toThrow('dbPassword: secret "notes/db" has no key "password"');
  });
});

describe('FileSecretSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'launchway-secrets-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function secretsFile(name: string, content: unknown, mode: number): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    await chmod(file, mode);
    return file;
  }

  it('reads a secret from a mode 0600 file, and a key of a JSON-valued one', async () => {
    const file = await secretsFile('ok.json', { 'notes/api': 'file-value-1', 'notes/db': { password: 'file-pw-1' } }, 0o600);
    const source = new FileSecretSource(file);
    await expect(resolveSecret({ secret: 'notes/api' }, source)).resolves.toBe('file-value-1');
    await expect(resolveSecret({ secret: 'notes/db', key: 'password' }, source)).resolves.toBe('file-pw-1');
  });

  it('refuses a file others can read, saying how to fix it', async () => {
    const file = await secretsFile('open.json', { 'notes/api': 'file-value-2' }, 0o644);
    const err = (await new FileSecretSource(file).read('notes/api').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect(err.message).toBe(`${file} is readable by others (mode 644); run chmod 600 ${file}`);
    expect(err.message).not.toContain('file-value-2');
  });

  it('names a secret the file does not hold', async () => {
    const file = await secretsFile('some.json', { 'notes/api': 'file-value-3' }, 0o600);
    await expect(new FileSecretSource(file).read('notes/other')).rejects.toThrow(`secret "notes/other" is not in ${file}`);
  });

  it('says so when the file is missing or not a JSON object', async () => {
    const missing = path.join(dir, 'missing.json');
    await expect(new FileSecretSource(missing).read('x')).rejects.toThrow(
      `secret "x": the secrets file ${missing} cannot be read (ENOENT)`,
    );
    const array = await secretsFile('array.json', ['file-value-4'], 0o600);
    await expect(new FileSecretSource(array).read('0')).rejects.toThrow(`${array} is not a JSON object of secret name to value`);
    const broken = await secretsFile('broken.json', '{"a":', 0o600);
    await expect(new FileSecretSource(broken).read('a')).rejects.toThrow(`${broken} is not a JSON object of secret name to value`);
  });
});

describe('maskSecrets', () => {
  it('masks every occurrence, the longest value first, and leaves values under 4 characters', () => {
    expect(maskSecrets('a=abcd-efgh b=abcd c=xyz abcd-efgh', ['abcd', 'abcd-efgh', 'xyz'])).toBe('a=*** b=*** c=xyz ***');
  });
});
