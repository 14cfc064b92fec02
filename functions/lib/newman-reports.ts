import type { ContractConformance } from './contract/conformance-log.js';
import { describeViolation } from './contract/conformance-log.js';
import type { SmokeResult } from './newman-summary.js';
import type { PostmanCollection, PostmanItem } from './postman.js';
import { maskSecrets, secretForms, xmlEscape } from './secrets.js';

/**
 * What the Newman runner does to the collection before the run and to the reports after it: the gateway's API key
 * on every request, secret values masked out of everything kept.
 */

/** The header an API Gateway usage plan reads the key from. */
const API_KEY_HEADER = 'x-api-key';

/**
 * A copy of the collection that sends `x-api-key: <apiKey>` on every request, folders included, replacing any
 * `x-api-key` header the collection sets itself (old collections send `{{apiKey}}`, which is the same key), so a
 * team's collection needs nothing gateway-specific and a catalog variable named `apiKey` cannot misdirect it.
 */
export function withApiKeyHeader(collection: PostmanCollection, apiKey: string): PostmanCollection {
  const header = { key: API_KEY_HEADER, value: apiKey, type: 'text' };
  const visit = (items: PostmanItem[]): PostmanItem[] =>
    items.map((item) => {
      const out: PostmanItem = { ...item };
      if (item.item) out.item = visit(item.item);
      if (item.request !== undefined) {
        const request = typeof item.request === 'string' ? { url: item.request, method: 'GET' } : { ...(item.request as object) };
        const headers = (request as { header?: unknown }).header;
        const kept = Array.isArray(headers)
          ? headers.filter((h) => String((h as { key?: unknown })?.key ?? '').toLowerCase() !== API_KEY_HEADER)
          : [];
        out.request = { ...request, header: [...kept, header] };
      }
      return out;
    });
  return { ...collection, item: visit(collection.item) };
}

/**
 * Newman's JSON report with the secrets masked. Only strings and keys are masked, never the serialized text, so a
 * secret such as `1234` or `true` leaves numbers and literals (and the JSON) intact. Request and response bodies are
 * kept as Buffer objects (`{ type: 'Buffer', data: [bytes] }`), which no text search sees: those holding a secret
 * are decoded, masked and re-encoded.
 */
export function maskJsonReport(json: string, values: string[]): string {
  if (values.length === 0) return json;
  return JSON.stringify(maskNode(JSON.parse(json) as unknown, secretForms(values), values), null, 2);
}

/** A copy of a value (a result, details) with every string in it masked. */
export function maskDeep<T>(value: T, values: string[]): T {
  return values.length === 0 ? value : (maskNode(value, secretForms(values), values) as T);
}

function maskNode(node: unknown, forms: string[], values: string[]): unknown {
  if (typeof node === 'string') return maskSecrets(node, forms);
  if (Array.isArray(node)) return node.map((n) => maskNode(n, forms, values));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.key === 'string' && typeof obj.value === 'string' && CREDENTIAL_HEADERS.has(obj.key.toLowerCase())) {
    const header = obj.key;
    return Object.fromEntries(
      Object.entries(obj).map(([k, v]) => [
        k,
        k === 'value' ? maskCredential(header, v as string, values, forms) : maskNode(v, forms, values),
      ]),
    );
  }
  if (obj.type === 'Buffer' && Array.isArray(obj.data)) {
    const text = Buffer.from(obj.data as number[]).toString('utf8');
    const masked = maskSecrets(text, forms);
    return masked === text ? obj : { type: 'Buffer', data: [...Buffer.from(masked, 'utf8')] };
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [maskSecrets(k, forms), maskNode(v, forms, values)]));
}

/** Headers (`{ key, value }` in a report) whose value carries a credential, often encoded (Basic is base64). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/**
 * A credential header's value with a secret masked even when encoded: an authorization value holding one, as is,
 * percent- or base64-decoded, becomes `<scheme> ***`; a cookie holding one keeps its name, its value becomes `***`.
 */
function maskCredential(name: string, value: string, values: string[], forms: string[]): string {
  if (/authorization$/i.test(name)) {
    if (!holdsSecret(value, values)) return maskSecrets(value, forms);
    const scheme = /^\s*([A-Za-z][\w.+-]*)\s+\S/.exec(value)?.[1];
    return scheme ? `${scheme} ***` : '***';
  }
  return value
    .split(';')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return maskSecrets(part, forms);
      return holdsSecret(part.slice(eq + 1), values) ? `${part.slice(0, eq + 1)}***` : maskSecrets(part, forms);
    })
    .join(';');
}

/** True when the text, or any of its words percent- or base64-decoded, contains a secret. */
function holdsSecret(text: string, values: string[]): boolean {
  const decoded = [
    text,
    ...text
      .split(/[\s,".:]+/)
      .filter(Boolean)
      .flatMap(decodings),
  ];
  return decoded.some((d) => values.some((v) => v.length >= 4 && d.includes(v)));
}

function decodings(word: string): string[] {
  const words = [word];
  try {
    words.push(decodeURIComponent(word));
  } catch {
    // Not percent-encoded: the word as it is stands.
  }
  return words.flatMap((w) => [w, Buffer.from(w, 'base64').toString('utf8'), Buffer.from(w, 'base64url').toString('utf8')]);
}

/** Newman's JUnit report with the listed contract violations as one more suite, when they fail the run. */
export function withContractSuite(junit: string, contract: ContractConformance | undefined): string {
  if (contract?.mode !== 'fail' || contract.violationCount === 0) return junit;
  const cases = contract.violations.map(
    (v) =>
      `    <testcase classname="${xmlEscape(v.name)}" name="contract">\n` +
      `      <failure type="ContractViolation" message="${xmlEscape(describeViolation(v))}"/>\n    </testcase>\n`,
  );
  const count = contract.violationCount;
  const suite = `  <testsuite name="contract" tests="${count}" failures="${count}">\n${cases.join('')}  </testsuite>\n`;
  const end = junit.lastIndexOf('</testsuites>');
  return end < 0 ? junit : `${junit.slice(0, end)}${suite}${junit.slice(end)}`;
}

/** A minimal JUnit report for a run Newman cut short: one suite, the listed failures as failed cases. */
export function junitFromResult(name: string, result: SmokeResult): string {
  const cases = result.failures
    .map(
      (f) =>
        `    <testcase classname="${xmlEscape(f.name)}" name="${xmlEscape(f.test)}">\n` +
        `      <failure type="AssertionFailure" message="${xmlEscape(f.message)}"/>\n` +
        '    </testcase>',
    )
    .join('\n');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${xmlEscape(name)}" tests="${result.total}" failures="${result.failed}" time="${(result.durationMs / 1000).toFixed(3)}">\n` +
    `  <testsuite name="${xmlEscape(name)}" tests="${result.total}" failures="${result.failed}">\n` +
    `${cases}\n` +
    '  </testsuite>\n' +
    '</testsuites>\n'
  );
}
