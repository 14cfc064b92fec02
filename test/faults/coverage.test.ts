import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RELEASE_ASL_PATH } from '../../statemachines/paths.js';
import { FAULT_MATRIX, type FaultKind } from './fault-matrix.js';

/** The matrix covers every Task state of the ASL under every fault kind: a new Task state without its cases fails here. */
describe('fault matrix coverage', () => {
  it('has a row for every Task state of the ASL × every fault kind (at least 50 cases)', () => {
    const asl = JSON.parse(readFileSync(RELEASE_ASL_PATH, 'utf8')) as { States: Record<string, { Type: string }> };
    const tasks = Object.entries(asl.States)
      .filter(([, s]) => s.Type === 'Task')
      .map(([name]) => name);
    const kinds: FaultKind[] = ['domain', 'after-effect', 'late', 'lambda-service'];
    const missing = tasks.flatMap((state) =>
      kinds.filter((kind) => !FAULT_MATRIX.some((row) => row.state === state && row.kind === kind)).map((kind) => `${state} × ${kind}`),
    );
    expect(missing).toEqual([]);
    expect(FAULT_MATRIX.length).toBeGreaterThanOrEqual(50);
  });
});
