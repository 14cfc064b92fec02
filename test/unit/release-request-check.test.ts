import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceSchema } from '../../functions/lib/catalog.js';
import { ValidationError } from '../../functions/lib/errors.js';
import { checkReleaseRequest, type ReleaseRequestSources } from '../../functions/lib/release-request-check.js';

/** checkReleaseRequest against files held in memory: what Prepare and `launchway release` both run. */

const example = (name: string) => readFileSync(new URL(`../../examples/greeter/1.0.0/${name}`, import.meta.url), 'utf8');
const files: Record<string, string> = {
  'b/service.tar.gz': 'packed',
  'b/service.zip': 'zip',
  'b/collection.json': example('collection.postman.json'),
  'b/openapi.yaml': example('openapi.yaml'),
};

const LAMBDA = { type: 'lambda-alias', functionName: 'greeter' };
const ECS = { type: 'ecs-service', cluster: 'c', service: 's', containerName: 'app' };
const STACK = { type: 'cloudformation', stackName: 'greeter', roleArn: 'arn:aws:iam::123456789012:role/deployer' };
const HTTP = { type: 'http', deployUrl: 'https://hooks.example.com/deploy' };
const LOCAL = { type: 'local-process' };

function sources(staging: object, production: object): ReleaseRequestSources {
  const service = ServiceSchema.parse({ approvers: ['lead@example.com'], interop: { enabled: false }, staging, production });
  return {
    service: async (name) => (name === 'greeter' ? service : undefined),
    exists: async (_field, ref) => ref in files,
    read: async (_field, ref) => files[ref] as string,
  };
}

const request = (bundle: string) => ({
  service: 'greeter',
  version: '1.0.0',
  commit: 'abcdef1',
  triggeredBy: 'ci@example.com',
  artifacts: { bundle, collection: 'b/collection.json', openapi: 'b/openapi.yaml' },
});

async function bundleError(bundle: string, staging: object, production: object): Promise<string | undefined> {
  try {
    await checkReleaseRequest(request(bundle), sources(staging, production));
    return undefined;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.fields['artifacts.bundle'];
  }
}

describe('checkReleaseRequest: a packed directory bundle', () => {
  it.each([
    ['lambda-alias', LAMBDA],
    ['ecs-service', ECS],
    ['cloudformation', STACK],
  ])('is refused on artifacts.bundle when production is %s, naming the stage and type', async (type, target) => {
    expect(await bundleError('b/service.tar.gz', LOCAL, target)).toBe(
      `a packed directory (.tar.gz) cannot be deployed to production (type ${type}): only local-process and http targets run one; ` +
        `give the file ${type} deploys`,
    );
  });

  it('is refused when only staging cannot run it', async () => {
    expect(await bundleError('b/service.tar.gz', LAMBDA, HTTP)).toMatch(
      /^a packed directory \(\.tar\.gz\) cannot be deployed to staging \(type lambda-alias\)/,
    );
  });

  it('is accepted by local-process and http targets', async () => {
    expect(await bundleError('b/service.tar.gz', LOCAL, HTTP)).toBeUndefined();
    expect(await bundleError('b/service.tar.gz', HTTP, LOCAL)).toBeUndefined();
  });

  it('leaves single files alone on any target', async () => {
    expect(await bundleError('b/service.zip', LAMBDA, LAMBDA)).toBeUndefined();
  });

  it('reports a missing bundle as missing, whatever the target', async () => {
    expect(await bundleError('b/absent.tar.gz', LOCAL, LAMBDA)).toBe('expected the deployable at b/absent.tar.gz; it does not exist');
  });
});
