import { Annotations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Catalog } from '../functions/lib/catalog.js';

/**
 * A synth-time warning for each catalog stage whose target is `local-process`: such a stage deploys by starting a
 * process on the machine running the pipeline, which only `launchway dev` does; on AWS the deploy step fails it. A
 * warning rather than an error: the catalog `launchway init` writes, and examples/catalog.json, start that way.
 */
export function warnLocalProcessTargets(catalog: Catalog, scope: Construct): void {
  const stages = Object.entries(catalog.services).flatMap(([name, service]) =>
    (['staging', 'production'] as const)
      .filter((stage) => service[stage].type === 'local-process')
      .map((stage) => `services.${name}.${stage}.type`),
  );
  if (stages.length === 0) return;
  Annotations.of(scope).addWarningV2(
    'launchway:local-process-target',
    `${stages.join(', ')} ${stages.length === 1 ? 'is' : 'are'} local-process: that target only runs embedded (launchway dev). ` +
      'Set a lambda-alias, ecs-service, http or cloudformation target in the catalog before releasing on AWS.',
  );
}
