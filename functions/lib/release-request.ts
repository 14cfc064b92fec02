import * as z from 'zod';
import type { FieldErrors } from './errors.js';

/**
 * What CI sends to start a release. The catalog decides everything else; a request cannot choose its approvers
 * or its production target.
 */

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const ChangeSchema = z.object({
  /** Commit or pull-request title, ideally a conventional commit (`feat: …`, `fix(api): …`). */
  title: z.string().min(1).max(500),
  sha: z.string().max(64).optional(),
  author: z.string().max(200).optional(),
  url: z.url().optional(),
});
export type Change = z.infer<typeof ChangeSchema>;

const s3Key = z
  .string()
  .min(1, 'expected an S3 key')
  .max(1024)
  .refine((k) => !k.startsWith('/') && !k.includes('..'), 'expected a relative S3 key without ".."');

export const ReleaseRequestSchema = z.object({
  service: z.string().min(1, 'expected a service name from the catalog'),
  version: z.string().regex(SEMVER, 'expected a semantic version such as 1.4.0'),
  commit: z.string().regex(/^[0-9a-f]{7,40}$/, 'expected a git commit sha (7-40 lowercase hex characters)'),
  branch: z.string().min(1).max(255).default('main'),
  triggeredBy: z.email({ message: 'expected the email of who or what triggered the release' }),
  artifacts: z.object({
    /**
     * The deployable the provider runs: one file, or a directory packed by `launchway release --artifact` into a
     * gzipped tar (a key ending in `.tar.gz`).
     */
    bundle: s3Key,
    /** The bundle's sha256 (hex), checked against the object in S3 by Prepare and before every deploy. */
    bundleSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'expected a sha256 digest (64 lowercase hex characters)')
      .optional(),
    /** The Postman collection run by Newman against staging and production. */
    collection: s3Key,
    /** The OpenAPI contract published on the interop layer. */
    openapi: s3Key,
    /** A Postman environment (JSON) whose values the collection gets; built-in and catalog test variables override them. */
    environment: s3Key.optional(),
  }),
  changes: z.array(ChangeSchema).max(500).default([]),
});
export type ReleaseRequest = z.infer<typeof ReleaseRequestSchema>;

/** Flattens zod issues to `{ "artifacts.bundle": "expected an S3 key" }`. */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const key = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)';
    out[key] ??= issue.message;
  }
  return out;
}

/**
 * The release id, also the Step Functions execution name: derived from service, version and commit so that a CI
 * retry of the same merge starts nothing new. Execution names allow 80 characters of `[A-Za-z0-9._-]`.
 */
export function releaseIdFor(req: Pick<ReleaseRequest, 'service' | 'version' | 'commit'>): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${safe(req.service)}-${safe(req.version)}-${safe(req.commit.slice(0, 12))}`.slice(0, 80);
}
