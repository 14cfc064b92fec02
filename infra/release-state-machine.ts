import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { HandlerName } from '../functions/steps.js';
import { STATE_MACHINE_HANDLERS } from './handlers.js';
import type { LaunchwayFunction } from './launchway-function.js';
import { RELEASE_ASL_PATH } from './paths.js';

/**
 * The release workflow (Standard) in `scope`, the pipeline: the ASL file with each step function's ARN substituted
 * for its placeholder (from the step table), and an explicit invoke grant on each of those functions.
 */
export function createReleaseStateMachine(
  scope: Construct,
  functions: Readonly<Record<HandlerName, LaunchwayFunction>>,
  options: { logGroup: logs.ILogGroup; removalPolicy: RemovalPolicy },
): sfn.StateMachine {
  const substitutions: Record<string, string> = {};
  for (const { name, placeholder } of STATE_MACHINE_HANDLERS) substitutions[placeholder] = functions[name].functionArn;
  const stateMachine = new sfn.StateMachine(scope, 'ReleaseStateMachine', {
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromFile(RELEASE_ASL_PATH),
    definitionSubstitutions: substitutions,
    tracingEnabled: true,
    logs: {
      destination: options.logGroup,
      level: sfn.LogLevel.ALL,
      // Execution data holds task tokens and release payloads; state transitions and errors are enough.
      includeExecutionData: false,
    },
    removalPolicy: options.removalPolicy,
  });
  // Nothing is inferred from an ASL file: each substituted function gets an explicit invoke grant.
  for (const { name } of STATE_MACHINE_HANDLERS) functions[name].grantInvoke(stateMachine);
  return stateMachine;
}
