import { afterAll, beforeAll, describe, it } from 'vitest';
import { FaultSuite, casesOf } from './fault-matrix.js';

/**
 * Fault matrix (issue 10), 'after-effect' column: A step does its work, then its Lambda throws an unexpected Error. Each Task state is
 * one case, run in pipeline order on one embedded stack; the expected ends are the rows of FAULT_MATRIX.
 */
const suite = new FaultSuite('after-effect');

beforeAll(() => suite.start(), 120_000);
afterAll(() => suite.stop());

describe('fault matrix: after-effect', () => {
  for (const row of casesOf('after-effect')) {
    it(
      `${row.state}${row.inside ? ' (failing inside, after the stage switch)' : ''} ends ${row.status}, production on the ${row.production} version`,
      () => suite.run(row),
      150_000,
    );
  }
});
