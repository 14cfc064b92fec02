import { describe, expect, it } from 'vitest';
import { ENDED_EXECUTION_STATUSES } from '../../functions/lib/pipeline/execution-ended.js';
import { identityStatements, synthStack, type CfnResource } from './synth.js';

/**
 * The EventBridge rule that sends this state machine's FAILED, TIMED_OUT and ABORTED executions to the
 * execution-status function, its dead letters, and the alarms on what needs a person: a release that ended
 * ROLLBACK_FAILED, and an ended execution nobody could finalize.
 */
const { template, functionIds } = synthStack();
const resources = (type: string) => template.findResources(type) as Record<string, CfnResource>;
const only = (type: string) => {
  const found = Object.entries(resources(type));
  expect(found, type).toHaveLength(1);
  return found[0];
};
const alarmNamed = (metricName: string) => {
  const found = Object.values(resources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === metricName);
  expect(found, metricName).toHaveLength(1);
  return found[0].Properties;
};
const firesOnAny = {
  Threshold: 1,
  EvaluationPeriods: 1,
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  TreatMissingData: 'notBreaching',
  Period: 300,
};

describe('execution-status rule', () => {
  const [machineId] = only('AWS::StepFunctions::StateMachine');
  const [queueId, queue] = only('AWS::SQS::Queue');
  const [, rule] = only('AWS::Events::Rule') as [string, CfnResource & { Properties: Record<string, any> }];

  it("matches this state machine's FAILED, TIMED_OUT and ABORTED status changes on the default bus", () => {
    expect(ENDED_EXECUTION_STATUSES).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: machineId }] },
    });
  });

  it('targets the execution-status function, retrying for a day into a dead-letter queue', () => {
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [functionIds['execution-status'], 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
      }),
    ]);
    const permissions = Object.values(resources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === 'events.amazonaws.com',
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0].Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionIds['execution-status'], 'Arn'] },
    });
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
  });

  it("sends the function's failed asynchronous invocations to the same queue", () => {
    const [, config] = only('AWS::Lambda::EventInvokeConfig');
    expect(config.Properties).toMatchObject({
      FunctionName: { Ref: functionIds['execution-status'] },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  it('invokes nothing: no role may call a Lambda function but the state machine', () => {
    const invokers = identityStatements(template).filter((s) => s.Action.includes('lambda:InvokeFunction'));
    expect(invokers.length).toBeGreaterThan(0);
    expect(invokers.every((s) => s.holder.includes('ReleaseStateMachine'))).toBe(true);
  });

  it('alarms on a release that ended ROLLBACK_FAILED, whatever its service', () => {
    const alarm = alarmNamed('RollbackFailed');
    expect(alarm).toMatchObject({ ...firesOnAny, Namespace: 'Launchway', Statistic: 'Sum' });
    expect(alarm.Dimensions).toEqual([{ Name: 'service', Value: 'launchway' }]);
    expect(alarm.AlarmDescription).toContain('production may be running the failed version');
  });

  it('alarms on any message in the dead-letter queue', () => {
    const alarm = alarmNamed('ApproximateNumberOfMessagesVisible');
    expect(alarm).toMatchObject({ ...firesOnAny, Namespace: 'AWS/SQS', Statistic: 'Maximum' });
    expect(alarm.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  });
});
