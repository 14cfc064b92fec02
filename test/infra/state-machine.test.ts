import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS, STATE_MACHINE_HANDLERS } from '../../infra/handlers.js';
import { STEP_FUNCTION_IDS, STEP_TABLE, folderOf, placeholderOf, type HandlerName, type StepFunctionId } from '../../functions/steps.js';
import { RELEASE_ASL_PATH } from '../../infra/paths.js';
import { allows, identityStatements, synthStack, type CfnResource, type Synthesized } from './synth.js';

/** The parts of asl-validator v4 used here (the package ships no type declarations). */
type AslValidator = (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const aslText = readFileSync(RELEASE_ASL_PATH, 'utf8');
const placeholdersInFile = [...new Set([...aslText.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();

interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string };
  TimeoutSeconds?: number;
}

/** Every state, nested Parallel branches and Map processors included. */
function allStates(definition: { States: Record<string, AslState> }): [string, AslState][] {
  const out: [string, AslState][] = [];
  const visit = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      out.push([name, state]);
      const nested = state as {
        Branches?: { States: Record<string, AslState> }[];
        ItemProcessor?: { States: Record<string, AslState> };
        Iterator?: { States: Record<string, AslState> };
      };
      for (const b of nested.Branches ?? []) visit(b.States);
      if (nested.ItemProcessor) visit(nested.ItemProcessor.States);
      if (nested.Iterator) visit(nested.Iterator.States);
    }
  };
  visit(definition.States);
  return out;
}

let synth: Synthesized;
let machine: CfnResource;
beforeAll(() => {
  synth = synthStack();
  const machines = Object.values(synth.template.findResources('AWS::StepFunctions::StateMachine')) as CfnResource[];
  expect(machines).toHaveLength(1);
  machine = machines[0];
});

