import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { StepRecord } from './store/records.js';

/**
 * CloudWatch metrics through Powertools (embedded metric format in the function's log). Embedded mode turns
 * them off with POWERTOOLS_METRICS_DISABLED, so a laptop's terminal is not filled with EMF lines.
 */
export const METRICS_NAMESPACE = 'Launchway';

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'launchway' });

/** `StepDuration` (ms) by step and outcome, published at once so no middleware has to flush it. */
export function emitStepMetric(step: Pick<StepRecord, 'step' | 'status' | 'durationMs'>): void {
  if (step.durationMs === undefined) return;
  const single = metrics.singleMetric();
  single.addDimensions({ step: step.step, status: step.status });
  single.addMetric('StepDuration', MetricUnit.Milliseconds, step.durationMs);
}

/** The metric the ROLLBACK_FAILED alarm watches: one count per release that ended so, whatever its service. */
export const ROLLBACK_FAILED_METRIC = 'RollbackFailed';

/**
 * `Releases` (count) and `ReleaseDuration` (ms) by service and terminal status; for ROLLBACK_FAILED also
 * `RollbackFailed` without the service dimension, because an alarm needs one metric for every service.
 */
export function emitReleaseOutcome(service: string, status: string, durationMs: number | undefined): void {
  // A single metric is published by its first addMetric, so each value gets its own.
  const publish = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number) => {
    const single = metrics.singleMetric();
    single.addDimensions({ releaseService: service, status });
    single.addMetric(name, unit, value);
  };
  publish('Releases', MetricUnit.Count, 1);
  if (durationMs !== undefined) publish('ReleaseDuration', MetricUnit.Milliseconds, durationMs);
  if (status === 'ROLLBACK_FAILED') metrics.singleMetric().addMetric(ROLLBACK_FAILED_METRIC, MetricUnit.Count, 1);
}
