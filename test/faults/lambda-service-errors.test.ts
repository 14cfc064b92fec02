import { afterAll, beforeAll, describe, it } from 'vitest';
import { FaultSuite, casesOf } from './fault-matrix.js';

/**
 * Fault matrix (issue 10), 'lambda-service' column: Lambda refuses every attempt of a step (Lambda.ServiceException, one try and four retries) before its handler runs. Each Task state is
 * one case, run in pipeline order on one embedded stack; the expected ends are the rows of FAULT_MATRIX.
 */
const suite = new FaultSuite('lambda-service');

beforeAll(() => suite.start(), 120_000);
afterAll(() => suite.stop());

describe('fault matrix: lambda-service', () => {
  for (const row of casesOf('lambda-service')) {
    it(
      `${row.state}${row.inside ? ' (failing inside, after the stage switch)' : ''} ends ${row.status}, production on the ${row.production} version`,
      () => suite.run(row),
      150_000,
    );
  }
});
