import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ENDED_EXECUTION_STATUSES } from '../functions/lib/pipeline/execution-ended.js';

/** The EventBridge side of the execution-status handler. */
export interface ExecutionStatusRule {
  readonly rule: events.Rule;
  /** Events EventBridge could not deliver, and invocations that failed every Lambda retry: each is a release left unended. */
  readonly deadLetters: sqs.Queue;
}

/**
 * Routes this state machine's FAILED, TIMED_OUT and ABORTED "Step Functions Execution Status Change" events
 * (source `aws.states`, on the default bus) to the execution-status function, in `scope`, the pipeline. These are
 * the ends no Catch sees: StopExecution, the execution timeout, States.Runtime, a Finalize that kept failing.
 * EventBridge retries delivery for a day and Lambda retries the invocation twice; what still fails lands in a queue
 * that an alarm watches.
 */
export function createExecutionStatusRule(
  scope: Construct,
  stateMachine: sfn.IStateMachine,
  handler: lambda.Function,
  options: { removalPolicy: RemovalPolicy },
): ExecutionStatusRule {
  const deadLetters = new sqs.Queue(scope, 'ExecutionStatusDeadLetters', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: options.removalPolicy,
  });
  handler.configureAsyncInvoke({ retryAttempts: 2, onFailure: new destinations.SqsDestination(deadLetters) });
  const rule = new events.Rule(scope, 'ExecutionStatusRule', {
    description: 'Ends the release of an execution that failed, timed out or was stopped without Finalize ending it',
    eventPattern: {
      source: ['aws.states'],
      detailType: ['Step Functions Execution Status Change'],
      detail: { status: [...ENDED_EXECUTION_STATUSES], stateMachineArn: [stateMachine.stateMachineArn] },
    },
  });
  rule.addTarget(
    new targets.LambdaFunction(handler, { deadLetterQueue: deadLetters, retryAttempts: 185, maxEventAge: Duration.hours(24) }),
  );
  return { rule, deadLetters };
}
