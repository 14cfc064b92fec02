import type { InteropConfig } from '../catalog.js';

/** The catalog's `interop.cors`, as the import document needs it. */
export type CorsConfig = NonNullable<InteropConfig['cors']>;

type Json = Record<string, unknown>;

/** The preflight's status, the same on the local gateway (local/gateway-cors.ts). */
export const PREFLIGHT_STATUS = '204';

const PREFLIGHT_HEADERS = [
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Methods',
  'Access-Control-Allow-Headers',
  'Access-Control-Max-Age',
  'Vary',
];

/**
 * The OPTIONS operation API Gateway answers itself (a MOCK integration, no API key) for a path that declares
 * `methods`, as the local gateway does: Allow-Methods, -Headers and -Max-Age are fixed per path; Allow-Origin is `*`
 * when any origin is allowed, overridden by the request's `Origin` when the catalog lists it (a mapping template,
 * since a header mapping cannot depend on the request), and absent for any other origin.
 *
 * @param pathParameters the path's parameters, declared on the method as on every other operation of the path.
 */
export function preflightOperation(cors: CorsConfig, methods: string[], pathParameters: Json[]): Json {
  // The catalog refuses quotes in origins and header names (catalog.ts), so single quotes delimit these values safely.
  const quoted = (v: string) => `'${v}'`;
  const listed = cors.allowOrigins.filter((o) => o !== '*');
  const responseParameters: Record<string, string> = {
    'method.response.header.Access-Control-Allow-Methods': quoted([...new Set([...methods, 'OPTIONS'])].join(',')),
    'method.response.header.Access-Control-Allow-Headers': quoted(cors.allowHeaders.join(',')),
    'method.response.header.Access-Control-Max-Age': quoted(String(cors.maxAgeSeconds)),
  };
  if (cors.allowOrigins.includes('*')) responseParameters['method.response.header.Access-Control-Allow-Origin'] = "'*'";
  if (listed.length > 0) responseParameters['method.response.header.Vary'] = "'Origin'";
  return {
    summary: 'CORS preflight, answered by the gateway',
    ...(pathParameters.length > 0 ? { parameters: pathParameters } : {}),
    responses: {
      [PREFLIGHT_STATUS]: {
        description: 'CORS preflight',
        headers: Object.fromEntries(PREFLIGHT_HEADERS.map((h) => [h, { schema: { type: 'string' } }])),
      },
    },
    'x-amazon-apigateway-integration': {
      type: 'mock',
      requestTemplates: { 'application/json': `{"statusCode": ${PREFLIGHT_STATUS}}` },
      passthroughBehavior: 'when_no_match',
      responses: {
        default: {
          statusCode: PREFLIGHT_STATUS,
          responseParameters,
          ...(listed.length > 0 ? { responseTemplates: { 'application/json': echoListedOrigin(listed) } } : {}),
        },
      },
    },
  };
}

/**
 * Gateway responses (a missing key, an undeclared route, a target that is down) with Allow-Origin, so a browser can
 * read them: `*`, or the one listed origin. With several listed origins a gateway response cannot choose, so it
 * carries none; preflights and the service's own responses are not affected.
 */
export function corsGatewayResponses(cors: CorsConfig): Json | undefined {
  const listed = cors.allowOrigins.filter((o) => o !== '*');
  const origin = cors.allowOrigins.includes('*') ? '*' : listed.length === 1 ? listed[0] : undefined;
  if (origin === undefined) return undefined;
  const response = { responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': `'${origin}'` } };
  return { DEFAULT_4XX: response, DEFAULT_5XX: response };
}

/** A mapping template that sets Allow-Origin to the request's Origin when it is one of `listed`, and an empty body. */
function echoListedOrigin(listed: string[]): string {
  // Origins hold no `"`, `$`, `#` or `\` (catalog.ts): a plain double-quoted Velocity string is literal.
  const velocityString = (s: string) => `"${s}"`;
  return [
    "#set($origin = $input.params().header.get('Origin'))",
    '#if("$!origin" == "")#set($origin = $input.params().header.get(\'origin\'))#end',
    `#if(${listed.map((o) => `"$!origin" == ${velocityString(o)}`).join(' || ')})`,
    '#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)',
    '#end',
  ].join('\n');
}
