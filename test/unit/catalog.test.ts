import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  apiOwnersOf,
  MAX_APPROVAL_TIMEOUT_SECONDS,
  MAX_DEPLOY_SECONDS,
  MAX_LOCK_WAIT_SECONDS,
  parseCatalog,
} from '../../functions/lib/catalog.js';
import { MAX_UPDATE_SECONDS } from '../../functions/lib/deploy/targets.js';
import { MAX_POLL_SECONDS } from '../../functions/lib/poll-schedule.js';
import { editDistance, nearestKey } from '../../functions/lib/strict-object.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROLE = 'arn:aws:iam::123456789012:role/deployer';

/** A valid catalog with one service, `greeter`, changed by `edit`. */
function catalog(edit: (service: Record<string, any>, root: Record<string, any>) => void = () => {}): Record<string, any> {
  const greeter = { approvers: ['lead@example.com'], staging: { type: 'local-process' }, production: { type: 'local-process' } };
  const root = { services: { greeter } };
  edit(greeter, root);
  return root;
}

/** The error lines of a catalog that does not parse, without the heading. */
function problems(input: unknown): string[] {
  try {
    parseCatalog(input);
  } catch (err) {
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
  throw new Error('expected the catalog to be rejected');
}

describe('catalog: unknown fields', () => {
  it('names a misspelt field at the top level, with the field it meant', () => {
    expect(problems(catalog((_, root) => (root.servces = {})))).toEqual(['servces: unknown field (did you mean services?)']);
  });

  it('names a misspelt service field (the default it would have shadowed no longer applies silently)', () => {
    expect(problems(catalog((s) => (s.requiredApproval = 2)))).toEqual([
      'services.greeter.requiredApproval: unknown field (did you mean requiredApprovals?)',
    ]);
    expect(problems(catalog((s) => (s.approvaltimeoutseconds = 60)))).toEqual([
      'services.greeter.approvaltimeoutseconds: unknown field (did you mean approvalTimeoutSeconds?)',
    ]);
  });

  it('names an unknown service field that is near no known one without guessing', () => {
    expect(problems(catalog((s) => (s.freezeWindows = [])))).toEqual(['services.greeter.freezeWindows: unknown field']);
  });

  it('names a misspelt interop field', () => {
    expect(problems(catalog((s) => (s.interop = { apiKeyRequird: true })))).toEqual([
      'services.greeter.interop.apiKeyRequird: unknown field (did you mean apiKeyRequired?)',
    ]);
  });

  it('names a misspelt field of a target, by the fields of its type', () => {
    expect(problems(catalog((s) => (s.staging = { type: 'local-process', startTimeoutSecond: 10 })))).toEqual([
      'services.greeter.staging.startTimeoutSecond: unknown field (did you mean startTimeoutSeconds?)',
    ]);
    const ecs = { type: 'ecs-service', cluster: 'c', service: 's', containerName: 'app', timeoutSecs: 600 };
    expect(problems(catalog((s) => (s.production = ecs)))).toEqual([
      'services.greeter.production.timeoutSecs: unknown field (did you mean timeoutSeconds?)',
    ]);
    // A field of another target type is unknown here too.
    expect(problems(catalog((s) => (s.staging = { type: 'local-process', functionName: 'f' })))).toEqual([
      'services.greeter.staging.functionName: unknown field',
    ]);
  });

  it('names a misspelt field of a nested target object', () => {
    const shifting = { type: 'canary', intervalSecond: 60, alarm: ['orders-5xx'] };
    expect(problems(catalog((s) => (s.staging = { type: 'lambda-alias', functionName: 'orders', trafficShifting: shifting })))).toEqual([
      'services.greeter.staging.trafficShifting.intervalSecond: unknown field (did you mean intervalSeconds?)',
      'services.greeter.staging.trafficShifting.alarm: unknown field (did you mean alarms?)',
    ]);
    const cfn = { type: 'cloudformation', stackName: 'orders', roleArn: ROLE, paramters: {} };
    expect(problems(catalog((s) => (s.production = cfn)))).toEqual([
      'services.greeter.production.paramters: unknown field (did you mean parameters?)',
    ]);
  });

  it('reports an unknown type as such, not the fields that type does not have', () => {
    expect(problems(catalog((s) => (s.staging = { type: 'kubernetes', namespace: 'orders' })))).toEqual([
      'services.greeter.staging.type: expected type "local-process", "lambda-alias", "cloudformation", "ecs-service" or "http"',
    ]);
  });

  it('reports unknown fields along with the other problems of the catalog', () => {
    expect(problems(catalog((s) => Object.assign(s, { notfy: [], requiredApprovals: 2 })))).toEqual([
      'services.greeter.notfy: unknown field (did you mean notify?)',
      'services.greeter.requiredApprovals: requiredApprovals cannot exceed the number of approvers',
    ]);
  });

  it('suggests only a key within a few edits, ignoring case', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestKey('stag', ['stage', 'staging'])).toBe('stage');
    expect(nearestKey('env', ['enabled'])).toBeUndefined();
    expect(nearestKey('HEALTHPATH', ['healthPath'])).toBe('healthPath');
  });
});

