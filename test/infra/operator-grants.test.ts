import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ReleasePipeline } from '../../infra/release-pipeline.js';
import { FIXTURE_CATALOG_PATH, appContext, logicalIdOf, readJson, statementsOfRole } from './synth.js';

describe('grantOperate', () => {
  it("gives an operator the table, Describe/Stop/Redrive on this machine's executions, the operate function, this stack only", () => {
    const app = new App({ context: appContext() });
    const stack = new Stack(app, 'Operators');
    const pipeline = new ReleasePipeline(stack, 'Pipeline', {
      catalog: readJson(FIXTURE_CATALOG_PATH) as never,
      mailFrom: 'releases@launchway.example.com',
    });
    const operators = new iam.Role(stack, 'Operators', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantOperate(operators);
    const template = Template.fromStack(stack);
    const statements = statementsOfRole(template, stack.resolve((operators.node.defaultChild as iam.CfnRole).logicalId) as string);
    const byAction = (prefix: string) => statements.filter((s) => s.Action.some((a) => a.startsWith(prefix)));

    const states = byAction('states:');
    expect(states.flatMap((s) => s.Action).sort()).toEqual([
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:RedriveExecution',
      'states:StopExecution',
    ]);
    const machine = logicalIdOf(stack, pipeline.stateMachine.node.defaultChild as never);
    for (const s of states) for (const r of s.Resource) expect(JSON.stringify(r)).toMatch(new RegExp(`:execution:.*${machine}`));

    const invokes = byAction('lambda:');
    expect(invokes.flatMap((s) => s.Action)).toEqual(['lambda:InvokeFunction']);
    const operate = logicalIdOf(stack, pipeline.functions.operate.node.defaultChild as never);
    expect(JSON.stringify(invokes.flatMap((s) => s.Resource))).toContain(operate);
    for (const name of ['rollback', 'finalize', 'prepare'] as const) {
      expect(JSON.stringify(invokes), name).not.toContain(logicalIdOf(stack, pipeline.functions[name].node.defaultChild as never));
    }
    expect(byAction('dynamodb:').length).toBeGreaterThan(0);
    // --stack: this stack's outputs, no other stack's.
    expect(byAction('cloudformation:').map((s) => [s.Action, s.Resource])).toEqual([
      [['cloudformation:DescribeStacks'], [{ Ref: 'AWS::StackId' }]],
    ]);
    expect(statements.every((s) => !s.Action.includes('*'))).toBe(true);
  });
});
