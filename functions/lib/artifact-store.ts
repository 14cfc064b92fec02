import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError } from './errors.js';

/** sha256 of some bytes, lowercase hex: the form `artifacts.bundleSha256` and `artifactSha256` take. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Artifacts, reports and release notes in one S3 bucket. */
export class ArtifactStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body!.transformToByteArray();
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`s3://${this.bucket}/${key} does not exist`, { cause: err });
      throw err;
    }
  }

  /**
   * The object's sha256 (hex), streamed: an artifact may be hundreds of MiB, and only its digest is wanted.
   */
  async sha256(key: string): Promise<string> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      return hash.digest('hex');
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`s3://${this.bucket}/${key} does not exist`, { cause: err });
      throw err;
    }
  }

  async getText(key: string): Promise<string> {
    return Buffer.from(await this.getBytes(key)).toString('utf8');
  }

  async put(key: string, body: string | Uint8Array, contentType = 'application/octet-stream'): Promise<string> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
      }),
    );
    return key;
  }

  /** `s3://bucket/key`, for records and release notes. */
  uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
