import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GenerateMacCommand, KMSClient, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import { HmacSecretSigner, KmsMacSigner, signerFromConfig } from '../../functions/lib/approvals/signer.js';
import {
  canonicalPayload,
  linkUrl,
  newApprovalId,
  releaseIdOfApproval,
  signedLink,
  verifyFields,
} from '../../functions/lib/approvals/links.js';
import type { Config } from '../../functions/lib/config.js';

const SECRET = 'a-local-signing-secret-of-at-least-32-chars';

describe('HmacSecretSigner', () => {
  const signer = new HmacSecretSigner(SECRET);

  it('signs to 43 base64url characters and verifies its own signature', async () => {
    const sig = await signer.sign('payload');
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await signer.verify('payload', sig)).toBe(true);
  });

  it('refuses a signature for another payload, from another secret, or of the wrong shape', async () => {
    const sig = await signer.sign('payload');
    expect(await signer.verify('payload2', sig)).toBe(false);
    expect(await new HmacSecretSigner(`${SECRET}-other`).verify('payload', sig)).toBe(false);
    expect(await signer.verify('payload', sig.slice(0, 42))).toBe(false);
    expect(await signer.verify('payload', `${sig}A`)).toBe(false);
    expect(await signer.verify('payload', '')).toBe(false);
    expect(await signer.verify('payload', `${sig.slice(0, 40)}$$$`)).toBe(false);
  });

  it('refuses a non-canonical encoding of the right MAC (the last character carries unused bits)', async () => {
    const sig = await signer.sign('payload');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig[42]);
    // 43 chars carry 258 bits for a 256-bit MAC: flipping the lowest bit of the last char decodes to the same bytes.
    const twin = sig.slice(0, 42) + alphabet[last ^ 1];
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
    expect(await signer.verify('payload', twin)).toBe(false);
  });

  it('refuses a short secret', () => {
    expect(() => new HmacSecretSigner('short')).toThrow(/at least 32 characters/);
  });
});

