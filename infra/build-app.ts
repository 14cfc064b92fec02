import { App } from 'aws-cdk-lib';
import { loadCatalogFile } from './catalog-file.js';
import { DEFAULT_CATALOG_PATH } from './paths.js';
import { LaunchwayStack } from './stack.js';

/**
 * Builds the Launchway stack into a CDK app (infra/app.ts is the entry `cdk` runs). Settings come from context
 * (`-c name=value`) first, then the environment:
 * - catalog file: context `catalog` or LAUNCHWAY_CATALOG (default examples/catalog.json);
 * - sender of email: context `mailFrom` or LAUNCHWAY_MAIL_FROM (default launchway@example.com, fine for synth;
 *   a deploy needs an address SES has verified);
 * - stack name: context `stackName` or LAUNCHWAY_STACK_NAME (default Launchway).
 */
export function buildApp(app: App = new App(), env: NodeJS.ProcessEnv = process.env): LaunchwayStack {
  const setting = (contextKey: string, envKey: string): string | undefined => {
    const value = app.node.tryGetContext(contextKey) ?? env[envKey];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const catalog = loadCatalogFile(setting('catalog', 'LAUNCHWAY_CATALOG') ?? DEFAULT_CATALOG_PATH);
  return new LaunchwayStack(app, setting('stackName', 'LAUNCHWAY_STACK_NAME') ?? 'Launchway', {
    description: 'Launchway release pipeline: Step Functions, Lambda, DynamoDB, S3, API Gateway approval links',
    pipeline: {
      catalog,
      mailFrom: setting('mailFrom', 'LAUNCHWAY_MAIL_FROM') ?? 'launchway@example.com',
    },
  });
}
