import { randomBytes } from 'node:crypto';
import type { LinkSigner } from './signer.js';

/**
 * Signed approval links. A link names an approval, a decision, one approver and an expiry; all four are inside the
 * signature, so changing any of them makes the link worthless. The task token is never part of a link: it stays on
 * the approval item in DynamoDB.
 */

export const DECISIONS = ['approve', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/**
 * What a signature covers. `approve` and `reject` are the scopes of emailed links. `any` is the scope of the
 * confirmation page's form: the page is shown only after a valid link was opened, and its form offers both buttons
 * to the same approver, who already holds both links in their email.
 */
export type SignatureScope = Decision | 'any';

/** The signed fields of a link, as they appear in its query string (minus `sig`). */
export interface LinkFields {
  approvalId: string;
  decision: Decision;
  /** The approver's email, lower-cased. */
  approver: string;
  /** Expiry in epoch seconds. */
  expires: number;
}

/** An approval id is `<releaseId>~<random>`: the release id finds the item directly, the random part makes it unique. */
export const APPROVAL_ID_PATTERN = /^([A-Za-z0-9._-]{1,80})~([A-Za-z0-9_-]{16,64})$/;

/** A new approval id for a release. Release ids use only `[A-Za-z0-9._-]`, so `~` separates unambiguously. */
export function newApprovalId(releaseId: string): string {
  const id = `${releaseId}~${randomBytes(16).toString('base64url')}`;
  if (!APPROVAL_ID_PATTERN.test(id)) throw new Error(`release id ${JSON.stringify(releaseId)} cannot form an approval id`);
  return id;
}

/** The release an approval id belongs to, or undefined when the id is not one Launchway makes. */
export function releaseIdOfApproval(approvalId: string): string | undefined {
  return APPROVAL_ID_PATTERN.exec(approvalId)?.[1];
}

/** Emails compare case-insensitively; every email inside a signature or a decision key is lower case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The exact bytes that are signed. Fields are joined by newlines, which none of them can contain (ids are
 * `[A-Za-z0-9._~-]`, the approver is an email, expiry an integer), and a version prefix separates this use of the
 * key from any other.
 */
export function canonicalPayload(fields: { approvalId: string; scope: SignatureScope; approver: string; expires: number }): string {
  for (const [name, value] of Object.entries(fields)) {
    if (/[\r\n]/.test(String(value))) throw new Error(`approval link field ${name} must not contain a line break`);
  }
  if (!Number.isSafeInteger(fields.expires)) throw new Error('approval link field expires must be an integer');
  return ['launchway-approval-link/v1', fields.approvalId, fields.scope, fields.approver, String(fields.expires)].join('\n');
}

/** Signs a link's fields under one scope (a decision, or `any` for the confirmation form). */
export function signFields(signer: LinkSigner, fields: Omit<LinkFields, 'decision'>, scope: SignatureScope): Promise<string> {
  return signer.sign(canonicalPayload({ ...fields, scope }));
}

/**
 * Checks a signature for a decision: valid when it was made for that decision, or for the confirmation form
 * (`any`). Returns which scope matched, or false.
 */
export async function verifyFields(signer: LinkSigner, fields: LinkFields, signature: string): Promise<SignatureScope | false> {
  const base = { approvalId: fields.approvalId, approver: fields.approver, expires: fields.expires };
  if (await signer.verify(canonicalPayload({ ...base, scope: fields.decision }), signature)) return fields.decision;
  if (await signer.verify(canonicalPayload({ ...base, scope: 'any' }), signature)) return 'any';
  return false;
}

/** `${baseUrl}/approvals/<approvalId>?decision=…&approver=…&expires=…&sig=…` */
export function linkUrl(baseUrl: string, fields: LinkFields, signature: string): string {
  const query = new URLSearchParams({
    decision: fields.decision,
    approver: fields.approver,
    expires: String(fields.expires),
    sig: signature,
  });
  return `${baseUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(fields.approvalId)}?${query.toString()}`;
}

/** Builds the signed link one approver uses for one decision. */
export async function signedLink(signer: LinkSigner, baseUrl: string, fields: LinkFields): Promise<string> {
  return linkUrl(baseUrl, fields, await signFields(signer, fields, fields.decision));
}
