/**
 * Environment defaults for running the Lambda code on a laptop, set before any handler module is loaded (import
 * this first). Metrics are CloudWatch's business on AWS; locally their EMF lines would only crowd the terminal.
 * Handler logs default to warnings and errors so the demo's progress stays readable; `LOG_LEVEL=INFO` (or DEBUG)
 * shows every step's structured log lines, as CloudWatch would.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.LOG_LEVEL ??= 'WARN';

export {};
