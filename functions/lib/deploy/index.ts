import type { DeployTarget } from '../catalog.js';
import { CloudFormationProvider } from './cloudformation.js';
import type { DeployProvider } from './deploy-provider.js';
import { EcsServiceProvider } from './ecs-service.js';
import { HttpHookProvider } from './http-hook.js';
import { LambdaAliasProvider } from './lambda-alias.js';
import { LocalProcessProvider } from './local-process.js';

export type { DeployProvider, DeployRequest, DeployStatus, LiveDeployment } from './deploy-provider.js';

/**
 * One provider per type per process: providers keep no per-call state (progress lives in the handle), and the
 * local one shares the supervisor. The AWS providers take the shared SDK clients on first use.
 */
const providers: { [T in DeployTarget['type']]?: DeployProvider } = {};

/** The provider that deploys to `target`, chosen by its `type`. */
export function providerFor(target: DeployTarget): DeployProvider {
  switch (target.type) {
    case 'local-process':
      return (providers['local-process'] ??= new LocalProcessProvider());
    case 'lambda-alias':
      return (providers['lambda-alias'] ??= new LambdaAliasProvider());
    case 'cloudformation':
      return (providers.cloudformation ??= new CloudFormationProvider());
    case 'ecs-service':
      return (providers['ecs-service'] ??= new EcsServiceProvider());
    case 'http':
      return (providers.http ??= new HttpHookProvider());
    default: {
      // Fails to compile when the catalog gains a target type that has no provider here.
      const unknown: never = target;
      throw new Error(`no deploy provider for target type ${String((unknown as { type: unknown }).type)}`);
    }
  }
}
