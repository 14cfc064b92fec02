import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { HANDLER_NAMES, type HandlerName } from '../../functions/steps.js';
import { REPO_ROOT } from '../../infra/paths.js';
import type { ReleasePipelineProps } from '../../infra/release-pipeline.js';
import { LaunchwayStack } from '../../infra/stack.js';

/** Test-side helpers: synthesize the stack the way `cdk synth` does, minus bundling. */

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const FIXTURE_CATALOG_PATH = path.join(FIXTURES, 'catalog.json');

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * The feature flags from cdk.json plus the context that skips esbuild, so template tests see what `cdk synth`
 * produces without spending seconds on bundles.
 */
export function appContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cdkJson = readJson(path.join(REPO_ROOT, 'cdk.json')) as { context?: Record<string, unknown> };
  return { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...extra };
}

export interface Synthesized {
  stack: LaunchwayStack;
  template: Template;
  /** The CloudFormation logical id of each handler's function. */
  functionIds: Record<HandlerName, string>;
}

/** Builds a LaunchwayStack from the fixture catalog (or the given props) and synthesizes its template. */
export function synthStack(props: Partial<ReleasePipelineProps> = {}): Synthesized {
  const app = new App({ context: appContext() });
  const stack = new LaunchwayStack(app, 'LaunchwayTest', {
    pipeline: {
      catalog: readJson(FIXTURE_CATALOG_PATH) as ReleasePipelineProps['catalog'],
      mailFrom: 'releases@launchway.example.com',
      ...props,
    },
  });
  const template = Template.fromStack(stack);
  const functionIds = Object.fromEntries(
    HANDLER_NAMES.map((name) => [name, logicalIdOf(stack, stack.pipeline.functions[name].node.defaultChild as CfnFunction)]),
  ) as Record<HandlerName, string>;
  return { stack, template, functionIds };
}

export function logicalIdOf(stack: Stack, element: Parameters<Stack['getLogicalId']>[0]): string {
  return stack.resolve(stack.getLogicalId(element)) as string;
}

/** A CloudFormation resource as the template holds it. */
export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
}

/** One IAM statement, normalized so Action and Resource are always arrays. */
export interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown[];
  Condition?: Record<string, unknown>;
  /** Logical ids of the roles the statement's policy is attached to (empty for resource policies). */
  roles: string[];
  /** Logical id of the policy or role that holds the statement. */
  holder: string;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every identity-based statement in the template: AWS::IAM::Policy documents and roles' inline policies. */
export function identityStatements(template: Template): Statement[] {
  const out: Statement[] = [];
  const push = (holder: string, roles: string[], doc: unknown) => {
    for (const s of asArray((doc as { Statement?: unknown }).Statement) as Record<string, unknown>[]) {
      out.push({
        Effect: s.Effect as string,
        Action: asArray(s.Action as string | string[]),
        Resource: asArray(s.Resource),
        Condition: s.Condition as Record<string, unknown> | undefined,
        roles,
        holder,
      });
    }
  };
  for (const [id, res] of Object.entries(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>)) {
    const roles = asArray(res.Properties.Roles as unknown[]).map((r) => (r as { Ref: string }).Ref);
    push(id, roles, res.Properties.PolicyDocument);
  }
  for (const [id, res] of Object.entries(template.findResources('AWS::IAM::Role') as Record<string, CfnResource>)) {
    for (const p of asArray(res.Properties.Policies as { PolicyDocument: unknown }[])) push(id, [id], p.PolicyDocument);
  }
  return out;
}

/** The logical id of a function's execution role (`Role: {Fn::GetAtt: [id, 'Arn']}`). */
export function roleIdOf(template: Template, functionId: string): string {
  const fn = template.toJSON().Resources[functionId] as CfnResource;
  return (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Statements attached to one role. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  return identityStatements(template).filter((s) => s.roles.includes(roleId));
}

/** Does a statement allow this action (exactly, or through a wildcard pattern such as `s3:Put*`)? */
export function allows(s: Statement, action: string): boolean {
  if (s.Effect !== 'Allow') return false;
  return s.Action.some((a) => new RegExp(`^${a.split('*').map(escapeRegExp).join('.*')}$`, 'i').test(action));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
