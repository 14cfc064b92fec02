import type { DeployTarget } from '../catalog.js';
import type { DeployProvider } from './deploy-provider.js';
import { LocalProcessProvider } from './local-process.js';

export type { DeployProvider, DeployRequest, DeployStatus, LiveDeployment } from './deploy-provider.js';

/** One provider per type per process: providers keep no per-call state, and the local one shares the supervisor. */
const providers: { [T in DeployTarget['type']]?: DeployProvider } = {};

/** The provider that deploys to `target`, chosen by its `type`. */
export function providerFor(target: DeployTarget): DeployProvider {
  switch (target.type) {
    case 'local-process':
      return (providers['local-process'] ??= new LocalProcessProvider());
    default: {
      // Fails to compile when the catalog gains a target type that has no provider here.
      const unknown: never = target.type;
      throw new Error(`no deploy provider for target type ${String(unknown)}`);
    }
  }
}
