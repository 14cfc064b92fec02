import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { NotFoundError, ValidationError } from '../../functions/lib/errors.js';
import { CliError, describeError, networkCause, renderError } from '../../cli/errors.js';
import { EXIT, RELEASE_EXIT_CODES, exitCodeForStatus } from '../../cli/exit-codes.js';
import { approvalLine, colorEnabled } from '../../cli/format.js';
import { durationOption, exactlyOne, parseDuration, positiveInt, requireEnv } from '../../cli/options.js';
import { waitProgress } from '../../cli/progress.js';
import type { ApprovalSummary } from '../../functions/lib/approvals/records.js';

const plain = { red: (s: string) => s, bold: (s: string) => s };

describe('exit codes', () => {
  it('gives every end of a release its own code, SUCCEEDED 0, CANCELLED and SUPERSEDED one', () => {
    expect(exitCodeForStatus('SUCCEEDED')).toBe(0);
    const ends = ['FAILED', 'REJECTED', 'EXPIRED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'CANCELLED'];
    const codes = ends.map(exitCodeForStatus);
    expect(codes).toEqual([10, 11, 12, 13, 14, 15]);
    expect(exitCodeForStatus('SUPERSEDED')).toBe(exitCodeForStatus('CANCELLED'));
    // None collides with a code that is not an outcome.
    for (const code of codes) expect(Object.values(EXIT)).not.toContain(code);
  });

  it('never reads an unknown status, or a key of Object.prototype, as success', () => {
    for (const status of ['RUNNING', 'AWAITING_APPROVAL', 'SOMETHING_NEW', 'constructor', 'toString', '']) {
      expect(exitCodeForStatus(status), status).toBe(EXIT.ERROR);
    }
    expect(Object.keys(RELEASE_EXIT_CODES)).toHaveLength(8);
  });
});

describe('errors as the API error format', () => {
  it('a ValidationError is VALIDATION_ERROR, exit 2, with its fields', () => {
    const err = new ValidationError('release request is invalid: version: expected a semantic version', {
      version: 'expected a semantic version',
    });
    expect(describeError(err)).toEqual({
      exitCode: 2,
      body: {
        error: {
          code: 'VALIDATION_ERROR',
          message: 'release request is invalid: version: expected a semantic version',
          details: { fields: { version: 'expected a semantic version' } },
        },
      },
    });
    // The human form lists each field once, under the message's title.
    expect(renderError(describeError(err).body, plain)).toBe('✖ release request is invalid\n  version: expected a semantic version');
  });

  it("a commander usage error is VALIDATION_ERROR, exit 2, naming the option from commander's message", () => {
    const err = new CommanderError(1, 'commander.missingMandatoryOptionValue', "error: required option '--service <name>' not specified");
    expect(describeError(err)).toEqual({
      exitCode: 2,
      body: {
        error: {
          code: 'VALIDATION_ERROR',
          message: "required option '--service <name>' not specified",
          details: { fields: { '--service': "required option '--service <name>' not specified" } },
        },
      },
    });
    const command = new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'bogus'");
    expect(describeError(command).body.error).toEqual({ code: 'VALIDATION_ERROR', message: "unknown command 'bogus'" });
  });

  it('NotFoundError is NOT_FOUND, exit 1', () => {
    expect(describeError(new NotFoundError('release x does not exist'))).toEqual({
      exitCode: 1,
      body: { error: { code: 'NOT_FOUND', message: 'release x does not exist' } },
    });
  });

  it('a network error, thrown by the SDK or wrapped by fetch, is STACK_UNREACHABLE, exit 5', () => {
    const sdk = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), {
      code: 'ECONNREFUSED',
      address: '127.0.0.1',
      port: 4567,
    });
    const { exitCode, body } = describeError(sdk);
    expect(exitCode).toBe(5);
    expect(body.error).toMatchObject({
      code: 'STACK_UNREACHABLE',
      details: { cause: 'ECONNREFUSED', address: '127.0.0.1:4567' },
    });
    expect(body.error.message).toBe(
      'no Launchway stack answers at http://127.0.0.1:4567: start it with `npx launchway dev` (and `source .launchway/endpoints.env`)',
    );
    // Refused elsewhere than on this machine: not the embedded stack, so the general hint.
    const remote = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED', address: '10.0.0.7', port: 443 });
    expect(describeError(remote).body.error.message).toContain('could not be reached (ECONNREFUSED 10.0.0.7:443)');
    const fetchFailed = new TypeError('fetch failed', {
      cause: new AggregateError([Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' })]),
    });
    expect(networkCause(fetchFailed)?.code).toBe('ENOTFOUND');
    expect(describeError(fetchFailed).exitCode).toBe(5);
    // An error whose code merely looks like a system error code is not one.
    expect(networkCause(Object.assign(new Error('x'), { code: 'ConditionalCheckFailed' }))).toBeUndefined();
  });

  it('a CliError keeps its code, exit code and details; anything else is INTERNAL, exit 1', () => {
    const refused = new CliError('FORBIDDEN', 'the approve decision was refused with 403', EXIT.ERROR, { status: 403 });
    expect(describeError(refused)).toEqual({
      exitCode: 1,
      body: { error: { code: 'FORBIDDEN', message: 'the approve decision was refused with 403', details: { status: 403 } } },
    });
    expect(describeError(new CliError('TIMEOUT', 'waited', EXIT.WAIT_TIMEOUT)).exitCode).toBe(4);
    expect(describeError(new Error('boom'))).toEqual({ exitCode: 1, body: { error: { code: 'INTERNAL', message: 'boom' } } });
    expect(describeError('a string').body.error.message).toBe('a string');
  });
});

describe('option values', () => {
  it('--limit: a whole number from 1 to the maximum, else an error naming the option and the value', () => {
    const limit = positiveInt('--limit', 1000);
    expect(limit('1')).toBe(1);
    expect(limit('1000')).toBe(1000);
    for (const bad of ['0', '1001', 'abc', '2.5', '-3', '', '1e3', ' 5']) {
      let caught: unknown;
      try {
        limit(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).fields['--limit']).toBe(`expected a whole number from 1 to 1000, got ${JSON.stringify(bad)}`);
    }
  });

  it('durations: units ms, s, m, h, d, combined; bounds', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2d')).toBe(172_800_000);
    for (const bad of ['90', 'abc', '1x', 'h', '1.5h', '']) expect(parseDuration(bad), bad).toBeUndefined();
    const timeout = durationOption('--timeout');
    expect(timeout('2h')).toBe(7_200_000);
    expect(() => timeout('500ms')).toThrow(ValidationError);
    expect(() => timeout('31d')).toThrow(ValidationError);
    try {
      timeout('soon');
    } catch (err) {
      expect((err as ValidationError).fields['--timeout']).toMatch(/^expected a duration .* such as 90s, 30m, 2h or 1h30m, got "soon"$/);
    }
  });

  it('requireEnv names each missing variable', () => {
    expect(() => requireEnv(['A'], { A: 'x' })).not.toThrow();
    try {
      requireEnv(['A', 'B', 'C'], { B: 'set' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect(Object.keys((err as ValidationError).fields)).toEqual(['A', 'C']);
    }
  });

  it('exactlyOne takes --artifact or its older name --bundle, and names both when none or both are given', () => {
    expect(exactlyOne({ '--artifact': 'build/', '--bundle': undefined })).toBe('build/');
    expect(exactlyOne({ '--artifact': undefined, '--bundle': 'dist/service.mjs' })).toBe('dist/service.mjs');
    const both = (() => {
      try {
        return exactlyOne({ '--artifact': 'a', '--bundle': 'b' });
      } catch (err) {
        return err as ValidationError;
      }
    })() as ValidationError;
    expect(both.message).toBe('conflicting options --artifact and --bundle');
    expect(both.fields).toEqual({
      '--artifact': 'give only one of --artifact or --bundle, not both',
      '--bundle': 'give only one of --artifact or --bundle, not both',
    });
    expect(describeError(both).exitCode).toBe(EXIT.USAGE);
    expect(() => exactlyOne({ '--artifact': undefined, '--bundle': undefined })).toThrow('missing option --artifact or --bundle');
  });
});

describe('colour', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it('only when both streams are terminals; NO_COLOR stops it, FORCE_COLOR forces it', () => {
    expect(colorEnabled({}, [tty, tty])).toBe(true);
    expect(colorEnabled({}, [pipe, tty])).toBe(false);
    expect(colorEnabled({}, [tty, pipe])).toBe(false);
    expect(colorEnabled({ TERM: 'dumb' }, [tty, tty])).toBe(false);
    expect(colorEnabled({ NO_COLOR: '1' }, [tty, tty])).toBe(false);
    expect(colorEnabled({ NO_COLOR: '' }, [tty, tty])).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: '1' }, [pipe, pipe])).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: '', NO_COLOR: '1' }, [pipe, pipe])).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: '0' }, [tty, tty])).toBe(false);
    expect(colorEnabled({ FORCE_COLOR: 'false' }, [tty, tty])).toBe(false);
  });
});