describe('release state machine', () => {
  it('finds the placeholders in the ASL file (the regex is not vacuous)', () => {
    expect(placeholdersInFile).toContain('PrepareFunctionArn');
    expect(placeholdersInFile.length).toBeGreaterThanOrEqual(STATE_MACHINE_HANDLERS.length);
  });

  it('substitutes every ${Placeholder} in the ASL file, and nothing the file does not use', () => {
    const substitutions = Object.keys(machine.Properties.DefinitionSubstitutions as Record<string, unknown>).sort();
    expect(substitutions).toEqual(placeholdersInFile);
  });

  it('substitutes each placeholder with the ARN of its handler function', () => {
    const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
    for (const { name, placeholder } of STATE_MACHINE_HANDLERS) {
      expect(substitutions[placeholder], placeholder).toEqual({ 'Fn::GetAtt': [synth.functionIds[name], 'Arn'] });
    }
  });

  it('grants the state machine role lambda:InvokeFunction on every substituted function and no other', () => {
    const roleId = (machine.Properties.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const invokes = identityStatements(synth.template).filter((s) => allows(s, 'lambda:InvokeFunction'));
    const granted = invokes.filter((s) => s.roles.includes(roleId)).flatMap((s) => s.Resource);
    const fnIdOf = (r: unknown) => JSON.stringify(r).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1];
    const grantedIds = new Set(granted.map(fnIdOf));
    for (const { name } of STATE_MACHINE_HANDLERS) expect(grantedIds.has(synth.functionIds[name]), name).toBe(true);
    expect(grantedIds.has(synth.functionIds['approval-api'])).toBe(false);
    expect(grantedIds.size).toBe(STATE_MACHINE_HANDLERS.length);
    // Only the state machine may invoke step functions through IAM.
    for (const s of invokes) expect(s.roles).toEqual([roleId]);
  });

  it('is a Standard workflow with tracing and logging that leaves execution data out', () => {
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    const destination = (
      machine.Properties.LoggingConfiguration as {
        Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[];
      }
    ).Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    const logGroup = synth.template.toJSON().Resources[destination] as CfnResource;
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties.RetentionInDays).toBe(90);
  });

  it('gives every Lambda a timeout shorter than each ASL Task that invokes it', () => {
    const definition = JSON.parse(aslText) as { States: Record<string, AslState> };
    const byPlaceholder = new Map(STATE_MACHINE_HANDLERS.map((h) => [`\${${h.placeholder}}`, h.name]));
    let checked = 0;
    for (const [stateName, state] of allStates(definition)) {
      if (state.Type !== 'Task' || state.Resource !== 'arn:aws:states:::lambda:invoke') continue;
      const name = byPlaceholder.get(state.Parameters?.FunctionName ?? '') as HandlerName | undefined;
      expect(name, `${stateName} invokes an unknown function ${state.Parameters?.FunctionName}`).toBeDefined();
      expect(state.TimeoutSeconds, `${stateName} has no TimeoutSeconds`).toBeTypeOf('number');
      expect(HANDLERS[name!].timeoutSeconds, `${stateName} (${name})`).toBeLessThan(state.TimeoutSeconds!);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('is valid ASL according to asl-validator', () => {
    const definition = JSON.parse(aslText);
    const { isValid, errorsText } = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(isValid, errorsText('\n')).toBe(true);
  });

  it('is still valid with real ARNs substituted for the placeholders', () => {
    let substituted = aslText;
    for (const { placeholder } of STATE_MACHINE_HANDLERS) {
      substituted = substituted.replaceAll(`\${${placeholder}}`, `arn:aws:lambda:us-east-1:123456789012:function:Launchway-${placeholder}`);
    }
    expect(substituted).not.toMatch(/\$\{[A-Za-z0-9_]+\}/);
    const { isValid, errorsText } = aslValidator(JSON.parse(substituted), { checkPaths: true, checkArn: true });
    expect(isValid, errorsText('\n')).toBe(true);
  });

  it('rejects a broken definition (the validator is not a no-op)', () => {
    const broken = JSON.parse(aslText) as { StartAt: string };
    broken.StartAt = 'NoSuchState';
    expect(aslValidator(broken, { checkPaths: true, checkArn: true }).isValid).toBe(false);
  });
});

describe('the step table and the ASL', () => {
  const definition = JSON.parse(aslText) as { States: Record<string, AslState> };

  it("has every state of functions/steps.ts in the ASL, invoking that row's function", () => {
    for (const row of STEP_TABLE) {
      for (const [stateName, fn] of Object.entries(row.states)) {
        const state = definition.States[stateName];
        expect(state, `${row.step}: state ${stateName}`).toBeDefined();
        expect(state.Type, stateName).toBe('Task');
        expect(state.Parameters?.FunctionName, stateName).toBe(`\${${placeholderOf(fn as StepFunctionId)}}`);
      }
    }
  });

  it('invokes functions only from Task states the table lists', () => {
    const tableStates = new Set(STEP_TABLE.flatMap((row) => Object.keys(row.states)));
    const invoking = allStates(definition).filter(([, state]) => state.Parameters?.FunctionName);
    expect(invoking.length).toBeGreaterThan(5);
    for (const [stateName] of invoking) expect(tableStates.has(stateName), stateName).toBe(true);
  });

  it("uses exactly the placeholders of the table's functions", () => {
    expect(placeholdersInFile).toEqual(STEP_FUNCTION_IDS.map(placeholderOf).sort());
    expect(STATE_MACHINE_HANDLERS.map((h) => h.placeholder).sort()).toEqual(placeholdersInFile);
  });

  it('gives the embedded runtime a substitution for every placeholder', async () => {
    const { localSubstitutions } = await import('../../local/functions.js');
    const substitutions = localSubstitutions('us-east-1');
    expect(Object.keys(substitutions).sort()).toEqual(placeholdersInFile);
    for (const id of STEP_FUNCTION_IDS) {
      expect(substitutions[placeholderOf(id)]).toBe(`arn:aws:lambda:us-east-1:000000000000:function:launchway-${folderOf(id)}`);
    }
  });
});
