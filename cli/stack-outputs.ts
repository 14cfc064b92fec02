import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ValidationError } from '../functions/lib/errors.js';
import { CLI_STACK_OUTPUTS, type CliStackOutput } from '../functions/lib/stack-outputs.js';
import { loadEndpointsEnv } from './endpoints.js';
import { requireEnv } from './options.js';

/*
 * `--stack <name>` (or LAUNCHWAY_STACK): the deployed stack's outputs say where the pipeline is, so nobody copies
 * them into variables by hand. The CloudFormation client loads only when a stack is named: --help stays fast.
 */

/** A stack name as CloudFormation accepts it, or a stack id (its ARN). */
const STACK_NAME =
  /^(?:[A-Za-z][A-Za-z0-9-]{0,127}|arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/[\w-]+)$/;

const OUTPUT_NAMES = Object.keys(CLI_STACK_OUTPUTS) as CliStackOutput[];

/**
 * Reads the Launchway outputs of a stack, whatever its status (an update in progress or rolled back still has the
 * outputs of its last good state), as the variables they set.
 *
 * @param client a CloudFormation client; by default one from the environment (region, credentials,
 *   AWS_ENDPOINT_URL_CLOUDFORMATION)
 * @throws ValidationError naming `--stack` for a bad name, a stack that does not exist or has none of the outputs,
 *   and naming AWS_REGION when no region is configured
 */
export async function readStackOutputs(stackName: string, client?: CloudFormationClient): Promise<Record<string, string>> {
  if (!STACK_NAME.test(stackName)) {
    throw new ValidationError('invalid value for --stack', {
      '--stack':
        'expected a CloudFormation stack name (a letter, then letters, digits and hyphens) or stack ARN, ' +
        `got ${JSON.stringify(stackName)}`,
    });
  }
  const sdk = await import('@aws-sdk/client-cloudformation');
  const cfn = client ?? new sdk.CloudFormationClient({});
  const region = await cfn.config.region().catch(() => undefined);
  if (!region) {
    throw new ValidationError('no AWS region to look for the stack in', {
      AWS_REGION: `not set: set AWS_REGION (or a region in your AWS profile) to the region of stack ${stackName}`,
    });
  }
  const described = await cfn.send(new sdk.DescribeStacksCommand({ StackName: stackName })).catch((err: unknown) => {
    // CloudFormation answers an unknown stack with the error code ValidationError: "Stack with id X does not exist".
    if ((err as { name?: string }).name !== 'ValidationError') throw err;
    throw new ValidationError(`stack ${stackName} was not found in ${region}`, {
      '--stack': `${(err as Error).message} in region ${region}: check the name, AWS_REGION and the account of your credentials`,
    });
  });
  const stack = described.Stacks?.[0];
  const outputs = new Map((stack?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const values: Record<string, string> = {};
  for (const name of OUTPUT_NAMES) {
    const value = outputs.get(name);
    if (value) values[CLI_STACK_OUTPUTS[name]] = value;
  }
  if (Object.keys(values).length === 0) {
    throw new ValidationError(`stack ${stackName} has none of the Launchway outputs`, {
      '--stack':
        `stack ${stackName} in ${region} (${stack?.StackStatus ?? 'no status'}) has none of the outputs ${OUTPUT_NAMES.join(', ')}: ` +
        'is it the stack that holds the ReleasePipeline (created with outputs on), and has it finished creating?',
    });
  }
  return values;
}

/**
 * Finds the stack a command talks to and checks the environment names it. With a stack, its outputs fill the
 * variables not already set (a variable set by hand wins) and `.launchway/endpoints.env` is not read: a leftover
 * embedded session must not redirect a command aimed at AWS. Without one, the endpoints file is read as before.
 *
 * @param required the variables the command needs
 * @throws ValidationError (exit 2) before the command does anything, naming the option or variable at fault
 */
export async function locateStack(
  stackName: string | undefined,
  required: readonly string[],
  { env = process.env, client }: { env?: NodeJS.ProcessEnv; client?: CloudFormationClient } = {},
): Promise<void> {
  if (stackName === undefined) {
    loadEndpointsEnv();
    requireEnv(required, env);
    return;
  }
  const values = await readStackOutputs(stackName, client);
  for (const [name, value] of Object.entries(values)) if (!env[name]) env[name] = value;
  const missing = required.filter((name) => !env[name]);
  if (missing.length === 0) return;
  const outputOf = (variable: string) => OUTPUT_NAMES.find((o) => CLI_STACK_OUTPUTS[o] === variable) ?? variable;
  throw new ValidationError(`stack ${stackName} lacks outputs this command needs: ${missing.map(outputOf).join(', ')}`, {
    '--stack': missing
      .map((name) => `no output ${outputOf(name)} (${name}); update the stack to this Launchway version, or set ${name}`)
      .join('; '),
  });
}
