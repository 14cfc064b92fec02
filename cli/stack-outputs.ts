import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ValidationError } from '../functions/lib/errors.js';
import { CLI_STACK_OUTPUTS, type CliStackOutput } from '../functions/lib/stack-outputs.js';
import { loadEndpointsEnv } from './endpoints.js';
import { CliError, networkCause } from './errors.js';
import { EXIT } from './exit-codes.js';
import { requireEnv } from './options.js';

/*
 * `--stack <name>` (or LAUNCHWAY_STACK): the deployed stack's outputs say where the pipeline is, so nobody copies
 * them into variables by hand. The CloudFormation client loads only when a stack is named: --help stays fast.
 */

/** A stack name as CloudFormation accepts it, or a stack id (its ARN). */
const STACK_NAME =
  /^(?:[A-Za-z][A-Za-z0-9-]{0,127}|arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/[\w-]+)$/;

const OUTPUT_NAMES = Object.keys(CLI_STACK_OUTPUTS) as CliStackOutput[];

/** Which of the two named the stack: an error blames the one the user gave, not a flag nobody typed. */
export type StackSource = '--stack' | 'LAUNCHWAY_STACK';

/** The stack a command talks to, as named on the command line or in the environment. */
export interface StackRef {
  name: string;
  from: StackSource;
}

/** Variables that send the SDK's calls somewhere other than AWS (`launchway dev`'s endpoints.env sets some). */
const ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_SFN',
  'AWS_ENDPOINT_URL_LAMBDA',
] as const;

/** The name check, before any call: an empty LAUNCHWAY_STACK is most often an unset repository variable in CI. */
function checkStackName({ name, from }: StackRef): void {
  if (name === '' && from === 'LAUNCHWAY_STACK') {
    throw new ValidationError('LAUNCHWAY_STACK is empty', {
      LAUNCHWAY_STACK:
        'set but empty. In GitHub Actions, vars.LAUNCHWAY_STACK is empty when the repository variable is unset: ' +
        'set it (gh variable set LAUNCHWAY_STACK --body <stack name>); elsewhere, set it to the stack name or unset it',
    });
  }
  if (!STACK_NAME.test(name)) {
    throw new ValidationError(`invalid value for ${from}`, {
      [from]:
        'expected a CloudFormation stack name (a letter, then letters, digits and hyphens) or stack ARN, ' + `got ${JSON.stringify(name)}`,
    });
  }
}

/**
 * What a failed DescribeStacks ends the command with. A network failure is thrown as it is (STACK_UNREACHABLE,
 * exit 5, in cli/errors.ts); anything else would otherwise reach the user as the SDK's bare message ("Could not
 * load credentials from any providers") with no word of the stack the CLI was reading.
 */
function describeStacksFailure(err: unknown, { name, from }: StackRef, region: string): Error {
  const { name: code, message } = err instanceof Error ? err : { name: 'Error', message: String(err) };
  // CloudFormation answers an unknown stack with the error code ValidationError: "Stack with id X does not exist".
  if (code === 'ValidationError') {
    return new ValidationError(`stack ${name} was not found in ${region}`, {
      [from]: `${message} in region ${region}: check the name, AWS_REGION and the account of your credentials`,
    });
  }
  if (networkCause(err)) return err as Error;
  const where = `reading the outputs of stack ${name} (${from}) in ${region}`;
  const details = { stack: name, region, cause: code };
  if (/^AccessDenied/.test(code) || /not authorized to perform/.test(message)) {
    return new CliError(
      'FORBIDDEN',
      `${where}: ${message}. The identity needs cloudformation:DescribeStacks on the stack: the roles Launchway creates ` +
        '(the GitHub CI role, grantDecide, grantOperate) have it once the stack is deployed with this version; ' +
        'a stack deployed before lacks it until redeployed',
      EXIT.ERROR,
      details,
      { cause: err },
    );
  }
  const hint =
    code === 'CredentialsProviderError'
      ? ': give the CLI AWS credentials (AWS_PROFILE or `aws sso login`, the AWS_ACCESS_KEY_ID pair, or in GitHub ' +
        'Actions the aws-actions/configure-aws-credentials step)'
      : '';
  return new CliError('STACK_UNREADABLE', `${where}: ${message}${hint}`, EXIT.ERROR, details, { cause: err });
}

