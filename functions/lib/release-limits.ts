import type { ServiceConfig } from './catalog.js';
import type { FieldErrors } from './errors.js';
import type { ApiRoute } from './openapi.js';
import type { ReleaseRequest } from './release-request.js';
import { storedRequest, type ReleaseRecord } from './store/records.js';
import { keys } from './store/table.js';

/**
 * The AWS limits a release request can run into after it was accepted, checked before anything is uploaded or
 * written: the Step Functions input limit (StartExecution would refuse the request), the DynamoDB item limit (Prepare
 * could not write the record) and API Gateway's resources per REST API (ProvisionInterop would fail after the
 * production deploy). Pure: each check takes what it measures and returns field errors, empty when it fits.
 */

/** Step Functions' largest execution input and state payload: 256 KiB of UTF-8. */
export const STEP_FUNCTIONS_INPUT_LIMIT_BYTES = 262_144;
/** DynamoDB's largest item: 400 KB, attribute names and values together. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 409_600;
/**
 * The most Prepare's release record may weigh: later steps add the error, links, timings and queue fields to the
 * same item, and an update that would push it past the item limit fails after production may have changed.
 */
export const RELEASE_RECORD_BUDGET_BYTES = 350 * 1024;
/** API Gateway's default quota "Resources per API" for a REST API (it can be raised per API). */
export const API_GATEWAY_RESOURCES_PER_API = 300;

/** Longest execution ARN: `arn:aws:states:<region>:<account>:execution:<80>:<80>`, with room for long partitions. */
const LONGEST_EXECUTION_ARN = 'x'.repeat(256);
/** Execution names (the release id) have at most 80 characters. */
const LONGEST_RELEASE_ID = 'x'.repeat(80);
const TIMESTAMP = '2000-01-01T00:00:00.000Z';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/**
 * The StartExecution input, exactly as it will be sent, against the Step Functions limit. The error goes to the
 * request's heaviest field (in practice `changes`), saying how big it is.
 */
export function checkExecutionInput(input: string): FieldErrors {
  const bytes = Buffer.byteLength(input, 'utf8');
  if (bytes <= STEP_FUNCTIONS_INPUT_LIMIT_BYTES) return {};
  const parsed = JSON.parse(input) as Record<string, unknown>;
  const [field, fieldBytes] = Object.entries(parsed)
    .map(([k, v]) => [k, jsonBytes(v)] as const)
    .reduce((a, b) => (b[1] > a[1] ? b : a), ['(input)', 0] as const);
  const what =
    field === 'changes' && Array.isArray(parsed.changes)
      ? `${parsed.changes.length} changes take ${kb(fieldBytes)}`
      : `it takes ${kb(fieldBytes)}`;
  return {
    [field]:
      `the execution input would be ${bytes} bytes and Step Functions accepts at most ${STEP_FUNCTIONS_INPUT_LIMIT_BYTES} ` +
      `(256 KiB); ${what} of it: list fewer or shorter changes`,
  };
}

/**
 * The release record as Prepare writes it (worst-case ids and timestamps) against the budget for one DynamoDB item.
 * The error names `changes` when they are what tips it over, else `service` (the catalog entry the record snapshots).
 */
export function checkReleaseRecordSize(request: ReleaseRequest, service: ServiceConfig): FieldErrors {
  const record: ReleaseRecord = {
    releaseId: LONGEST_RELEASE_ID,
    service: request.service,
    version: request.version,
    commit: request.commit,
    branch: request.branch,
    triggeredBy: request.triggeredBy,
    status: 'AWAITING_APPROVAL',
    executionArn: LONGEST_EXECUTION_ARN,
    request: storedRequest(request),
    changes: request.changes,
    catalog: service,
    createdAt: TIMESTAMP,
    updatedAt: TIMESTAMP,
  };
  const item = { ...keys.release(record.releaseId), ...keys.history(record.service, record.createdAt, record.releaseId), ...record };
  const bytes = dynamoItemBytes(item);
  if (bytes <= RELEASE_RECORD_BUDGET_BYTES) return {};
  const changesBytes = dynamoItemBytes({ changes: request.changes }) - dynamoItemBytes({ changes: [] });
  const budget = `DynamoDB items hold at most 400 KB and Launchway keeps ${kb(RELEASE_RECORD_BUDGET_BYTES)} for what Prepare writes`;
  if (bytes - changesBytes <= RELEASE_RECORD_BUDGET_BYTES) {
    return {
      changes: `the release record would be ${kb(bytes)}, ${kb(changesBytes)} of it ${request.changes.length} changes; ${budget}: list fewer or shorter changes`,
    };
  }
  return { service: `the release record would be ${kb(bytes)} without any changes, most of it the catalog entry; ${budget}` };
}

/**
 * API Gateway resources an import of these routes creates: the root and every distinct path prefix (`/a/{id}/b`
 * needs `/a`, `/a/{id}` and `/a/{id}/b`). Methods live on resources and do not count.
 */
export function gatewayResourceCount(routes: readonly ApiRoute[]): number {
  const resources = new Set<string>(['/']);
  for (const { path } of routes) {
    const segments = path.split('/').filter(Boolean);
    for (let i = 1; i <= segments.length; i++) resources.add(`/${segments.slice(0, i).join('/')}`);
  }
  return resources.size;
}

/** The contract's routes against API Gateway's default resources-per-API quota, under `field`. */
export function checkGatewayQuota(routes: readonly ApiRoute[], field = 'artifacts.openapi'): FieldErrors {
  const resources = gatewayResourceCount(routes);
  if (resources <= API_GATEWAY_RESOURCES_PER_API) return {};
  return {
    [field]:
      `the contract's ${routes.length} route${routes.length === 1 ? '' : 's'} need ${resources} API Gateway resources (the root and every path prefix) and a ` +
      `REST API holds at most ${API_GATEWAY_RESOURCES_PER_API} by default (quota "Resources per API"): publish fewer paths`,
  };
}

/**
 * DynamoDB's size of an item (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * attribute names and strings in UTF-8 bytes, numbers about one byte per two digits plus one, booleans and null one
 * byte, lists and maps three bytes plus one per element. `undefined` attributes are not written.
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    total += Buffer.byteLength(name, 'utf8') + valueBytes(value);
  }
  return total;
}

function valueBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.min(21, Math.ceil(String(Math.abs(value)).replace(/[.eE+-]/g, '').length / 2) + 1);
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return 3 + entries.reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, 'utf8') + valueBytes(v), 0);
  }
  return 0;
}
