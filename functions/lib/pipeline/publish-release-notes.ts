import * as z from 'zod';
import type { SmokeResult } from '../newman-runner.js';
import { renderReleaseNotes } from '../release-notes.js';
import type { PipelineDeps } from './deps.js';
import { recordStep } from './record-step.js';

export const PublishReleaseNotesEventSchema = z.object({ releaseId: z.string().min(1) });

/** The notes' S3 keys: one per release, under the service, named by version and commit through the release id. */
export const notesKeys = (service: string, releaseId: string) => ({
  markdownKey: `release-notes/${service}/${releaseId}.md`,
  jsonKey: `release-notes/${service}/${releaseId}.json`,
});

/**
 * Writes the release notes: version, commit, changes grouped by conventional-commit type, staging and production
 * test results, approvers and timings, as Markdown for people and JSON for tools.
 */
export async function publishReleaseNotes(deps: PipelineDeps, releaseId: string): Promise<{ markdownKey: string; jsonKey: string }> {
  const { store, artifacts } = deps;
  return recordStep(store, releaseId, 'PublishReleaseNotes', async () => {
    const view = await store.getView(releaseId);
    if (!view) throw new Error(`release ${releaseId} does not exist`);
    const step = (name: string) => view.steps.find((s) => s.step === name);
    const smoke = (name: string) => (step(name)?.status === 'SUCCEEDED' ? (step(name)?.details as unknown as SmokeResult) : undefined);
    const interop = step('ProvisionInterop');
    const previous = step('DeployProduction')?.details?.previous as { version?: string } | null | undefined;
    const { markdown, json } = renderReleaseNotes({
      release: view,
      steps: view.steps,
      staging: smoke('SmokeTestStaging'),
      production: smoke('ValidateProduction'),
      approvals: (view.approval?.decisions ?? []).map((d) => ({
        approver: d.approver,
        decision: d.decision,
        comment: d.comment,
        decidedAt: d.decidedAt,
      })),
      interop:
        interop?.status === 'SUCCEEDED' && interop.details?.baseUrl
          ? {
              baseUrl: String(interop.details.baseUrl),
              routeCount: Number(interop.details.routeCount ?? 0),
              deploymentId: String(interop.details.deploymentId),
            }
          : undefined,
      previousVersion: previous?.version,
      generatedAt: deps.now().toISOString(),
    });
    const keys = notesKeys(view.service, releaseId);
    await artifacts.put(keys.markdownKey, markdown, 'text/markdown; charset=utf-8');
    await artifacts.put(keys.jsonKey, JSON.stringify(json, null, 2), 'application/json');
    await store.updateRelease(releaseId, { links: { ...(view.links ?? {}), releaseNotes: artifacts.uri(keys.markdownKey) } });
    return { result: keys, details: { ...keys } };
  });
}