describe('the approval wait', () => {
  const created = Date.parse('2026-01-01T10:00:00Z');
  const approval: ApprovalSummary = {
    approvalId: 'a1',
    releaseId: 'greeter-1.0.0-abc1234',
    service: 'greeter',
    status: 'PENDING',
    approvers: ['lead@example.com', 'qa@example.com', 'ops@example.com'],
    requiredApprovals: 2,
    decisions: [],
    approvedBy: ['lead@example.com'],
    rejectedBy: [],
    expiresAt: (created + 48 * 3600_000) / 1000,
    createdAt: new Date(created).toISOString(),
  };

  it('says who must decide, N of M, the expiry and the time waited', () => {
    expect(approvalLine(approval, created + 125_000)).toBe(
      '  awaiting approval: 1 of 2 approvals (lead@example.com); to decide: qa@example.com, ops@example.com; ' +
        'expires 2026-01-03T10:00:00.000Z (in 47 h 58 min); waiting 2 min 05 s',
    );
  });

  it('is written when it changes and otherwise once per heartbeat', () => {
    const lines: string[] = [];
    let now = created;
    const show = waitProgress((l) => lines.push(l), { heartbeatMs: 60_000, now: () => now });
    show({ kind: 'approval', approval });
    now += 5_000;
    show({ kind: 'approval', approval });
    expect(lines).toHaveLength(1);
    show({ kind: 'approval', approval: { ...approval, approvedBy: ['lead@example.com', 'qa@example.com'] } });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('2 of 2 approvals');
    now += 60_000;
    show({ kind: 'approval', approval: { ...approval, approvedBy: ['lead@example.com', 'qa@example.com'] } });
    expect(lines).toHaveLength(3);
    show({ kind: 'status', status: 'RUNNING' });
    expect(lines[3]).toMatch(/^status .*RUNNING/);
  });
});
