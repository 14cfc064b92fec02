/**
 * Environment defaults for running the Lambda code on a laptop, set before any handler module is loaded (import
 * this first). Metrics are CloudWatch's business on AWS; locally their EMF lines would only crowd the terminal.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

export {};
