import * as z from 'zod';
import { releaseNotesKeys } from '../bucket-layout.js';
import { renderApiChangesDocument } from '../contract/render.js';
import { renderReleaseNotes } from '../release-notes.js';
import type { ReleaseNotesDetails } from '../store/step-details.js';
import type { StepRecord } from '../store/records.js';
import { findStep, publishedInterop } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { fencedStepGuard } from './fence.js';
import { recordStep } from './record-step.js';

export const PublishReleaseNotesEventSchema = z.object({ releaseId: z.string().min(1) });

/**
 * Writes the release notes: version, commit, changes grouped by conventional-commit type, staging and production
 * test results, approvers and timings, and what the release changes for partners, as Markdown for people and JSON
 * for tools; and, when a live contract was compared, the API changes alone as a document to forward to partners.
 */
export async function publishReleaseNotes(deps: PipelineDeps, releaseId: string): Promise<ReleaseNotesDetails> {
  const { store, artifacts } = deps;
  const release = await store.requireRelease(releaseId);
  const guard = await fencedStepGuard(deps, release.service, releaseId, 'PublishReleaseNotes');
  return recordStep(
    store,
    releaseId,
    'PublishReleaseNotes',
    async () => {
      const view = await store.getView(releaseId);
      if (!view) throw new Error(`release ${releaseId} does not exist`);
      const interop = publishedInterop(findStep(view.steps, 'ProvisionInterop'));
      const { markdown, json } = renderReleaseNotes({
        release: view,
        steps: view.steps,
        staging: succeeded(findStep(view.steps, 'SmokeTestStaging')),
        production: succeeded(findStep(view.steps, 'ValidateProduction')),
        approvals: (view.approval?.decisions ?? []).map((d) => ({
          approver: d.approver,
          decision: d.decision,
          comment: d.comment,
          decidedAt: d.decidedAt,
        })),
        interop: interop?.baseUrl
          ? { baseUrl: interop.baseUrl, routeCount: interop.routeCount ?? 0, deploymentId: interop.deploymentId }
          : undefined,
        previousVersion: findStep(view.steps, 'DeployProduction')?.details?.previous?.version,
        apiChanges: view.apiChanges,
        generatedAt: deps.now().toISOString(),
      });
      const { markdownKey, jsonKey, apiChangesKey } = releaseNotesKeys(view.service, releaseId);
      await artifacts.put(markdownKey, markdown, 'text/markdown; charset=utf-8');
      await artifacts.put(jsonKey, JSON.stringify(json, null, 2), 'application/json');
      const links: Record<string, string> = { ...(view.links ?? {}), releaseNotes: artifacts.uri(markdownKey) };
      const keys: ReleaseNotesDetails = { markdownKey, jsonKey };
      // A first release has nothing partners could compare against, so there is nothing to forward to them.
      if (view.apiChanges?.against) {
        await artifacts.put(apiChangesKey, renderApiChangesDocument(view.apiChanges, view), 'text/markdown; charset=utf-8');
        keys.apiChangesKey = apiChangesKey;
        links.apiChanges = artifacts.uri(apiChangesKey);
      }
      await store.updateRelease(releaseId, { links });
      return { result: keys, details: { ...keys } };
    },
    guard,
  );
}

/** A test step's results for the notes: only a run that passed is reported as one. */
function succeeded<S extends 'SmokeTestStaging' | 'ValidateProduction'>(step: StepRecord<S> | undefined) {
  return step?.status === 'SUCCEEDED' ? step.details : undefined;
}
