import type { CheckOutcome, ContractViolation, Exchange, UncheckedReason } from './conformance.js';

/** How a contract violation counts (catalog `tests.contractConformance`, without `off`, which checks nothing). */
export type ConformanceMode = 'fail' | 'warn';

/** What the contract check of one Newman run found, as the step details keep it. */
export interface ContractConformance {
  mode: ConformanceMode;
  /** Responses checked against an operation of the contract. */
  checked: number;
  /** Checked responses that kept the contract. */
  conforming: number;
  /** How many violations were found (a response can have several). */
  violationCount: number;
  /** The first violations, in run order (at most {@link MAX_LISTED}). */
  violations: ContractViolation[];
  /** Responses not checked, with why (at most {@link MAX_LISTED}); never violations. */
  unchecked: Array<{ name: string; method: string; path: string; reason: UncheckedReason }>;
  uncheckedCount: number;
}

/** How many violations and unchecked requests the result lists; the counts cover them all. */
const MAX_LISTED = 10;

/** Collects the outcome of each response of a run into a {@link ContractConformance}. */
export class ConformanceLog {
  private readonly result: ContractConformance;

  constructor(mode: ConformanceMode) {
    this.result = { mode, checked: 0, conforming: 0, violationCount: 0, violations: [], unchecked: [], uncheckedCount: 0 };
  }

  add(exchange: Exchange, outcome: CheckOutcome): void {
    const r = this.result;
    if ('unchecked' in outcome) {
      r.uncheckedCount += 1;
      if (r.unchecked.length < MAX_LISTED) {
        r.unchecked.push({ name: exchange.name, method: exchange.method, path: pathOf(exchange.url), reason: outcome.unchecked });
      }
      return;
    }
    r.checked += 1;
    if (outcome.violations.length === 0) r.conforming += 1;
    r.violationCount += outcome.violations.length;
    r.violations.push(...outcome.violations.slice(0, MAX_LISTED - r.violations.length));
  }

  summary(): ContractConformance {
    return structuredClone(this.result);
  }
}

/** One line for a violation, as failures and warnings show it: the operation, the status, where and what. */
export function describeViolation(v: ContractViolation): string {
  return `${v.operation} → ${v.status}: ${v.at} ${v.message}`;
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
