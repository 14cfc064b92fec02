import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * package.json's `engines.node` must say what the production dependencies really need: it must equal the
 * intersection of the node ranges of every package a user installs with Launchway (dependencies and
 * peerDependencies, transitively, as installed), apart from the dependencies listed in RUNS_OUTSIDE_RANGE.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Dependencies whose stated node range we knowingly run outside, each with the range and the reason it is safe.
 * The test fails when an entry is no longer needed (the package is gone, or its range now covers ours).
 */
const RUNS_OUTSIDE_RANGE: Record<string, { range: string; why: string }> = {
  'aws-local-stepfunctions': {
    range: '>=22.0.0',
    why: 'its only Node 22 API is Promise.withResolvers, which local/polyfills.ts adds on Node 20 before the engine loads',
  },
};

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));

/** Where Node finds package `name` from `fromDir`: the nearest node_modules/<name> going up. */
function resolvePackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** Every installed package a production install brings, by folder: what Node would load at run time. */
function productionTree(): Map<string, Manifest> {
  const seen = new Map<string, Manifest>();
  const visit = (dir: string, manifest: Manifest, withPeers: boolean) => {
    const required = { ...manifest.dependencies, ...(withPeers ? manifest.peerDependencies : {}) };
    const optional = new Set([
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...Object.entries(manifest.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional)
        .map(([name]) => name),
    ]);
    for (const name of [...Object.keys(required), ...optional]) {
      const found = resolvePackage(name, dir);
      if (!found) {
        // Optional dependencies (platform binaries, optional peers) may legitimately be absent.
        if (optional.has(name)) continue;
        throw new Error(`${manifest.name} needs ${name}, which is not installed`);
      }
      if (seen.has(found)) continue;
      const child = readManifest(found);
      seen.set(found, child);
      visit(found, child, true);
    }
  };
  visit(ROOT, readManifest(ROOT), true);
  return seen;
}

/** One `||` alternative as its tightest bounds, so the intersection reads like a range a person would write. */
function tighten(set: readonly semver.Comparator[]): string {
  const bounds = set.filter((c) => c.value !== '');
  if (bounds.some((c) => c.operator === '' || c.operator === '=')) return bounds.map((c) => c.value).join(' ');
  const pick = (prefix: string, better: number) =>
    bounds
      .filter((c) => c.operator.startsWith(prefix))
      .reduce<semver.Comparator | undefined>((best, c) => {
        if (!best) return c;
        const order = semver.compare(c.semver, best.semver);
        // At the same version the strict operator is the tighter bound.
        return order === better || (order === 0 && c.operator.length === 1) ? c : best;
      }, undefined);
  return [pick('>', 1), pick('<', -1)].flatMap((c) => (c ? [c.value] : [])).join(' ') || '*';
}

/** The intersection of node ranges, as one range: every combination of their `||` alternatives that can match. */
function intersect(ranges: string[]): semver.Range {
  let sets: string[] = ['*'];
  for (const range of ranges) {
    const alternatives = new semver.Range(range).set;
    sets = sets
      .flatMap((set) => alternatives.map((alt) => tighten([...new semver.Range(set).set[0], ...alt])))
      .filter((set, i, all) => all.indexOf(set) === i && semver.minVersion(set) !== null);
  }
  return new semver.Range(sets.join(' || '));
}

describe('engines.node', () => {
  const ours = readManifest(ROOT).engines?.node ?? '';
  const tree = productionTree();
  const stated = [...tree.values()].filter((m) => m.engines?.node);

  it('walks the whole production tree, and only it', () => {
    const names = new Set([...tree.values()].map((m) => m.name));
    for (const name of ['aws-local-stepfunctions', '@aws-sdk/client-sfn', 'classic-level', 'aws-cdk-lib', 'constructs']) {
      expect(names, name).toContain(name);
    }
    for (const devOnly of ['vitest', 'typescript', '@biomejs/biome', 'esbuild', 'tsx']) expect(names, devOnly).not.toContain(devOnly);
  });

  it('equals the intersection of the production dependencies’ node ranges, apart from the listed exceptions', () => {
    const counted = stated.filter((m) => !(m.name in RUNS_OUTSIDE_RANGE));
    const needed = intersect(counted.map((m) => m.engines!.node!));
    // Not wider than any dependency allows: each one's range holds ours.
    const outside = counted.filter((m) => !semver.subset(ours, m.engines!.node!)).map((m) => `${m.name}@${m.version}: ${m.engines!.node}`);
    expect(outside).toEqual([]);
    // Not narrower than they need: every version they all accept is in ours.
    expect(semver.subset(needed, ours), `the dependencies accept ${needed.range}`).toBe(true);
  });

  it('lists a dependency as run outside its range only while it is installed and its range leaves out part of ours', () => {
    for (const [name, { range }] of Object.entries(RUNS_OUTSIDE_RANGE)) {
      const installed = stated.filter((m) => m.name === name);
      expect(installed.length, `${name} is in the production tree`).toBeGreaterThan(0);
      for (const m of installed) {
        expect(m.engines!.node, `${name}'s stated range`).toBe(range);
        expect(semver.subset(ours, range), `${name} now accepts ${ours}; drop its exception`).toBe(false);
      }
    }
  });

  it('includes the Lambda runtime’s major, Node 22, and the machine’s Node 20', () => {
    expect(semver.intersects(ours, '^22'), 'Node 22').toBe(true);
    expect(semver.intersects(ours, '^20'), 'Node 20').toBe(true);
  });
});
