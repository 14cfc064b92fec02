import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** What the alarms watch. */
export interface ReleaseAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly rollback: lambda.IFunction;
  readonly finalize: lambda.IFunction;
  readonly approvalApi: apigw.RestApi;
  /** Notified by every alarm, when given. */
  readonly topic?: sns.ITopic;
}

/**
 * Alarms on conditions that need a person, in `scope` (the pipeline): failed and timed-out releases, rollback or
 * finalize errors, approval API 5xx.
 */
export function createAlarms(scope: Construct, props: ReleaseAlarmsProps): cloudwatch.Alarm[] {
  const period = Duration.minutes(5);
  const anyOf = (alarmId: string, metric: cloudwatch.IMetric, description: string) =>
    new cloudwatch.Alarm(scope, alarmId, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
  const alarms = [
    anyOf(
      'ReleaseFailedAlarm',
      props.stateMachine.metricFailed({ period, statistic: 'Sum' }),
      'A release execution failed. Rejected and expired approvals end in a Fail state too; the release record ' +
        '(launchway status <id>) says which, and FAILED or ROLLED_BACK needs a look at the failed step.',
    ),
    anyOf(
      'ReleaseTimedOutAlarm',
      props.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
      'A release execution timed out; every Task has its own timeout, so this is a stuck workflow.',
    ),
    anyOf(
      'RollbackErrorsAlarm',
      props.rollback.metricErrors({ period, statistic: 'Sum' }),
      'A production rollback failed; production may be running a broken version.',
    ),
    anyOf(
      'FinalizeErrorsAlarm',
      props.finalize.metricErrors({ period, statistic: 'Sum' }),
      'Finalizing a release failed; its record, lock or outcome email may be missing.',
    ),
    anyOf(
      'ApprovalApiServerErrorsAlarm',
      props.approvalApi.metricServerError({ period, statistic: 'Sum' }),
      'The approval API answered 5xx; approvers may be unable to approve or reject.',
    ),
  ];
  if (props.topic) for (const alarm of alarms) alarm.addAlarmAction(new cloudwatchActions.SnsAction(props.topic));
  return alarms;
}
