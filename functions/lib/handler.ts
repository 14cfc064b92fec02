import middy, { type MiddlewareObj } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { ValidationError } from './errors.js';
import { fieldErrors } from './release-request.js';
import { logger } from './logger.js';

/**
 * Parses the event with a zod schema before the handler runs; a bad event is a ValidationError naming each field.
 * Adds the release id to every log line when the event carries one.
 */
export function parseEvent<S extends z.ZodType>(schema: S): MiddlewareObj<unknown, unknown> {
  return {
    before: (request) => {
      const result = schema.safeParse(request.event);
      if (!result.success) {
        const fields = fieldErrors(result.error, 'event');
        throw new ValidationError(
          `invalid event: ${Object.entries(fields)
            .map(([k, v]) => `${k} ${v}`)
            .join('; ')}`,
          fields,
        );
      }
      request.event = result.data;
      const releaseId = (result.data as { releaseId?: unknown })?.releaseId;
      if (typeof releaseId === 'string') logger.appendKeys({ releaseId });
    },
  };
}

/**
 * Builds a step handler: the middy chain (logger context, zod parsing) around a domain function. The domain
 * function is exported alongside so tests call it without Lambda.
 */
export function stepHandler<S extends z.ZodType, R>(schema: S, fn: (event: z.infer<S>, context: Context) => Promise<R>) {
  return middy<z.infer<S>, R>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(parseEvent(schema) as MiddlewareObj<z.infer<S>, R>)
    .handler((event, context) => fn(event, context));
}
