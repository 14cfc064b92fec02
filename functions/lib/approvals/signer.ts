import { createHmac, timingSafeEqual } from 'node:crypto';
import { GenerateMacCommand, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { getConfig, type Config } from '../config.js';
import { kmsClient } from '../clients.js';

/**
 * Signs and verifies approval-link payloads. Signatures are base64url strings so they travel in a URL query
 * without escaping. Implementations never log the payload's signature or their key material.
 */
export interface LinkSigner {
  sign(payload: string): Promise<string>;
  /** True only for a signature this signer produced for exactly this payload. Never throws for a bad signature. */
  verify(payload: string, signature: string): Promise<boolean>;
}

/** A SHA-256 MAC is 32 bytes: 43 base64url characters without padding. */
const MAC_BASE64URL = /^[A-Za-z0-9_-]{43}$/;

/**
 * Node's base64url decoder skips characters it does not know, so two different strings can decode to the same
 * bytes. Accepting only the canonical encoding keeps one signature string per MAC.
 */
function decodeCanonicalMac(signature: string): Buffer | undefined {
  if (!MAC_BASE64URL.test(signature)) return undefined;
  const bytes = Buffer.from(signature, 'base64url');
  return bytes.length === 32 && bytes.toString('base64url') === signature ? bytes : undefined;
}

/** HMAC-SHA256 with a local secret: the embedded runtime's signer. */
export class HmacSecretSigner implements LinkSigner {
  readonly #secret: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('APPROVAL_SIGNING_SECRET must be at least 32 characters');
    this.#secret = Buffer.from(secret, 'utf8');
  }

  async sign(payload: string): Promise<string> {
    return this.mac(payload).toString('base64url');
  }

  async verify(payload: string, signature: string): Promise<boolean> {
    const given = decodeCanonicalMac(signature);
    if (!given) return false;
    const expected = this.mac(payload);
    // Lengths are equal here (both 32 bytes); timingSafeEqual throws on unequal lengths, hence the check above.
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.#secret).update(payload, 'utf8').digest();
  }
}

/** KMS HMAC_SHA_256 key (GenerateMac / VerifyMac): the signer on AWS, where the key never leaves KMS. */
export class KmsMacSigner implements LinkSigner {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async sign(payload: string): Promise<string> {
    const out = await this.kms.send(
      new GenerateMacCommand({ KeyId: this.keyId, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(payload, 'utf8') }),
    );
    if (!out.Mac) throw new Error(`KMS GenerateMac returned no MAC for key ${this.keyId}`);
    return Buffer.from(out.Mac).toString('base64url');
  }

  async verify(payload: string, signature: string): Promise<boolean> {
    const mac = decodeCanonicalMac(signature);
    if (!mac) return false;
    try {
      const out = await this.kms.send(
        new VerifyMacCommand({
          KeyId: this.keyId,
          MacAlgorithm: 'HMAC_SHA_256',
          Message: Buffer.from(payload, 'utf8'),
          Mac: mac,
        }),
      );
      return out.MacValid === true;
    } catch (err) {
      // KMS answers a wrong MAC with an exception rather than MacValid=false.
      if ((err as Error)?.name === 'KMSInvalidMacException') return false;
      throw err;
    }
  }
}

/**
 * The signer the configuration asks for: KMS when `APPROVAL_SIGNING_KEY_ID` is set (AWS), otherwise the local
 * secret `APPROVAL_SIGNING_SECRET` (embedded). Fails when neither is set, because unsigned links must not exist.
 */
export function signerFromConfig(config: Config = getConfig(), client?: KMSClient): LinkSigner {
  if (config.APPROVAL_SIGNING_KEY_ID) return new KmsMacSigner(client ?? kmsClient(), config.APPROVAL_SIGNING_KEY_ID);
  if (config.APPROVAL_SIGNING_SECRET) return new HmacSecretSigner(config.APPROVAL_SIGNING_SECRET);
  throw new Error(
    'Launchway configuration is missing an approval link signer: set APPROVAL_SIGNING_KEY_ID (a KMS HMAC_256 key, on AWS) ' +
      'or APPROVAL_SIGNING_SECRET (at least 32 characters, embedded mode)',
  );
}
