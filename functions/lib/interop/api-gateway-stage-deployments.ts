import {
  CreateDeploymentCommand,
  DeleteStageCommand,
  GetDeploymentCommand,
  GetDeploymentsCommand,
  GetStageCommand,
  UpdateStageCommand,
  type APIGatewayClient,
  type Stage,
} from '@aws-sdk/client-api-gateway';
import { InteropProvisioningFailedError } from '../errors.js';
import { absent, callGateway, PAGE } from './api-gateway-calls.js';

/** What a Launchway deployment's description records, so a retry or a rollback can read it back from API Gateway. */
export interface DeploymentNote {
  releaseId: string;
  stage: string;
  previousDeploymentId?: string;
}

const NOTE = /^launchway release (\S+) on (\S+)(?: \(previous (\S+)\))?$/;

/** `launchway release <releaseId> on <stage> (previous <id>)`: the only state the provisioner keeps. */
export function deploymentDescription(note: DeploymentNote): string {
  const previous = note.previousDeploymentId ? ` (previous ${note.previousDeploymentId})` : '';
  return `launchway release ${note.releaseId} on ${note.stage}${previous}`;
}

function parseDescription(description: string | undefined): DeploymentNote | undefined {
  const m = description ? NOTE.exec(description) : null;
  if (!m) return undefined;
  return { releaseId: m[1], stage: m[2], ...(m[3] ? { previousDeploymentId: m[3] } : {}) };
}

/** The stage, or undefined when the API has no stage of that name. */
export async function getStage(client: APIGatewayClient, restApiId: string, stageName: string): Promise<Stage | undefined> {
  return callGateway('GetStage', () => client.send(new GetStageCommand({ restApiId, stageName }))).catch(absent);
}

/**
 * What the stage serves now (`liveId`), and what a rollback of `releaseId` returns to: the live deployment, unless
 * it is this very release's own deployment (a retry after the stage moved), whose note then holds the original one.
 */
export async function previousDeploymentFor(
  client: APIGatewayClient,
  restApiId: string,
  stageName: string,
  releaseId: string,
): Promise<{ liveId?: string; previousDeploymentId?: string }> {
  const liveId = (await getStage(client, restApiId, stageName))?.deploymentId;
  let previousDeploymentId = liveId;
  if (liveId) {
    const live = await callGateway('GetDeployment', () => client.send(new GetDeploymentCommand({ restApiId, deploymentId: liveId })));
    const note = parseDescription(live.description);
    if (note?.releaseId === releaseId) previousDeploymentId = note.previousDeploymentId;
  }
  return { liveId, previousDeploymentId };
}

/** Creates a deployment noted with `note` and moves the stage `note.stage` to it (creating the stage on the first release). */
export async function deployToStage(client: APIGatewayClient, service: string, restApiId: string, note: DeploymentNote): Promise<string> {
  const deployment = await callGateway('CreateDeployment', () =>
    client.send(new CreateDeploymentCommand({ restApiId, stageName: note.stage, description: deploymentDescription(note) })),
  );
  if (!deployment.id) throw new InteropProvisioningFailedError(`API Gateway created a deployment of ${service} without an id`);
  return deployment.id;
}

/** Points the stage at a deployment that already exists. */
export async function pointStage(client: APIGatewayClient, restApiId: string, stageName: string, deploymentId: string): Promise<void> {
  await callGateway('UpdateStage', () =>
    client.send(
      new UpdateStageCommand({ restApiId, stageName, patchOperations: [{ op: 'replace', path: '/deploymentId', value: deploymentId }] }),
    ),
  );
}

/** Deletes the stage; one already gone is fine. */
export async function deleteStage(client: APIGatewayClient, restApiId: string, stageName: string): Promise<void> {
  await callGateway('DeleteStage', () => client.send(new DeleteStageCommand({ restApiId, stageName }))).catch(absent);
}

/** Puts the stage back on what it served before this provision, or removes it if it did not exist. */
export async function restoreStage(
  client: APIGatewayClient,
  restApiId: string,
  stageName: string,
  liveId: string | undefined,
): Promise<void> {
  if (liveId) await pointStage(client, restApiId, stageName, liveId);
  else await deleteStage(client, restApiId, stageName);
}

/** The newest deployment whose description Launchway wrote. */
export async function latestLaunchwayDeployment(
  client: APIGatewayClient,
  restApiId: string,
): Promise<{ id: string; note: DeploymentNote } | undefined> {
  let latest: { id: string; note: DeploymentNote; at: number } | undefined;
  let position: string | undefined;
  do {
    const page = await callGateway('GetDeployments', () => client.send(new GetDeploymentsCommand({ restApiId, limit: PAGE, position })));
    for (const d of page.items ?? []) {
      const note = parseDescription(d.description);
      const at = d.createdDate?.getTime() ?? 0;
      if (d.id && note && (!latest || at > latest.at)) latest = { id: d.id, note, at };
    }
    position = page.position;
  } while (position);
  return latest;
}
