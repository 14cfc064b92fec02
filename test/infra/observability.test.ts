import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../functions/lib/metrics.js';
import { TERMINAL_STATUSES } from '../../functions/lib/store/records.js';
import { STEPS } from '../../functions/steps.js';
import { HANDLER_NAMES, type HandlerName } from '../../functions/steps.js';
import { ReleasePipeline } from '../../infra/release-pipeline.js';
import {
  FIXTURE_CATALOG_PATH,
  allows,
  appContext,
  logicalIdOf,
  readJson,
  roleIdOf,
  statementsOfRole,
  synthStack,
  type CfnResource,
  type Synthesized,
} from './synth.js';

/** Logs, traces, metrics, alarms and the dashboard of the deployed pipeline, read from the template. */

let synth: Synthesized;
let template: Template;
beforeAll(() => {
  synth = synthStack();
  template = synth.template;
});

const resources = (type: string, t: Template = template) => t.findResources(type) as Record<string, CfnResource>;
const only = (type: string) => {
  const all = Object.entries(resources(type));
  expect(all, type).toHaveLength(1);
  return all[0];
};
const idOf = (type: string) => only(type)[0];

describe('logs and traces', () => {
  it('logs every state machine transition (level ALL) to its own log group, without execution data, and traces with X-Ray', () => {
    const [, machine] = only('AWS::StepFunctions::StateMachine');
    const logging = machine.Properties.LoggingConfiguration as {
      Level: string;
      IncludeExecutionData: boolean;
      Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[];
    };
    expect(logging.Level).toBe('ALL');
    expect(logging.IncludeExecutionData).toBe(false);
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    const groupId = logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(groupId).toBe(logicalIdOf(synth.stack, synth.stack.pipeline.stateMachineLogGroup.node.defaultChild as CfnLogGroup));
    expect(resources('AWS::Logs::LogGroup')[groupId].Properties.RetentionInDays).toBe(90);
  });

  it('traces every function with X-Ray and sends its logs to its own log group, the only one its role may write to', () => {
    for (const name of HANDLER_NAMES) {
      const fn = resources('AWS::Lambda::Function')[synth.functionIds[name]];
      expect(fn.Properties.TracingConfig, name).toEqual({ Mode: 'Active' });
      const groupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const roleId = roleIdOf(template, synth.functionIds[name]);
      // No AWS managed basic execution policy: it may write to every log group in the account.
      expect(resources('AWS::IAM::Role')[roleId].Properties.ManagedPolicyArns, name).toBeUndefined();
      const writers = statementsOfRole(template, roleId).filter((s) => allows(s, 'logs:PutLogEvents'));
      expect(writers, name).toHaveLength(1);
      expect(writers[0].Resource).toEqual([{ 'Fn::GetAtt': [groupId, 'Arn'] }]);
      expect(writers[0].Action.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it('logs approval API access as JSON, execution errors only, no request or response bodies, and traces it', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"status":"\\$context.status"') },
      MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false, HttpMethod: '*', ResourcePath: '/*' })],
    });
  });

  it('names the Powertools service and metrics namespace in every function', () => {
    for (const name of HANDLER_NAMES) {
      const env = (
        resources('AWS::Lambda::Function')[synth.functionIds[name]].Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      expect(env, name).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'launchway', POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE });
    }
  });
});

describe('alarms', () => {
  const alarmOn = (namespace: string, metricName: string, t: Template = template) => {
    const found = Object.values(resources('AWS::CloudWatch::Alarm', t)).filter(
      (a) => a.Properties.Namespace === namespace && a.Properties.MetricName === metricName,
    );
    expect(found, `${namespace} ${metricName}`).toHaveLength(1);
    return found[0].Properties;
  };
  const firesOnAny = {
    Threshold: 1,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    Statistic: 'Sum',
    Period: 300,
  };

  it('alarms on failed and on timed-out executions of this state machine', () => {
    const machineId = idOf('AWS::StepFunctions::StateMachine');
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      const alarm = alarmOn('AWS/States', metric);
      expect(alarm).toMatchObject(firesOnAny);
      expect(alarm.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: machineId } }]);
    }
  });

  it('alarms on approval API 5xx of this API only (its name is unique to the pipeline)', () => {
    const alarm = alarmOn('AWS/ApiGateway', '5XXError');
    expect(alarm).toMatchObject(firesOnAny);
    const [, api] = only('AWS::ApiGateway::RestApi');
    expect(api.Properties.Name).toMatch(/^LaunchwayTestPipeline[0-9A-F]{8}-approvals$/);
    expect(alarm.Dimensions).toEqual([{ Name: 'ApiName', Value: api.Properties.Name }]);
  });

  it('alarms on rollback and finalize errors', () => {
    const errors = Object.values(resources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === 'Errors');
    expect(errors.map((a) => (a.Properties.Dimensions as { Value: { Ref: string } }[])[0].Value.Ref).sort()).toEqual(
      [synth.functionIds.rollback, synth.functionIds.finalize].sort(),
    );
    for (const a of errors) expect(a.Properties).toMatchObject({ ...firesOnAny, Namespace: 'AWS/Lambda' });
  });

  it('notifies the alarm topic from every alarm when one is given, and is exposed as pipeline.alarms', () => {
    const app = new App({ context: appContext() });
    const stack = new Stack(app, 'WithTopic');
    const topic = new sns.Topic(stack, 'Alerts');
    const pipeline = new ReleasePipeline(stack, 'Pipeline', {
      catalog: readJson(FIXTURE_CATALOG_PATH) as never,
      mailFrom: 'releases@example.com',
      alarmTopic: topic,
    });
    const t = Template.fromStack(stack);
    const alarms = Object.values(resources('AWS::CloudWatch::Alarm', t));
    expect(alarms).toHaveLength(pipeline.alarms.length);
    const topicId = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    alarmOn('AWS/States', 'ExecutionsFailed', t);
  });
});