/** A duration field: where it sits in a service entry, its bounds, and a value for each setting around it. */
interface Bound {
  field: string;
  min: number;
  max: number;
  set: (service: Record<string, any>, value: number) => void;
}
const target = (env: 'staging' | 'production', t: Record<string, unknown>) => (s: Record<string, any>) => (s[env] = t);
const BOUNDS: Bound[] = [
  { field: 'approvalTimeoutSeconds', min: 1, max: MAX_APPROVAL_TIMEOUT_SECONDS, set: (s, v) => (s.approvalTimeoutSeconds = v) },
  {
    field: 'approvalReminderBeforeExpirySeconds',
    min: 0,
    max: MAX_APPROVAL_TIMEOUT_SECONDS - 1,
    set: (s, v) => Object.assign(s, { approvalTimeoutSeconds: MAX_APPROVAL_TIMEOUT_SECONDS, approvalReminderBeforeExpirySeconds: v }),
  },
  { field: 'lockWaitSeconds', min: 1, max: MAX_LOCK_WAIT_SECONDS, set: (s, v) => (s.lockWaitSeconds = v) },
  {
    field: 'staging.startTimeoutSeconds',
    min: 1,
    max: 600,
    set: (s, v) => target('staging', { type: 'local-process', startTimeoutSeconds: v })(s),
  },
  {
    field: 'staging.trafficShifting.bakeSeconds',
    min: 0,
    max: MAX_DEPLOY_SECONDS,
    set: (s, v) =>
      target('staging', { type: 'lambda-alias', functionName: 'f', trafficShifting: { type: 'all-at-once', bakeSeconds: v } })(s),
  },
  {
    field: 'staging.trafficShifting.intervalSeconds',
    min: 1,
    max: MAX_DEPLOY_SECONDS,
    set: (s, v) =>
      target('staging', { type: 'lambda-alias', functionName: 'f', trafficShifting: { type: 'canary', intervalSeconds: v } })(s),
  },
  {
    field: 'production.trafficShifting.intervalSeconds',
    min: 1,
    max: MAX_DEPLOY_SECONDS,
    set: (s, v) =>
      target('production', {
        type: 'lambda-alias',
        functionName: 'f',
        trafficShifting: { type: 'linear', percent: 50, intervalSeconds: v },
      })(s),
  },
  {
    field: 'production.timeoutSeconds',
    min: 60,
    max: MAX_DEPLOY_SECONDS,
    set: (s, v) => target('production', { type: 'ecs-service', cluster: 'c', service: 's', containerName: 'app', timeoutSeconds: v })(s),
  },
  {
    field: 'staging.timeoutSeconds',
    min: 1,
    max: MAX_DEPLOY_SECONDS,
    set: (s, v) => target('staging', { type: 'http', deployUrl: 'https://hooks.example.com/deploy', timeoutSeconds: v })(s),
  },
  {
    field: 'staging.pollSeconds',
    min: 1,
    max: MAX_POLL_SECONDS,
    set: (s, v) => target('staging', { type: 'http', deployUrl: 'https://hooks.example.com/deploy', pollSeconds: v })(s),
  },
  {
    field: 'production.timeoutSeconds',
    min: 60,
    max: MAX_DEPLOY_SECONDS,
    set: (s, v) => target('production', { type: 'cloudformation', stackName: 'orders', roleArn: ROLE, timeoutSeconds: v })(s),
  },
  {
    field: 'staging.updateTimeoutSeconds',
    min: 60,
    max: MAX_UPDATE_SECONDS,
    set: (s, v) => target('staging', { type: 'lambda-alias', functionName: 'f', updateTimeoutSeconds: v })(s),
  },
];

