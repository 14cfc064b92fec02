import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ServiceNameSchema } from '../functions/lib/catalog.js';
import { ValidationError } from '../functions/lib/errors.js';
import { CATALOG_FILE } from './dev-catalog.js';
import { InitWrites, initProblems } from './init-files.js';
import {
  APP_TEMPLATE,
  CDK_JSON_TEMPLATE,
  catalogTemplate,
  README_HEADING,
  readmeSection,
  WORKFLOW_FILE,
  workflowTemplate,
} from './init-templates.js';

/** What `launchway init` did to one file, relative to the folder it ran in. */
export interface InitFile {
  path: string;
  action: 'created' | 'overwritten' | 'appended' | 'kept';
}

export interface InitResult {
  service: string;
  directory: string;
  files: InitFile[];
  /** cdk.json was there already, running something else than the app init wrote. */
  otherCdkApp: boolean;
}

const APP_FILE = 'launchway-app.mjs';
const SERVICE_NAME_RULE = '2-40 lowercase letters, digits or dashes, starting with a letter, as the catalog requires';
/** What `launchway dev` and cdk write in the folder: the dev data holds the signing secret and secrets.json. */
const IGNORED = ['.launchway/', 'cdk.out/'];

/**
 * `launchway init`: scaffolds releasing the service in `cwd` with Launchway. Everything is checked before the first
 * write: the service name, that no file it would replace exists (unless `force`), and that nothing on the way is a
 * file where a folder must be, a folder where a file must be, or unwritable. cdk.json is written only when absent (it
 * may run another app), and the README gets its section once. If a write still fails, the files this run created
 * are removed.
 */
export async function runInit(opts: { service?: string; force?: boolean }, cwd = process.cwd()): Promise<InitResult> {
  const service = serviceName(opts.service, cwd);
  const replaced = [CATALOG_FILE, APP_FILE, WORKFLOW_FILE];
  const problems = initProblems(cwd, [
    ...replaced.map((file) => ({ file })),
    { file: 'cdk.json', readOnly: true },
    { file: 'README.md' },
    { file: '.gitignore' },
  ]);
  const existing = opts.force ? [] : replaced.filter((file) => !problems[file] && existsSync(path.join(cwd, file)));
  if (existing.length > 0 || Object.keys(problems).length > 0) {
    const blocked = Object.keys(problems);
    const parts = [
      ...(existing.length > 0 ? [`would replace ${existing.join(', ')}`] : []),
      ...(blocked.length > 0 ? [`cannot write ${blocked.join(', ')}`] : []),
    ];
    throw new ValidationError(`launchway init ${parts.join(' and ')} in ${cwd}`, {
      ...Object.fromEntries(existing.map((file) => [file, 'exists; nothing was written (--force replaces it)'])),
      ...Object.fromEntries(blocked.map((file) => [file, `${problems[file]}; nothing was written`])),
    });
  }
  const writes = new InitWrites(cwd);
  return writes.run(async () => {
    const files: InitFile[] = [];
    const write = async (file: string, text: string) => files.push({ path: file, action: await writes.write(file, text) });
    await write(CATALOG_FILE, catalogTemplate(service));
    await write(APP_FILE, APP_TEMPLATE);
    const cdkJson = path.join(cwd, 'cdk.json');
    const otherCdkApp = existsSync(cdkJson) && !readFileSync(cdkJson, 'utf8').includes(APP_FILE);
    if (existsSync(cdkJson)) files.push({ path: 'cdk.json', action: 'kept' });
    else await write('cdk.json', CDK_JSON_TEMPLATE);
    await write(WORKFLOW_FILE, workflowTemplate(service));
    files.push({ path: 'README.md', action: await addReadmeSection(writes, cwd, service) });
    files.push({ path: '.gitignore', action: await ignoreDevData(writes, cwd) });
    return { service, directory: cwd, files, otherCdkApp };
  });
}

/** Adds the lines of IGNORED that .gitignore lacks (creating it), so no dev secret is ever committed. */
async function ignoreDevData(writes: InitWrites, cwd: string): Promise<InitFile['action']> {
  const file = path.join(cwd, '.gitignore');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const present = new Set((text ?? '').split(/\r?\n/).map((line) => line.trim().replace(/^\//, '').replace(/\/$/, '')));
  const missing = IGNORED.filter((entry) => !present.has(entry.replace(/\/$/, '')));
  if (text === undefined) return writes.write('.gitignore', `${IGNORED.join('\n')}\n`);
  if (missing.length === 0) return 'kept';
  await writes.append('.gitignore', `${text.length === 0 || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`);
  return 'appended';
}

/** Appends the section unless the README has its heading already; creates the README when there is none. */
async function addReadmeSection(writes: InitWrites, cwd: string, service: string): Promise<InitFile['action']> {
  const file = path.join(cwd, 'README.md');
  if (!existsSync(file)) return writes.write('README.md', readmeSection(service));
  const text = readFileSync(file, 'utf8');
  if (text.split(/\r?\n/).some((line) => line.trim() === README_HEADING)) return 'kept';
  const gap = text.length === 0 ? '' : text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  await writes.append('README.md', `${gap}${readmeSection(service)}`);
  return 'appended';
}

/**
 * `--service`, checked as the catalog checks its keys; without it, the folder's package.json name (unscoped) or the
 * folder's own name, made into a valid name where that is a matter of case and punctuation.
 */
function serviceName(option: string | undefined, cwd: string): string {
  if (option !== undefined) {
    const result = ServiceNameSchema.safeParse(option);
    if (!result.success) {
      throw new ValidationError(`invalid value for --service`, {
        '--service': `expected ${SERVICE_NAME_RULE}, got ${JSON.stringify(option)}`,
      });
    }
    return option;
  }
  const [source, raw] = packageName(cwd) ?? ['the folder name', path.basename(cwd)];
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-{2,}/g, '-')
    .slice(0, 40)
    .replace(/-+$/, '');
  if (!ServiceNameSchema.safeParse(name).success) {
    throw new ValidationError('no service name: give one with --service', {
      '--service': `not given, and ${source} ${JSON.stringify(raw)} does not make one (${SERVICE_NAME_RULE})`,
    });
  }
  return name;
}

/** The `name` of package.json in `cwd` without its scope, if there is one. */
function packageName(cwd: string): [source: string, name: string] | undefined {
  const file = path.join(cwd, 'package.json');
  if (!existsSync(file)) return undefined;
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
  } catch {
    // A package.json that is not JSON says nothing about the name; the folder's name serves.
    return undefined;
  }
  return typeof name === 'string' && name ? ['the package.json name', name.replace(/^@[^/]+\//, '')] : undefined;
}

/** The human report: each file and what was done, then what to do next. */
export function describeInit(result: InitResult): string {
  const lines = [`Launchway set up for ${result.service} in ${result.directory}:`];
  const words: Record<InitFile['action'], string> = {
    created: 'created',
    overwritten: 'replaced',
    appended: 'section appended',
    kept: 'left as it was',
  };
  for (const file of result.files) lines.push(`  ${file.path.padEnd(42)} ${words[file.action]}`);
  if (result.otherCdkApp) lines.push(`  (cdk.json runs another app: deploy this one with npx cdk deploy --app "node ${APP_FILE}")`);
  lines.push(
    '',
    'Next:',
    '  npm install --save-dev launchway aws-cdk aws-cdk-lib constructs',
    '  npx launchway dev                                  the pipeline on this machine, with this catalog',
    '  npx cdk deploy -c mailFrom=releases@your.domain    on AWS, after putting your approvers and targets in the catalog',
  );
  return lines.join('\n');
}
