import type { ServiceConfig } from './catalog.js';
import { PACKED_DIRECTORY_TARGETS } from './deploy/targets.js';
import { ValidationError, type FieldErrors } from './errors.js';
import { parseOpenApi } from './openapi.js';
import { parsePostmanCollection } from './postman.js';
import { parsePostmanEnvironment } from './postman-environment.js';
import { ReleaseRequestSchema, fieldErrors, type ReleaseRequest } from './release-request.js';
import { checkGatewayQuota, checkReleaseRecordSize } from './release-limits.js';

/**
 * Where the files a request names are read from: S3 in Prepare, the local disk in `launchway release` (before
 * anything is uploaded). The same checks run in both places.
 */
export interface ReleaseRequestSources {
  service(name: string): Promise<ServiceConfig | undefined>;
  exists(field: string, ref: string): Promise<boolean>;
  read(field: string, ref: string): Promise<string>;
  /**
   * The bundle's sha256 (hex). The CLI has none: it puts in the request the digest of the very bytes it uploads.
   */
  sha256?(field: string, ref: string): Promise<string>;
}

/** A request that passed every check, with its catalog entry and parsed contract. */
export interface CheckedReleaseRequest {
  request: ReleaseRequest;
  service: ServiceConfig;
  openapi: Awaited<ReturnType<typeof parseOpenApi>>;
  /** The bundle's sha256 as the source computed it (equal to `artifacts.bundleSha256` when the request gave one). */
  artifactSha256?: string;
}

/**
 * Checks a release request completely and reports every problem at once, each under its field:
 * the shape, the service in the catalog, the deployable's presence and digest, the Postman collection and environment,
 * the OpenAPI spec, and the limits they would meet later: the release record's size and API Gateway's resources per
 * API (release-limits.ts).
 */
export async function checkReleaseRequest(raw: unknown, sources: ReleaseRequestSources): Promise<CheckedReleaseRequest> {
  const parsed = ReleaseRequestSchema.safeParse(raw);
  if (!parsed.success) throw invalid(fieldErrors(parsed.error));
  const request = parsed.data;
  const fields: FieldErrors = {};

  const service = await sources.service(request.service);
  if (!service) fields.service = `expected a service from the catalog; "${request.service}" is not in it`;

  const { bundle, bundleSha256, collection, openapi, environment } = request.artifacts;
  let artifactSha256: string | undefined;
  if (!(await sources.exists('artifacts.bundle', bundle))) {
    fields['artifacts.bundle'] = `expected the deployable at ${bundle}; it does not exist`;
  } else if (sources.sha256) {
    artifactSha256 = await sources.sha256('artifacts.bundle', bundle);
    if (bundleSha256 !== undefined && bundleSha256 !== artifactSha256) {
      fields['artifacts.bundleSha256'] =
        `expected the sha256 of ${bundle}; the request says ${bundleSha256} but the uploaded bytes hash to ${artifactSha256}`;
    }
  }
  const unpackable = service && bundle.endsWith('.tar.gz') ? packedDirectoryRefusal(service) : undefined;
  if (unpackable) fields['artifacts.bundle'] ??= unpackable;

  const readOrNote = async (field: string, ref: string): Promise<string | undefined> => {
    if (!(await sources.exists(field, ref))) {
      fields[field] = `expected a file at ${ref}; it does not exist`;
      return undefined;
    }
    return sources.read(field, ref);
  };
  const collectionText = await readOrNote('artifacts.collection', collection);
  if (collectionText !== undefined) {
    try {
      parsePostmanCollection(collectionText, 'artifacts.collection');
    } catch (err) {
      Object.assign(fields, fieldsOf(err, 'artifacts.collection'));
    }
  }
  if (environment !== undefined) {
    const environmentText = await readOrNote('artifacts.environment', environment);
    if (environmentText !== undefined) {
      try {
        parsePostmanEnvironment(environmentText, 'artifacts.environment');
      } catch (err) {
        Object.assign(fields, fieldsOf(err, 'artifacts.environment'));
      }
    }
  }
  let spec: CheckedReleaseRequest['openapi'] | undefined;
  const openapiText = await readOrNote('artifacts.openapi', openapi);
  if (openapiText !== undefined) {
    try {
      spec = await parseOpenApi(openapiText, 'artifacts.openapi');
    } catch (err) {
      Object.assign(fields, fieldsOf(err, 'artifacts.openapi'));
    }
  }

  if (service) Object.assign(fields, checkReleaseRecordSize(request, service));
  if (service?.interop.enabled && spec) Object.assign(fields, checkGatewayQuota(spec.routes));

  if (Object.keys(fields).length > 0 || !service || !spec) throw invalid(fields);
  return { request, service, openapi: spec, artifactSha256 };
}

/** Why the service's targets cannot run a packed directory, or undefined when both can. */
function packedDirectoryRefusal(service: ServiceConfig): string | undefined {
  const stage = (['staging', 'production'] as const).find((s) => !PACKED_DIRECTORY_TARGETS.has(service[s].type));
  if (stage === undefined) return undefined;
  return (
    `a packed directory (.tar.gz) cannot be deployed to ${stage} (type ${service[stage].type}): only local-process and http ` +
    `targets run one; give the file ${service[stage].type} deploys`
  );
}

function fieldsOf(err: unknown, field: string): FieldErrors {
  if (err instanceof ValidationError && Object.keys(err.fields).length > 0) return err.fields;
  if (err instanceof ValidationError) return { [field]: err.message };
  throw err;
}

function invalid(fields: FieldErrors): ValidationError {
  const summary = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return new ValidationError(`release request is invalid: ${summary}`, fields);
}