describe('catalog: tests.contractConformance', () => {
  it('checks the contract and fails on a violation unless the service says otherwise', () => {
    expect(parseCatalog(catalog()).services.greeter.tests).toEqual({ contractConformance: 'fail', variables: {}, secretVariables: {} });
    expect(parseCatalog(catalog((s) => (s.tests = {}))).services.greeter.tests).toEqual({
      contractConformance: 'fail',
      variables: {},
      secretVariables: {},
    });
    for (const mode of ['warn', 'off'] as const) {
      expect(parseCatalog(catalog((s) => (s.tests = { contractConformance: mode }))).services.greeter.tests.contractConformance).toBe(mode);
    }
  });

  it('names a value that is not a mode, and a misspelt field', () => {
    const [line] = problems(catalog((s) => (s.tests = { contractConformance: 'strict' })));
    expect(line).toMatch(/^services\.greeter\.tests\.contractConformance: .*"fail".*"warn".*"off"/);
    expect(problems(catalog((s) => (s.tests = { contractConformence: 'warn' })))).toEqual([
      'services.greeter.tests.contractConformence: unknown field (did you mean contractConformance?)',
    ]);
  });
});

describe('catalog: duration bounds', () => {
  it('keeps the queue and the deploys short enough for the 5 s and 15 s polls', () => {
    expect(MAX_LOCK_WAIT_SECONDS).toBe(7200);
    expect(MAX_DEPLOY_SECONDS).toBe(1800);
  });

  it.each(BOUNDS)('$field runs from $min to $max', ({ field, min, max, set }) => {
    for (const ok of [min, max]) expect(() => parseCatalog(catalog((s) => set(s, ok))), `${field} = ${ok}`).not.toThrow();
    expect(problems(catalog((s) => set(s, min - 1)))).toEqual([`services.greeter.${field}: Too small: expected number to be >=${min}`]);
    // Past its own bound a field may break a rule it shares with another (reminder under timeout, shift in all) too.
    expect(problems(catalog((s) => set(s, max + 1)))).toContain(`services.greeter.${field}: Too big: expected number to be <=${max}`);
  });

  it('bounds a Lambda shift and its bake together by the longest deploy', () => {
    const shifting = (trafficShifting: Record<string, unknown>) =>
      catalog(target('staging', { type: 'lambda-alias', functionName: 'f', trafficShifting }));
    // Linear 10%: nine intervals after the first weight, then the bake.
    expect(() => parseCatalog(shifting({ type: 'linear', percent: 10, intervalSeconds: 200 }))).not.toThrow();
    expect(problems(shifting({ type: 'linear', percent: 10, intervalSeconds: 180, bakeSeconds: 181 }))).toEqual([
      'services.greeter.staging.trafficShifting: traffic shifting and bake take 1801 s in all; expected at most 1800 s',
    ]);
    expect(() => parseCatalog(shifting({ type: 'canary', intervalSeconds: 900, bakeSeconds: 900 }))).not.toThrow();
    expect(problems(shifting({ type: 'canary', intervalSeconds: 900, bakeSeconds: 901 }))).toEqual([
      'services.greeter.staging.trafficShifting: traffic shifting and bake take 1801 s in all; expected at most 1800 s',
    ]);
    // The linear default of 60 s at 1% would shift for 99 minutes.
    expect(problems(shifting({ type: 'linear', percent: 1 }))).toEqual([
      'services.greeter.staging.trafficShifting: traffic shifting and bake take 5940 s in all; expected at most 1800 s',
    ]);
  });
});

describe('catalog: the contract gate (interop.breakingChanges, apiOwners, allowBreakingOnMajor)', () => {
  const greeter = (edit: (s: Record<string, any>) => void = () => {}) => parseCatalog(catalog(edit)).services.greeter;

  it('defaults to approve, the approvers as API owners, and a major bump as the declaration', () => {
    const parsed = greeter((s) => (s.approvers = ['Lead@Example.com', 'qa@example.com']));
    expect(parsed.interop).toMatchObject({ breakingChanges: 'approve', allowBreakingOnMajor: true });
    expect(parsed.interop.apiOwners).toBeUndefined();
    expect(apiOwnersOf(parsed)).toEqual(['lead@example.com', 'qa@example.com']);
    // An interop object that names other fields gets the same defaults.
    expect(greeter((s) => (s.interop = { stage: 'v2' })).interop).toMatchObject({ breakingChanges: 'approve', allowBreakingOnMajor: true });
  });

  it('takes each policy, API owners of its own (lower-cased, once each) and allowBreakingOnMajor off', () => {
    for (const policy of ['approve', 'block', 'allow']) {
      expect(greeter((s) => (s.interop = { breakingChanges: policy })).interop.breakingChanges).toBe(policy);
    }
    const parsed = greeter((s) => (s.interop = { apiOwners: ['API@example.com', 'api@example.com'], allowBreakingOnMajor: false }));
    expect(apiOwnersOf(parsed)).toEqual(['api@example.com']);
    expect(parsed.interop.allowBreakingOnMajor).toBe(false);
  });

  it('names the field of a bad policy, owner or flag', () => {
    expect(problems(catalog((s) => (s.interop = { breakingChanges: 'warn' })))).toEqual([
      'services.greeter.interop.breakingChanges: Invalid option: expected one of "approve"|"block"|"allow"',
    ]);
    expect(problems(catalog((s) => (s.interop = { apiOwners: ['not-an-email'] })))).toEqual([
      'services.greeter.interop.apiOwners.0: expected an email address',
    ]);
    expect(problems(catalog((s) => (s.interop = { apiOwners: [] })))).toEqual([
      'services.greeter.interop.apiOwners: expected at least one API owner, or leave apiOwners out',
    ]);
    expect(problems(catalog((s) => (s.interop = { allowBreakingOnMajor: 'yes' })))).toEqual([
      'services.greeter.interop.allowBreakingOnMajor: Invalid input: expected boolean, received string',
    ]);
    expect(problems(catalog((s) => (s.interop = { breakingChange: 'block' })))).toEqual([
      'services.greeter.interop.breakingChange: unknown field (did you mean breakingChanges?)',
    ]);
  });
});