describe('KmsMacSigner', () => {
  const kms = mockClient(KMSClient);
  afterEach(() => kms.reset());
  const mac = Buffer.alloc(32, 7);

  it('signs with GenerateMac HMAC_SHA_256 on the configured key', async () => {
    kms.on(GenerateMacCommand).resolves({ Mac: mac, KeyId: 'key-1', MacAlgorithm: 'HMAC_SHA_256' });
    const sig = await new KmsMacSigner(new KMSClient({}), 'alias/launchway-links').sign('hello');
    expect(sig).toBe(mac.toString('base64url'));
    expect(kms).toReceiveCommandWith(GenerateMacCommand, {
      KeyId: 'alias/launchway-links',
      MacAlgorithm: 'HMAC_SHA_256',
      Message: Buffer.from('hello', 'utf8'),
    });
    expect(kms).not.toReceiveCommandWith(GenerateMacCommand, { KeyId: 'another-key' });
  });

  it('verifies with VerifyMac, passing the decoded MAC', async () => {
    kms.on(VerifyMacCommand).resolves({ MacValid: true, KeyId: 'key-1', MacAlgorithm: 'HMAC_SHA_256' });
    const ok = await new KmsMacSigner(new KMSClient({}), 'key-1').verify('hello', mac.toString('base64url'));
    expect(ok).toBe(true);
    expect(kms).toReceiveCommandWith(VerifyMacCommand, {
      KeyId: 'key-1',
      MacAlgorithm: 'HMAC_SHA_256',
      Message: Buffer.from('hello', 'utf8'),
      Mac: mac,
    });
  });

  it('answers false when KMS says the MAC is invalid', async () => {
    kms.on(VerifyMacCommand).rejects(new KMSInvalidMacException({ message: 'invalid', $metadata: {} }));
    expect(await new KmsMacSigner(new KMSClient({}), 'key-1').verify('hello', mac.toString('base64url'))).toBe(false);
  });

  it('does not call KMS for a signature of the wrong shape', async () => {
    expect(await new KmsMacSigner(new KMSClient({}), 'key-1').verify('hello', 'not-a-mac')).toBe(false);
    expect(kms).not.toReceiveCommand(VerifyMacCommand);
  });

  it('passes other KMS errors on (a throttled KMS is not a forged link)', async () => {
    kms.on(VerifyMacCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(new KmsMacSigner(new KMSClient({}), 'key-1').verify('hello', mac.toString('base64url'))).rejects.toThrow('slow down');
  });
});

describe('signerFromConfig', () => {
  const base = { RELEASES_TABLE: 't', ARTIFACTS_BUCKET: 'b' } as Config;

  it('prefers the KMS key when one is configured', () => {
    const signer = signerFromConfig({ ...base, APPROVAL_SIGNING_KEY_ID: 'key-1', APPROVAL_SIGNING_SECRET: SECRET }, new KMSClient({}));
    expect(signer).toBeInstanceOf(KmsMacSigner);
  });

  it('uses the local secret otherwise', () => {
    expect(signerFromConfig({ ...base, APPROVAL_SIGNING_SECRET: SECRET })).toBeInstanceOf(HmacSecretSigner);
  });

  it('fails naming both settings when neither is set', () => {
    expect(() => signerFromConfig(base)).toThrow(/APPROVAL_SIGNING_KEY_ID.*APPROVAL_SIGNING_SECRET/);
  });
});

describe('approval links', () => {
  const signer = new HmacSecretSigner(SECRET);
  const approvalId = newApprovalId('greeter-1.2.0-abcdef123456');
  const fields = { approvalId, decision: 'approve' as const, approver: 'alice@example.com', expires: 1_900_000_000 };

  it('puts the approval id, decision, approver, expiry and signature in the URL, and nothing else', async () => {
    const url = new URL(await signedLink(signer, 'https://approvals.example.com/', fields));
    expect(url.origin + url.pathname).toBe(`https://approvals.example.com/approvals/${approvalId}`);
    expect([...url.searchParams.keys()]).toEqual(['decision', 'approver', 'expires', 'sig']);
    expect(url.searchParams.get('approver')).toBe('alice@example.com');
    expect(url.searchParams.get('expires')).toBe('1900000000');
  });

  it('keeps a + in an approver address intact through the query string', async () => {
    const url = new URL(linkUrl('https://a.example', { ...fields, approver: 'alice+ops@example.com' }, 'sig'));
    expect(url.searchParams.get('approver')).toBe('alice+ops@example.com');
  });

  it('signs all four fields: changing any of them breaks the signature', async () => {
    const sig = new URL(await signedLink(signer, 'https://a.example', fields)).searchParams.get('sig')!;
    expect(await verifyFields(signer, fields, sig)).toBe('approve');
    expect(await verifyFields(signer, { ...fields, decision: 'reject' }, sig)).toBe(false);
    expect(await verifyFields(signer, { ...fields, approver: 'mallory@example.com' }, sig)).toBe(false);
    expect(await verifyFields(signer, { ...fields, expires: fields.expires + 3600 }, sig)).toBe(false);
    expect(await verifyFields(signer, { ...fields, approvalId: newApprovalId('greeter-1.2.0-abcdef123456') }, sig)).toBe(false);
  });

  it('accepts a form signature (scope any) for either decision', async () => {
    const sig = await signer.sign(canonicalPayload({ approvalId, approver: fields.approver, expires: fields.expires, scope: 'any' }));
    expect(await verifyFields(signer, fields, sig)).toBe('any');
    expect(await verifyFields(signer, { ...fields, decision: 'reject' }, sig)).toBe('any');
  });

  it('refuses line breaks inside signed fields, so fields cannot be shifted into each other', () => {
    expect(() => canonicalPayload({ approvalId, approver: 'a@example.com\nx', expires: 1, scope: 'approve' })).toThrow(/line break/);
  });

  it('finds the release of an approval id, and nothing for ids Launchway does not make', () => {
    expect(releaseIdOfApproval(approvalId)).toBe('greeter-1.2.0-abcdef123456');
    expect(releaseIdOfApproval('no-tilde-here')).toBeUndefined();
    expect(releaseIdOfApproval('a~short')).toBeUndefined();
  });
});