/**
 * Reads the Launchway outputs of a stack, whatever its status (an update in progress or rolled back still has the
 * outputs of its last good state), as the variables they set.
 *
 * @param client a CloudFormation client; by default one from the environment (region, credentials,
 *   AWS_ENDPOINT_URL_CLOUDFORMATION)
 * @throws ValidationError naming `--stack` or LAUNCHWAY_STACK (whichever named it) for a bad or empty name, a stack
 *   that does not exist or has none of the outputs, and naming AWS_REGION when no region is configured
 * @throws CliError FORBIDDEN or STACK_UNREADABLE (exit 1) naming the stack when credentials are missing, refused or
 *   lack cloudformation:DescribeStacks; network failures are thrown unchanged (exit 5)
 */
export async function readStackOutputs(stack: StackRef, client?: CloudFormationClient): Promise<Record<string, string>> {
  checkStackName(stack);
  const { name: stackName, from } = stack;
  const sdk = await import('@aws-sdk/client-cloudformation');
  const cfn = client ?? new sdk.CloudFormationClient({});
  const region = await cfn.config.region().catch(() => undefined);
  if (!region) {
    throw new ValidationError('no AWS region to look for the stack in', {
      AWS_REGION: `not set: set AWS_REGION (or a region in your AWS profile) to the region of stack ${stackName}`,
    });
  }
  const described = await cfn.send(new sdk.DescribeStacksCommand({ StackName: stackName })).catch((err: unknown) => {
    throw describeStacksFailure(err, stack, region);
  });
  const found = described.Stacks?.[0];
  const outputs = new Map((found?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const values: Record<string, string> = {};
  for (const name of OUTPUT_NAMES) {
    const value = outputs.get(name);
    if (value) values[CLI_STACK_OUTPUTS[name]] = value;
  }
  if (Object.keys(values).length === 0) {
    throw new ValidationError(`stack ${stackName} has none of the Launchway outputs`, {
      [from]:
        `stack ${stackName} in ${region} (${found?.StackStatus ?? 'no status'}) has none of the outputs ${OUTPUT_NAMES.join(', ')}: ` +
        'is it the stack that holds the ReleasePipeline (created with outputs on), and has it finished creating?',
    });
  }
  return values;
}

const outputOf = (variable: string) => OUTPUT_NAMES.find((o) => CLI_STACK_OUTPUTS[o] === variable) ?? variable;

/**
 * Finds the stack a command talks to and checks the environment names it. A named stack is where the command goes:
 * its outputs replace variables holding other values (a shell that sourced `.launchway/endpoints.env` must not send
 * `--stack Prod` to the embedded table), each replacement told on stderr by name; `.launchway/endpoints.env` is not
 * read and OUTBOX_DIR is dropped, so approvals go to the stack's API. AWS_ENDPOINT_URL_* variables are kept (tests and
 * LocalStack-like setups use them on purpose) but named in a warning. Without a stack, the endpoints file is read.
 *
 * @param required the variables the command needs
 * @param warn where the notes go; stderr by default
 * @throws ValidationError (exit 2) before the command does anything, naming the option or variable at fault
 */
export async function locateStack(
  stack: StackRef | undefined,
  required: readonly string[],
  {
    env = process.env,
    client,
    warn = (line) => process.stderr.write(`${line}\n`),
  }: { env?: NodeJS.ProcessEnv; client?: CloudFormationClient; warn?: (line: string) => void } = {},
): Promise<void> {
  if (stack === undefined) {
    loadEndpointsEnv();
    requireEnv(required, env);
    return;
  }
  const named = `${stack.from} ${stack.name}`;
  const redirects = ENDPOINT_VARIABLES.filter((name) => env[name]);
  if (redirects.length > 0) {
    warn(
      `warning (${named}): ${redirects.join(', ')} ${redirects.length === 1 ? 'is' : 'are'} set, so the AWS SDK sends those ` +
        "calls there instead of to AWS. In a shell that sourced .launchway/endpoints.env, open a new one (it also sets the emulators' " +
        'AWS_REGION and AWS_ACCESS_KEY_ID)',
    );
  }
  const values = await readStackOutputs(stack, client);
  for (const [name, value] of Object.entries(values)) {
    if (env[name] && env[name] !== value) warn(`(${named}: ${name} set from the output ${outputOf(name)}, replacing the value set)`);
    env[name] = value;
  }
  if (env.OUTBOX_DIR) {
    warn(`(${named}: OUTBOX_DIR ignored, it is the embedded stack's outbox)`);
    delete env.OUTBOX_DIR;
  }
  const missing = required.filter((name) => !env[name]);
  if (missing.length === 0) return;
  throw new ValidationError(`stack ${stack.name} lacks outputs this command needs: ${missing.map(outputOf).join(', ')}`, {
    [stack.from]: missing
      .map((name) => `no output ${outputOf(name)} (${name}); update the stack to this Launchway version, or set ${name}`)
      .join('; '),
  });
}
