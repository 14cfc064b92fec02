import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per process. Handlers add `releaseId` to every line. Never log a task token, a
 * signing secret or an API key value.
 */
export const logger = new Logger({
  serviceName: 'launchway',
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
});