describe('catalog files in the repository', () => {
  const fixtures = path.join(ROOT, 'test', 'infra', 'fixtures');
  const files = [
    path.join(ROOT, 'examples', 'catalog.json'),
    ...readdirSync(fixtures)
      .filter((f) => f.endsWith('catalog.json') && f !== 'bad-catalog.json')
      .map((f) => path.join(fixtures, f)),
  ];

  it.each(files.map((f) => [path.relative(ROOT, f), f]))('%s parses', (_, file) => {
    expect(() => parseCatalog(JSON.parse(readFileSync(file, 'utf8')), file)).not.toThrow();
  });
});

describe('catalog: secret references', () => {
  const SSM = 'arn:aws:ssm:eu-west-1:123456789012:parameter/notes/db';
  const NOT_SECRET = 'expected a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or a secret name';

  it('refuses an ARN of another service, written either way', () => {
    expect(problems(catalog((s) => (s.staging = { type: 'local-process', secretEnv: { DB: SSM } })))).toEqual([
      `services.greeter.staging.secretEnv.DB: ${NOT_SECRET}`,
    ]);
    expect(problems(catalog((s) => (s.tests = { secretVariables: { password: { secret: SSM, key: 'pw' } } })))).toEqual([
      `services.greeter.tests.secretVariables.password.secret: ${NOT_SECRET}`,
    ]);
  });

  it('takes names and Secrets Manager ARNs, full or partial, in any partition', () => {
    const refs = [
      'notes/db',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:notes/db-AbCdEf',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:notes/db',
      'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:notes/db',
    ];
    for (const ref of refs) {
      const parsed = parseCatalog(catalog((s) => (s.staging = { type: 'local-process', secretEnv: { DB: ref } })));
      expect(parsed.services.greeter.staging).toMatchObject({ secretEnv: { DB: { secret: ref } } });
    }
  });
});

describe('catalog: interop.cors', () => {
  const cors = (value: object) => catalog((s) => (s.interop = { cors: value }));
  const ORIGIN = 'expected "*" or an origin such as https://app.example.com, without a path';
  const HEADER = 'expected a header name such as content-type (an HTTP token, no quote)';

  it('refuses origins a browser never sends, each on its index', () => {
    expect(
      problems(
        cors({ allowOrigins: ['example.com', 'https://a.com/', '*.a.com', 'https://*.a.com', "https://a.com'", 'https://a$b.com'] }),
      ),
    ).toEqual([0, 1, 2, 3, 4, 5].map((i) => `services.greeter.interop.cors.allowOrigins.${i}: ${ORIGIN}`));
  });

  it('refuses header names that are not HTTP tokens or would break the gateway mapping', () => {
    expect(problems(cors({ allowHeaders: ['x-ok', 'x bad', "x-quote'", 'x:colon', ''] }))).toEqual(
      [1, 2, 3, 4].map((i) => `services.greeter.interop.cors.allowHeaders.${i}: ${HEADER}`),
    );
  });

  it('keeps origins, ports and header names as written', () => {
    const value = {
      allowOrigins: ['*', 'https://app.example.com', 'http://localhost:3000'],
      allowHeaders: ['X-Request-Id', 'content-type'],
    };
    expect(parseCatalog(cors(value)).services.greeter.interop.cors).toEqual({ ...value, maxAgeSeconds: 600 });
  });
});