describe('dashboard', () => {
  interface Widget {
    type: string;
    properties: { title?: string; metrics?: unknown[][]; alarms?: string[] };
  }
  let widgets: Widget[];
  beforeAll(() => {
    const [, dashboard] = only('AWS::CloudWatch::Dashboard');
    // The body is JSON joined around references; a reference becomes `<LogicalId>` or `<LogicalId.Attribute>`.
    const parts = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const body = parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const ref = p as { Ref?: string; 'Fn::GetAtt'?: string[] };
        return `<${ref.Ref ?? ref['Fn::GetAtt']!.join('.')}>`;
      })
      .join('');
    widgets = (JSON.parse(body) as { widgets: Widget[] }).widgets;
  });
  const metricsOf = (title: RegExp) => {
    const widget = widgets.find((w) => title.test(w.properties.title ?? ''));
    expect(widget, String(title)).toBeDefined();
    return widget!.properties.metrics!;
  };

  it('graphs executions started, succeeded, failed and timed out for this state machine', () => {
    const machine = `<${idOf('AWS::StepFunctions::StateMachine')}>`;
    const graphed = metricsOf(/executions/i).map((m) => m.slice(0, 4));
    for (const name of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut']) {
      expect(graphed).toContainEqual(['AWS/States', name, 'StateMachineArn', machine]);
    }
  });

  it('graphs release outcomes by terminal status from the Launchway metrics, every service included', () => {
    const expressions = metricsOf(/outcomes/i).map((m) => m[0] as { expression: string; label: string });
    expect(expressions.map((e) => e.label)).toEqual([...TERMINAL_STATUSES]);
    for (const e of expressions) {
      expect(e.expression).toBe(
        `SUM(SEARCH('{${METRICS_NAMESPACE},releaseService,service,status} MetricName="Releases" status="${e.label}"', 'Sum', 3600))`,
      );
    }
  });

  it('graphs the duration of every step', () => {
    const steps = metricsOf(/step duration/i).map((m) => m.slice(0, 8));
    expect(steps).toEqual(
      STEPS.map((step) => [METRICS_NAMESPACE, 'StepDuration', 'service', 'launchway', 'status', 'SUCCEEDED', 'step', step]),
    );
  });

  it('graphs approval API 4xx, 5xx and latency, and the errors of every function', () => {
    const [, api] = only('AWS::ApiGateway::RestApi');
    const apiMetrics = metricsOf(/approval api/i).map((m) => m.slice(0, 4));
    for (const name of ['4XXError', '5XXError', 'Latency']) {
      expect(apiMetrics).toContainEqual(['AWS/ApiGateway', name, 'ApiName', api.Properties.Name]);
    }
    const lambdaErrors = metricsOf(/lambda errors/i).map((m) => m.slice(0, 4));
    expect(lambdaErrors).toEqual(
      HANDLER_NAMES.map((name: HandlerName) => ['AWS/Lambda', 'Errors', 'FunctionName', `<${synth.functionIds[name]}>`]),
    );
  });

  it('shows the state of every alarm', () => {
    const widget = widgets.find((w) => w.type === 'alarm');
    const alarmIds = Object.keys(resources('AWS::CloudWatch::Alarm'));
    expect(widget?.properties.alarms?.sort()).toEqual(alarmIds.map((id) => `<${id}.Arn>`).sort());
  });
});
