import * as z from 'zod';
import { BUCKET_LAYOUT } from './bucket-layout.js';

/**
 * Configuration from the environment, parsed once by one zod schema. Every handler reads the same names, on AWS
 * (set by the CDK construct) and embedded (set by `local/runtime.ts`). Endpoints are never configured here: the
 * SDK reads the standard `AWS_ENDPOINT_URL_*` variables itself.
 */
const EnvSchema = z.object({
  RELEASES_TABLE: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  /** S3 key of the service catalog (deployed with the stack). */
  CATALOG_KEY: z.string().min(1).default(BUCKET_LAYOUT.catalogKey),
  /** Public base URL of the approval API, without a trailing slash. */
  APPROVAL_BASE_URL: z
    .url()
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Embedded mode: the HMAC secret for approval links. On AWS a KMS HMAC key replaces it. */
  APPROVAL_SIGNING_SECRET: z.string().min(32).optional(),
  /** On AWS: id or ARN of the KMS HMAC_256 key that signs approval links (GenerateMac / VerifyMac). */
  APPROVAL_SIGNING_KEY_ID: z.string().min(1).optional(),
  /** How email leaves: `outbox` writes .eml files to OUTBOX_DIR (embedded), `ses` sends through SES (AWS). */
  NOTIFIER: z.enum(['outbox', 'ses']).default('outbox'),
  OUTBOX_DIR: z.string().min(1).optional(),
  /**
   * `true`: the outbox prints signed approval links even when stdout is not a terminal (`launchway dev --print-links`);
   * `false`: never. Unset: only to an interactive terminal, since the links are bearer credentials.
   */
  OUTBOX_PRINT_LINKS: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  /** Sender address of approval and outcome email. */
  MAIL_FROM: z.email().default('launchway@example.com'),
  /** Where the local-process provider unpacks and runs artifacts. */
  LOCAL_TARGETS_DIR: z.string().min(1).optional(),
  /** Admin endpoint of the local interop gateway (embedded mode). */
  LOCAL_GATEWAY_ADMIN_URL: z.url().optional(),
  /**
   * Where contracts are published: `local-gateway` (embedded, needs LOCAL_GATEWAY_ADMIN_URL) or `api-gateway`
   * (AWS). Unset means `local-gateway` when LOCAL_GATEWAY_ADMIN_URL is set and `api-gateway` otherwise.
   */
  INTEROP_PROVIDER: z.enum(['local-gateway', 'api-gateway']).optional(),
  /** Custom domain of the interop APIs (`api.example.com`): partners call `https://<domain>/<service>`. */
  INTEROP_DOMAIN_NAME: z.hostname('expected a domain name such as api.example.com, without scheme or path').optional(),
  /**
   * Where secrets come from: `file` reads SECRETS_FILE (embedded), `secrets-manager` reads AWS Secrets Manager.
   * Unset means `file` when SECRETS_FILE is set and `secrets-manager` otherwise.
   */
  SECRETS_SOURCE: z.enum(['file', 'secrets-manager']).optional(),
  /** Embedded mode: a JSON object from secret name to value (`.launchway/secrets.json`, mode 0600). */
  SECRETS_FILE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
});
export type Config = z.infer<typeof EnvSchema>;

let cached: Config | undefined;

/** The parsed configuration. Throws a message naming every missing or malformed variable. */
export function getConfig(): Config {
  if (cached) return cached;
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Launchway configuration is invalid:\n  ${lines.join('\n  ')}`);
  }
  cached = parsed.data;
  return cached;
}

/** Reads a variable that only some handlers need, failing with its name when it is absent. */
export function requireConfig<K extends keyof Config>(key: K): NonNullable<Config[K]> {
  const value = getConfig()[key];
  if (value === undefined || value === null) throw new Error(`Launchway configuration is missing ${String(key)}`);
  return value as NonNullable<Config[K]>;
}

/** Forgets the parsed configuration; the embedded runtime calls this after it sets the environment. */
export function resetConfig(): void {
  cached = undefined;
}
