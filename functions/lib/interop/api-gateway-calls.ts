/** API Gateway list calls return at most 500 items a page. */
export const PAGE = 500;

/** An API Gateway call that failed, with the operation named so the domain error can say which. */
export class GatewayCallError extends Error {
  override readonly name = 'GatewayCallError';
  constructor(
    readonly operation: string,
    readonly awsName: string,
    message: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed (${awsName}): ${message}`, options);
  }
}

/** Runs one SDK call; a failure becomes a GatewayCallError naming the operation and API Gateway's error. */
export async function callGateway<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const e = err as Error;
    throw new GatewayCallError(operation, e.name ?? 'Error', e.message ?? String(err), { cause: err });
  }
}

/** Turns "does not exist" into undefined and lets every other failure through. */
export function absent(err: unknown): undefined {
  if (err instanceof GatewayCallError && err.awsName === 'NotFoundException') return undefined;
  throw err;
}
