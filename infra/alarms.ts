import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { METRICS_NAMESPACE, ROLLBACK_FAILED_METRIC } from '../functions/lib/metrics.js';
import { METRICS_SERVICE } from './dashboard.js';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** What the alarms watch. */
export interface ReleaseAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly rollback: lambda.IFunction;
  readonly finalize: lambda.IFunction;
  readonly approvalApi: apigw.RestApi;
  /** The execution-status handler's undeliverable events and failed invocations. */
  readonly executionStatusDeadLetters: sqs.IQueue;
  /** Notified by every alarm, when given. */
  readonly topic?: sns.ITopic;
}

/**
 * Alarms on conditions that need a person, in `scope` (the pipeline): failed and timed-out releases, releases that
 * ended ROLLBACK_FAILED, rollback or finalize errors, releases the execution-status handler could not end, approval
 * API 5xx.
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
      'ReleaseRollbackFailedAlarm',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: ROLLBACK_FAILED_METRIC,
        dimensionsMap: { service: METRICS_SERVICE },
        period,
        statistic: 'Sum',
      }),
      'A release ended ROLLBACK_FAILED: production may be running the failed version and a person must act now. ' +
        'launchway list shows the release; docs/operations.md says what to check and how to restore.',
    ),
    anyOf(
      'ExecutionStatusDeadLettersAlarm',
      props.executionStatusDeadLetters.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      'An ended execution could not be finalized by the execution-status handler: its release record may still be ' +
        'running and its service lock held. The message in the queue names the execution; see docs/operations.md.',
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
