import { readFile } from 'node:fs/promises';
import { RELEASE_ASL_PATH } from '../statemachines/paths.js';

/**
 * Applies `definitionSubstitutions` the way Step Functions does (`${Name}` → value) and refuses to return a
 * definition with a placeholder left over, which on AWS would fail at deploy time.
 */
export function substitute(definition: string, substitutions: Record<string, string>): string {
  const out = definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) =>
    Object.hasOwn(substitutions, name) ? substitutions[name] : whole,
  );
  const left = [...out.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
  if (left.length > 0) throw new Error(`no substitution for ${[...new Set(left)].map((n) => '${' + n + '}').join(', ')}`);
  return out;
}

export async function loadReleaseDefinition(substitutions: Record<string, string>): Promise<string> {
  return substitute(await readFile(RELEASE_ASL_PATH, 'utf8'), substitutions);
}
