import { HTTP_METHODS } from '../http-methods.js';

/** How a change lands on partners who built against the live contract. */
export type Severity = 'breaking' | 'non-breaking' | 'deprecation';

/** One difference between the live contract and the release's contract. */
export interface ApiChange {
  severity: Severity;
  /** Upper-case HTTP method; absent for changes to the whole API (the base path). */
  method?: string;
  /** Path template as the release writes it (as the live contract wrote it when the path is gone). */
  path?: string;
  /** Where in the operation, e.g. `response 200 application/json body.items[].id`, `request query parameter limit`. */
  location: string;
  /** One sentence saying what changed, e.g. "property `id` changed type from integer to string". */
  change: string;
  /** Stable id of the rule that classified the change: a key of {@link RULES}. */
  rule: RuleId;
}

/**
 * Every rule the diff applies, one a line: its stable id, its severity for partners, and why. Direction matters: a
 * partner SENDS requests (so the service accepting less is breaking, accepting more is not) and READS responses (so
 * the service sending anything the partner did not expect is breaking, sending less variety is not).
 *
 * Removing a request parameter or property counts as breaking: partners still send it and the service now ignores
 * or rejects it. A new response enum value counts as non-breaking (partners must tolerate unknown values; the change
 * sentence says so), because treating it as breaking would make every enum frozen forever.
 */
export const RULES = {
  'path-removed': ['breaking', 'partners calling the path get 404'],
  'operation-removed': ['breaking', 'partners calling the operation get 404 or 405'],
  'path-added': ['non-breaking', 'a new path partners may start using'],
  'operation-added': ['non-breaking', 'a new operation partners may start using'],
  'operation-deprecated': ['deprecation', 'the operation still works but will go away'],
  'base-path-changed': ['breaking', 'every URL partners call changes'],
  'security-added': ['breaking', 'calls without credentials are now refused'],
  'security-changed': ['breaking', 'credentials partners send today may be refused'],
  'security-alternative-added': ['non-breaking', 'one more way to authenticate, the old ones still work'],
  'security-removed': ['non-breaking', 'credentials are no longer required'],
  'request-parameter-required-added': ['breaking', 'calls without the new parameter are refused'],
  'request-parameter-added': ['non-breaking', 'a new optional parameter'],
  'request-parameter-removed': ['breaking', 'partners still send it; the service ignores or refuses it'],
  'request-parameter-became-required': ['breaking', 'calls without the parameter are refused'],
  'request-parameter-became-optional': ['non-breaking', 'the parameter may be left out'],
  'parameter-deprecated': ['deprecation', 'the parameter still works but will go away'],
  'request-body-required-added': ['breaking', 'calls without a body are refused'],
  'request-body-added': ['non-breaking', 'a new optional request body'],
  'request-body-removed': ['breaking', 'partners still send a body; the service ignores or refuses it'],
  'request-body-became-required': ['breaking', 'calls without a body are refused'],
  'request-body-became-optional': ['non-breaking', 'the body may be left out'],
  'request-content-type-removed': ['breaking', 'bodies in that media type are refused'],
  'request-content-type-added': ['non-breaking', 'one more media type is accepted'],
  'request-property-required-added': ['breaking', 'bodies without the new property are refused'],
  'request-property-added': ['non-breaking', 'a new optional property'],
  'request-property-removed': ['breaking', 'partners still send it; the service ignores or refuses it'],
  'request-property-became-required': ['breaking', 'bodies without the property are refused'],
  'request-property-became-optional': ['non-breaking', 'the property may be left out'],
  'request-type-narrowed': ['breaking', 'values partners send today may be refused'],
  'request-type-widened': ['non-breaking', 'more values are accepted'],
  'request-enum-narrowed': ['breaking', 'values partners send today may be refused'],
  'request-enum-widened': ['non-breaking', 'more values are accepted'],
  'request-constraint-narrowed': ['breaking', 'values partners send today may be refused'],
  'request-constraint-widened': ['non-breaking', 'more values are accepted'],
  'request-variant-removed': ['breaking', 'a shape partners may send is no longer accepted'],
  'request-variant-added': ['non-breaking', 'one more shape is accepted'],
  'response-status-removed': ['breaking', 'partners handling that status never see it; the case moves elsewhere'],
  'response-status-added': ['non-breaking', 'a new documented status'],
  'response-content-type-removed': ['breaking', 'partners asking for that media type no longer get it'],
  'response-content-type-added': ['non-breaking', 'one more media type is offered'],
  'response-body-removed': ['breaking', 'partners reading the body get nothing'],
  'response-body-added': ['non-breaking', 'a body where there was none'],
  'response-header-removed': ['breaking', 'partners reading the header no longer get it'],
  'response-header-added': ['non-breaking', 'a new response header'],
  'response-property-removed': ['breaking', 'partners reading the property no longer get it'],
  'response-property-added': ['non-breaking', 'a new property partners may ignore'],
  'response-property-became-optional': ['breaking', 'partners relying on the property may not get it'],
  'response-property-became-required': ['non-breaking', 'the property is now always present'],
  'response-type-changed': ['breaking', 'partners parsing the old type fail'],
  'response-type-narrowed': ['non-breaking', 'fewer kinds of value are sent'],
  'response-nullable-added': ['breaking', 'partners not expecting null fail'],
  'response-nullable-removed': ['non-breaking', 'null is no longer sent'],
  'response-enum-widened': ['non-breaking', 'new values; partners must tolerate values they do not know'],
  'response-enum-narrowed': ['non-breaking', 'fewer values are sent'],
  'response-variant-added': ['breaking', 'a shape partners have never parsed may be sent'],
  'response-variant-removed': ['non-breaking', 'fewer shapes are sent'],
  'property-deprecated': ['deprecation', 'the property still works but will go away'],
} as const satisfies Record<string, readonly [Severity, string]>;

/** Stable id of a classification rule. */
export type RuleId = keyof typeof RULES;

/** Severity of a rule, read from the table. */
export function severityOf(rule: RuleId): Severity {
  return RULES[rule][0];
}

const SEVERITY_ORDER: Record<Severity, number> = { breaking: 0, deprecation: 1, 'non-breaking': 2 };

/** Orders changes for people: breaking first, then deprecations, then non-breaking; within each by path and method. */
export function compareApiChanges(x: ApiChange, y: ApiChange): number {
  const method = (m?: string) => (m ? HTTP_METHODS.indexOf(m as (typeof HTTP_METHODS)[number]) : -1);
  return (
    SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity] ||
    compare(x.path ?? '', y.path ?? '') ||
    method(x.method) - method(y.method) ||
    compare(x.location, y.location) ||
    compare(x.rule, y.rule)
  );
}

/** Code-point order: the same on every machine, unlike localeCompare. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
