import { afterEach, describe, expect, it, vi } from 'vitest';

/** The metrics module is loaded fresh with metrics enabled, as on Lambda, and its EMF output is captured. */
async function loadEnabled() {
  vi.resetModules();
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const mod = await import('../../functions/lib/metrics.js');
  return {
    mod,
    spy,
    emf: () =>
      lines
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.includes('"_aws"'))
        .map((l) => JSON.parse(l)),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

describe('metrics', () => {
  it('publishes StepDuration with the step and status as dimensions', async () => {
    const { mod, emf } = await loadEnabled();
    mod.emitStepMetric({ step: 'DeployStaging', status: 'SUCCEEDED', durationMs: 1234 });
    const [doc] = emf();
    expect(doc).toMatchObject({ step: 'DeployStaging', status: 'SUCCEEDED', StepDuration: 1234 });
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Launchway',
      Metrics: [{ Name: 'StepDuration', Unit: 'Milliseconds' }],
    });
  });

  it('publishes Releases and ReleaseDuration by service and terminal status', async () => {
    const { mod, emf } = await loadEnabled();
    mod.emitReleaseOutcome('greeter', 'ROLLED_BACK', 5000);
    const docs = emf();
    expect(docs).toEqual([
      expect.objectContaining({ releaseService: 'greeter', status: 'ROLLED_BACK', Releases: 1 }),
      expect.objectContaining({ releaseService: 'greeter', status: 'ROLLED_BACK', ReleaseDuration: 5000 }),
    ]);
  });

  it('publishes nothing for a step without a duration', async () => {
    const { mod, emf } = await loadEnabled();
    mod.emitStepMetric({ step: 'Prepare', status: 'SUCCEEDED', durationMs: undefined });
    expect(emf()).toEqual([]);
  });
});
