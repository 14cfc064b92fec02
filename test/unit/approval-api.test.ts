import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { parseApprovalRequest } from '../../functions/approval-api/request.js';
import { prefersJson, toApiError } from '../../functions/approval-api/responses.js';
import { confirmationPage, errorPage } from '../../functions/approval-api/pages.js';
import { parseConfirmationPage } from '../../cli/approval-client.js';
import { ValidationError } from '../../functions/lib/errors.js';
import type { LinkDescription } from '../../functions/lib/approvals/confirmation-view.js';

const APPROVAL_ID = 'greeter-1.0.0-abc1234~AAAAAAAAAAAAAAAAAAAAAA';
const SIG = 'S'.repeat(43);

function event(over: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    resource: '/approvals/{approvalId}',
    path: `/approvals/${APPROVAL_ID}`,
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { approvalId: APPROVAL_ID },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1', path: `/prod/approvals/${APPROVAL_ID}` } as APIGatewayProxyEvent['requestContext'],
    ...over,
  };
}

/** The error `fn` throws; fails the test when it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('parseApprovalRequest', () => {
  it('reads the signed fields of a GET from the query, and posts back to the stage path', () => {
    const parsed = parseApprovalRequest(
      event({ queryStringParameters: { decision: 'reject', approver: 'a@example.com', expires: '1900000000', sig: SIG } }),
    );
    expect(parsed).toEqual({
      route: 'link',
      method: 'GET',
      approvalId: APPROVAL_ID,
      path: `/prod/approvals/${APPROVAL_ID}`,
      link: { approvalId: APPROVAL_ID, decision: 'reject', approver: 'a@example.com', expires: 1_900_000_000, sig: SIG },
    });
  });

  it('reads a base64-encoded form body, as API Gateway may deliver it', () => {
    const form = new URLSearchParams({ decision: 'approve', approver: 'a@example.com', expires: '1900000000', sig: SIG, comment: 'ok' });
    const parsed = parseApprovalRequest(
      event({
        httpMethod: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
        body: Buffer.from(form.toString()).toString('base64'),
        isBase64Encoded: true,
      }),
    );
    expect(parsed).toMatchObject({ method: 'POST', comment: 'ok', link: { decision: 'approve', expires: 1_900_000_000 } });
  });

  it('refuses a signed field given twice in a form body, naming it', () => {
    const body = `decision=approve&decision=reject&approver=a%40example.com&expires=1&sig=${SIG}`;
    const err = thrown(() =>
      parseApprovalRequest(event({ httpMethod: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fields).toEqual({ 'body.decision': 'expected a single value' });
  });

  it('maps errors it throws to statuses: 413 for large bodies, 405 for other methods', () => {
    const big = event({ httpMethod: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'x'.repeat(16 * 1024 + 1) });
    expect(toApiError(thrown(() => parseApprovalRequest(big)))).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      message: 'the request body is larger than 16384 bytes',
    });
    expect(toApiError(thrown(() => parseApprovalRequest(event({ httpMethod: 'DELETE' }))))).toMatchObject({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      headers: { Allow: 'GET, POST' },
    });
  });

  it('hides the detail of unknown errors behind a generic 500', () => {
    expect(toApiError(new Error('table launchway-releases is gone'))).toEqual({
      status: 500,
      code: 'INTERNAL',
      message: 'Internal error. Quote the request id when you report it.',
    });
  });
});

describe('prefersJson', () => {
  it.each([
    ['application/json', true],
    ['application/json, */*;q=0.5', true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
    ['*/*', false],
    ['text/html, application/json', false],
    ['text/html;q=0.5, application/json', true],
    [undefined, false],
  ])('%s -> %s', (accept, json) => expect(prefersJson(accept)).toBe(json));
});

