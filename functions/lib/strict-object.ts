import * as z from 'zod';

/**
 * Catalog objects refuse keys they do not declare. zod's default object drops them, so a misspelt optional field
 * (`requiredApproval`) would vanish and its default apply without a word. An unknown key is reported at its own
 * path, with the declared key it most likely meant when one is close.
 */

/** Edits (insertions, deletions, substitutions) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The declared key an unknown one most likely meant, ignoring case: the nearest within 1 edit for keys up to 4
 * characters, 2 up to 8, 3 beyond (further than that it is a different word, and a guess would mislead).
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const limit = key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** What a catalog author reads for one unknown key. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const near = nearestKey(key, known);
  return near ? `unknown field (did you mean ${near}?)` : 'unknown field';
}

/**
 * An object schema that refuses undeclared keys. zod reports all of an object's unknown keys in one issue; its
 * message holds one line per key, in the order of `keys`, which `issueLines` splits onto each key's own path.
 */
export function strictObject<const S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? iss.keys.map((key) => unknownFieldMessage(key, known)).join('\n') : undefined),
  });
}

/** One problem of a parse: the dotted path of the field (empty at the root) and what is wrong with it. */
export interface IssueLine {
  path: string;
  message: string;
}

/** The problems of a failed parse, one per field; an unknown key is named at its own path. */
export function issueLines(error: z.ZodError): IssueLine[] {
  return error.issues.flatMap((issue) => {
    const at = (extra: PropertyKey[]) => [...issue.path, ...extra].map(String).join('.');
    if (issue.code !== 'unrecognized_keys') return [{ path: at([]), message: issue.message }];
    const messages = issue.message.split('\n');
    // A strict object not made by strictObject has zod's one message for all its keys: each key repeats it.
    return issue.keys.map((key, i) => ({ path: at([key]), message: messages.length === issue.keys.length ? messages[i] : issue.message }));
  });
}
