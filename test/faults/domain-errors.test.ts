import { afterAll, beforeAll, describe, it } from 'vitest';
import { FaultSuite, casesOf } from './fault-matrix.js';

/**
 * Fault matrix (issue 10), 'domain' column: A step fails with its own named error (for real where a real trigger is at hand). Each Task state is
 * one case, run in pipeline order on one embedded stack; the expected ends are the rows of FAULT_MATRIX.
 */
const suite = new FaultSuite('domain');

beforeAll(() => suite.start(), 120_000);
afterAll(() => suite.stop());

describe('fault matrix: domain', () => {
  for (const row of casesOf('domain')) {
    it(
      `${row.state}${row.inside ? ' (failing inside, after the stage switch)' : ''} ends ${row.status}, production on the ${row.production} version`,
      () => suite.run(row),
      150_000,
    );
  }
});
