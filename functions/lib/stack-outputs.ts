/**
 * The stack outputs a ReleasePipeline creates for the `launchway` CLI, by logical id, each with the variable it
 * sets when the CLI runs with `--stack`. The construct (infra/) creates them and the CLI (cli/) reads them: one list,
 * so a renamed output cannot leave the CLI looking for the old name.
 */
export const CLI_STACK_OUTPUTS = {
  StateMachineArn: 'LAUNCHWAY_STATE_MACHINE_ARN',
  ReleasesTableName: 'RELEASES_TABLE',
  ArtifactsBucketName: 'ARTIFACTS_BUCKET',
  ApprovalApiUrl: 'LAUNCHWAY_APPROVAL_API_URL',
  OperateFunctionName: 'LAUNCHWAY_OPERATE_FUNCTION',
} as const;

/** The logical id of one of the CLI's stack outputs. */
export type CliStackOutput = keyof typeof CLI_STACK_OUTPUTS;
