/** An error the API answers with its own status and `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(statusCode, code, message) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

/** Every error, ours or Fastify's, in the one shape the contract declares. */
export function errorHandler(error, request, reply) {
  if (error.validation) {
    return reply.code(400).send({ error: { code: 'VALIDATION_ERROR', message: error.message } });
  }
  if (error instanceof HttpError) {
    return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return reply.code(status).send({ error: { code: 'BAD_REQUEST', message: error.message } });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send({ error: { code: 'INTERNAL', message: 'something went wrong' } });
}

export function notFoundHandler(request, reply) {
  reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } });
}
