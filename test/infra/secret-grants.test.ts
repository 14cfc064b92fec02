import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES, type HandlerName } from '../../functions/steps.js';
import type { CatalogInput } from '../../infra/release-pipeline.js';
import { type CfnResource, identityStatements, roleIdOf, synthStack, type Statement, type Synthesized } from './synth.js';

/**
 * Secrets the catalog names are read at run time from Secrets Manager; each function may read exactly the secrets
 * its work needs: a stage's test secrets by the function testing that stage, a target's secretEnv by the functions
 * that start that target's versions.
 */

const ACCOUNT = '123456789012';
const PROD_DB = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:notes/prod-db-AbCdEf`;
/** An ARN without the six-character suffix: GetSecretValue accepts it and authorizes on the full ARN. */
const PROD_USER = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:notes/prod-user`;
const approvers = ['lead@example.com'];
const catalog: CatalogInput = {
  services: {
    notes: {
      approvers,
      tests: { secretVariables: { password: 'notes/test-user', token: { secret: 'notes/test-user', key: 'token' } } },
      staging: {
        type: 'local-process',
        secretEnv: { DB_PASSWORD: { secret: 'notes/staging-db', key: 'password' } },
        tests: { secretVariables: { stagingOnly: 'notes/staging-tests' } },
      },
      production: {
        type: 'local-process',
        secretEnv: { DB_PASSWORD: { secret: PROD_DB, key: 'password' }, SESSION_KEY: 'notes/session' },
        tests: { secretVariables: { password: PROD_USER } },
      },
    },
    plain: { approvers, staging: { type: 'local-process' }, production: { type: 'local-process' } },
  },
};

/** A resource as text: `Fn::Join` flattened and pseudo parameters written `${AWS::Partition}`. */
function text(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  const r = resource as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (r.Ref) return `\${${r.Ref}}`;
  if (r['Fn::Join']) return r['Fn::Join'][1].map(text).join(r['Fn::Join'][0]);
  return JSON.stringify(resource);
}

const named = (name: string) => `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`;

describe('catalog secret grants', () => {
  let synth: Synthesized;
  let statements: Statement[];

  beforeAll(() => {
    synth = synthStack({ catalog });
    statements = identityStatements(synth.template).filter((s) => s.Action.some((a) => a.toLowerCase().startsWith('secretsmanager:')));
  });

  /** The secrets one function's role may read. */
  const readable = (name: HandlerName) => {
    const role = roleIdOf(synth.template, synth.functionIds[name]);
    return statements
      .filter((s) => s.roles.includes(role))
      .flatMap((s) => {
        expect(s.Action).toEqual(['secretsmanager:GetSecretValue']);
        return s.Resource.map(text);
      })
      .sort();
  };

  it("gives each test function its stage's test secrets and the service's, and nothing else", () => {
    expect(readable('smoke-test-staging')).toEqual([named('notes/staging-tests'), named('notes/test-user')]);
    expect(readable('validate-production')).toEqual([`${PROD_USER}-??????`, named('notes/test-user')].sort());
  });

  it("gives the deploy functions both targets' secretEnv, and the rollback holders production's only; a full ARN as given", () => {
    const both = [PROD_DB, named('notes/session'), named('notes/staging-db')].sort();
    expect(readable('deploy')).toEqual(both);
    expect(readable('deploy-status')).toEqual(both);
    for (const name of ['rollback', 'execution-status', 'operate'] as const) {
      expect(readable(name)).toEqual([PROD_DB, named('notes/session')].sort());
    }
  });

  it('grants no secret to any other function, and never by wildcard alone', () => {
    const readers: HandlerName[] = [
      'smoke-test-staging',
      'validate-production',
      'deploy',
      'deploy-status',
      'rollback',
      'execution-status',
      'operate',
    ];
    for (const name of HANDLER_NAMES.filter((n) => !readers.includes(n))) expect(readable(name), name).toEqual([]);
    for (const s of statements) for (const r of s.Resource.map(text)) expect(r).not.toMatch(/\*/);
  });

  it('tells exactly the reading functions to read Secrets Manager', () => {
    const readers = new Set<string>([
      'smoke-test-staging',
      'validate-production',
      'deploy',
      'deploy-status',
      'rollback',
      'execution-status',
      'operate',
    ]);
    for (const name of HANDLER_NAMES) {
      const fn = synth.template.toJSON().Resources[synth.functionIds[name]] as CfnResource;
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.SECRETS_SOURCE, name).toBe(readers.has(name) ? 'secrets-manager' : undefined);
    }
  });

  it('grants nothing when the catalog names no secret', () => {
    const plain = synthStack({ catalog: { services: { plain: catalog.services.plain } } });
    const any = identityStatements(plain.template).filter((s) => s.Action.some((a) => a.toLowerCase().startsWith('secretsmanager:')));
    expect(any).toEqual([]);
  });
});
