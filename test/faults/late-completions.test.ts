import { afterAll, beforeAll, describe, it } from 'vitest';
import { FaultSuite, casesOf } from './fault-matrix.js';

/**
 * Fault matrix (issue 10), 'late' column: A step's Task times out in the engine while its Lambda runs on; the Lambda completes after the release ended. Each Task state is
 * one case, run in pipeline order on one embedded stack; the expected ends are the rows of FAULT_MATRIX.
 */
const suite = new FaultSuite('late');

beforeAll(() => suite.start(), 120_000);
afterAll(() => suite.stop());

describe('fault matrix: late', () => {
  for (const row of casesOf('late')) {
    it(
      `${row.state}${row.inside ? ' (failing inside, after the stage switch)' : ''} ends ${row.status}, production on the ${row.production} version`,
      () => suite.run(row),
      150_000,
    );
  }
});