describe('confirmation page', () => {
  const view: LinkDescription = {
    link: { approvalId: APPROVAL_ID, decision: 'reject', approver: 'a@example.com', expires: 1_900_000_000 },
    approval: {
      approvalId: APPROVAL_ID,
      releaseId: 'greeter-1.0.0-abc1234',
      service: 'greeter',
      status: 'PENDING',
      approvers: ['a@example.com', 'b@example.com'],
      requiredApprovals: 1,
      decisions: [],
      approvedBy: [],
      rejectedBy: [],
      expiresAt: 1_900_000_000,
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    release: {
      releaseId: 'greeter-1.0.0-abc1234',
      service: 'greeter',
      version: '1.0.0',
      commit: 'abc1234',
      branch: 'main"><script>x</script>',
      triggeredBy: 'ci@example.com',
      status: 'AWAITING_APPROVAL',
      changes: [{ title: 'feat: "quoted" & <b>bold</b>', url: 'javascript:alert(1)' }],
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    allowedDecisions: ['reject', 'approve'],
    form: { approver: 'a@example.com', expires: 1_900_000_000, sig: SIG },
  };

  it('escapes every value, drops non-http links, and its form reads back with both buttons, link decision first', () => {
    const html = confirmationPage(view, `/prod/approvals/${APPROVAL_ID}`);
    expect(html).not.toMatch(/<script|<b>|javascript:/);
    expect(html).toContain('feat: &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('No smoke test results were recorded');
    const form = parseConfirmationPage(html, `https://approvals.example.com/prod/approvals/${APPROVAL_ID}?decision=reject`);
    expect(form).toEqual({
      action: `https://approvals.example.com/prod/approvals/${APPROVAL_ID}`,
      method: 'post',
      hidden: { approver: 'a@example.com', expires: '1900000000', sig: SIG },
      decisions: ['reject', 'approve'],
    });
  });

  it('has no form when nothing can be decided, and the client quotes the notice', () => {
    const html = confirmationPage({ ...view, allowedDecisions: [], form: undefined, notice: 'This approval is closed <now>.' }, '/x');
    expect(() => parseConfirmationPage(html, 'http://127.0.0.1/x')).toThrow('has no decision form: This approval is closed <now>.');
  });

  it('links the smoke reports with their presigned URLs (escaped), labels them, and marks IAM decisions', () => {
    const presigned = 'https://bucket.s3.amazonaws.com/reports/greeter/r/staging/junit.xml?X-Amz-Expires=900&X-Amz-Signature=ab"cd';
    const html = confirmationPage(
      {
        ...view,
        smoke: {
          status: 'SUCCEEDED',
          total: 3,
          passed: 3,
          failed: 0,
          failures: [],
          reportKeys: { junit: 'reports/r/junit.xml', json: 'reports/r/newman.json' },
        },
        reportUrls: { junit: presigned },
        approval: {
          ...view.approval,
          decisions: [
            {
              approver: 'b@example.com',
              decision: 'approve',
              decidedAt: '2026-01-01T01:00:00.000Z',
              via: 'iam',
              identity: 'arn:aws:iam::111122223333:user/b',
            },
          ],
        },
      },
      '/x',
    );
    expect(html).toContain('<p id="smoke-counts">3 passed, 0 failed of 3 (SUCCEEDED)</p>');
    expect(html).toContain(
      '<a href="https://bucket.s3.amazonaws.com/reports/greeter/r/staging/junit.xml?X-Amz-Expires=900&amp;X-Amz-Signature=ab%22cd" rel="noreferrer noopener">JUnit report (XML)</a>',
    );
    // Without a URL the key is shown, not linked.
    expect(html).toContain('<li>Newman report (JSON): <code>reports/r/newman.json</code></li>');
    expect(html).toContain('chose to approve at 2026-01-01T01:00:00.000Z (signed in with IAM)');
  });

  it('renders error pages with the code and the request id, escaped', () => {
    const html = errorPage({ status: 403, code: 'FORBIDDEN', message: 'a <b> is not an approver' }, 'req-<1>');
    expect(html).toContain('a &lt;b&gt; is not an approver');
    expect(html).toContain('<code id="request-id">req-&lt;1&gt;</code>');
  });
});

describe('approvalServiceFromConfig', () => {
  it('builds the service the approval API needs without mail settings, which only RequestApproval uses', async () => {
    const { approvalServiceFromConfig } = await import('../../functions/lib/approvals/approval-service.js');
    const { resetConfig } = await import('../../functions/lib/config.js');
    const saved = { ...process.env };
    Object.assign(process.env, {
      RELEASES_TABLE: 't',
      ARTIFACTS_BUCKET: 'b',
      APPROVAL_BASE_URL: 'https://approvals.example.com/prod/',
      APPROVAL_SIGNING_SECRET: 's'.repeat(32),
      NOTIFIER: 'outbox',
    });
    delete process.env.OUTBOX_DIR;
    resetConfig();
    try {
      const service = approvalServiceFromConfig();
      expect(approvalServiceFromConfig()).toBe(service);
      delete process.env.APPROVAL_BASE_URL;
      resetConfig();
      expect(() => approvalServiceFromConfig()).toThrow(/APPROVAL_BASE_URL/);
    } finally {
      process.env = saved;
      resetConfig();
    }
  });
});
