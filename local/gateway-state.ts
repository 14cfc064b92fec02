import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { HTTP_METHODS } from '../functions/lib/http-methods.js';
import { BASE_PATH_SEGMENT, routePrefix, type ApiRoute } from '../functions/lib/openapi.js';

/**
 * The local gateway's model, shaped like API Gateway's: per service, immutable deployments (a route table, a
 * target and whether a key is required) and stages pointing at one deployment each; API keys live beside the API,
 * as they do in AWS, so removing a service's API does not change the keys partners hold.
 */

export const SERVICE_NAME = /^[a-z][a-z0-9-]{1,39}$/;
export const STAGE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const KEY_NAME = /^[a-z0-9-]{1,64}$/;

/** One path segment of an OpenAPI path template, as the gateway matches it. */
type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

/**
 * Parses a path template the way API Gateway imports it: literal segments, whole-segment `{name}` parameters and a
 * final greedy `{name+}`. Returns a reason string when the template is not one of those.
 */
export function compileTemplate(template: string): Segment[] | string {
  if (!template.startsWith('/')) return `expected a path starting with "/", got "${template}"`;
  if (template === '/') return [];
  const parts = template.slice(1).split('/');
  const segments: Segment[] = [];
  for (const [i, part] of parts.entries()) {
    if (part === '') return `"${template}" has an empty segment`;
    const param = /^\{([A-Za-z0-9_.-]+)(\+?)\}$/.exec(part);
    if (param) {
      if (param[2] === '+' && i !== parts.length - 1) return `"${template}": a greedy {${param[1]}+} must be the last segment`;
      segments.push(param[2] === '+' ? { kind: 'greedy', name: param[1] } : { kind: 'param', name: param[1] });
    } else if (/[{}]/.test(part)) {
      // OpenAPI allows "/{a}.{b}"; API Gateway rejects it on import, and so does its local stand-in.
      return `"${template}": segment "${part}" mixes text and a parameter, which API Gateway does not support`;
    } else {
      segments.push({ kind: 'literal', value: part });
    }
  }
  return segments;
}

const RouteSchema = z.object({
  method: z.enum(HTTP_METHODS),
  path: z.string().superRefine((p, ctx) => {
    const compiled = compileTemplate(p);
    if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', message: compiled });
  }),
});

/** A base path as `basePathOf` (functions/lib/openapi.ts) returns it: `''`, or `/a/b` with no empty or dot segment. */
const BasePathSchema = z.string().refine(
  (p) =>
    p === '' ||
    (p.startsWith('/') &&
      p
        .slice(1)
        .split('/')
        .every((s) => s !== '.' && s !== '..' && BASE_PATH_SEGMENT.test(s))),
  { message: 'expected "" or a path such as /api/v2 (no trailing slash, no {param})' },
);

/** The catalog's `interop.cors`: what a preflight answers and which origins proxied responses allow. */
const CorsSchema = z.object({
  allowOrigins: z.array(z.string().min(1)).min(1),
  allowHeaders: z.array(z.string().min(1)),
  maxAgeSeconds: z.number().int().min(0).max(86_400),
});
export type GatewayCors = z.infer<typeof CorsSchema>;

/** Body of `POST /_admin/services/<svc>/deployments`. */
export const CreateDeploymentSchema = z.object({
  /** Path templates relative to the contract's base path. */
  routes: z.array(RouteSchema).min(1, 'expected at least one route'),
  /** The contract's base path, and what to do with it, as API Gateway's import parameter `basepath`. */
  basePath: BasePathSchema.default(''),
  basePathMode: z.enum(['prepend', 'ignore', 'split']).default('prepend'),
  cors: CorsSchema.optional(),
  targetUrl: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  apiKeyRequired: z.boolean(),
  /** The stage this deployment is made for; a rollback points that stage back at it. */
  stage: z.string().regex(STAGE_NAME, 'expected 1-64 letters, digits, dashes or underscores'),
  /** Not interpreted by the gateway: they let the provisioner recognise its own deployment on a retry. */
  releaseId: z.string().min(1).max(200).optional(),
  description: z.string().max(500).optional(),
  previousDeploymentId: z.string().min(1).max(64).optional(),
});
export type CreateDeploymentInput = z.infer<typeof CreateDeploymentSchema>;

/** Body of `PUT /_admin/services/<svc>/stages/<stage>`: `null` removes the stage. */
export const SetStageSchema = z.object({ deploymentId: z.string().min(1).nullable() });

/** Body of `POST /_admin/services/<svc>/keys`. */
export const CreateKeySchema = z.object({ name: z.string().regex(KEY_NAME, 'expected 1-64 lowercase letters, digits or dashes') });

const DeploymentSchema = CreateDeploymentSchema.extend({ id: z.string(), createdAt: z.string() });
export type GatewayDeployment = z.infer<typeof DeploymentSchema>;

const ApiKeySchema = z.object({ id: z.string(), name: z.string(), value: z.string(), createdAt: z.string() });
export type GatewayApiKey = z.infer<typeof ApiKeySchema>;

const StateSchema = z.object({
  version: z.literal(1),
  apis: z.record(
    z.string(),
    z.object({
      deployments: z.record(z.string(), DeploymentSchema),
      stages: z.record(z.string(), z.string()),
      /** The stage changed last: what `describe` reports as the service's current stage. */
      lastStage: z.string().optional(),
    }),
  ),
  keys: z.record(z.string(), z.record(z.string(), ApiKeySchema)),
});
type StateData = z.infer<typeof StateSchema>;

/**
 * A partner request resolved against the current route table. `methods` are those the matched path declares, for
 * a CORS preflight; a path matched with an undeclared method is `no-route` with the path's `methods`.
 */
export type RouteMatch =
  | { ok: true; deployment: GatewayDeployment; route: ApiRoute; params: Record<string, string>; methods: string[] }
  | { ok: false; reason: 'no-stage' }
  | { ok: false; reason: 'no-route'; deployment: GatewayDeployment; methods: string[] };

/** Thrown for control-plane calls that name something that does not exist. */
export class GatewayNotFound extends Error {
  override readonly name = 'GatewayNotFound';
}

/** In-memory gateway state, optionally mirrored to a JSON file after every change. */
export class GatewayState {
  private readonly compiled = new Map<string, Segment[]>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly data: StateData,
    private readonly file?: string,
  ) {}

  /** Empty state, or the state saved in `file` when it exists. */
  static async open(file?: string): Promise<GatewayState> {
    if (!file) return new GatewayState(emptyState());
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new GatewayState(emptyState(), file);
      throw err;
    }
    const parsed = StateSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      const lines = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new Error(`${file} is not local gateway state (delete it to start empty):\n  ${lines.join('\n  ')}`);
    }
    return new GatewayState(parsed.data, file);
  }

  /** Records a new immutable deployment of a service's API. */
  async createDeployment(service: string, input: CreateDeploymentInput): Promise<GatewayDeployment> {
    const api = (this.data.apis[service] ??= { deployments: {}, stages: {} });
    const deployment: GatewayDeployment = { ...input, id: randomId(), createdAt: new Date().toISOString() };
    api.deployments[deployment.id] = deployment;
    await this.save();
    return deployment;
  }

  deployment(service: string, id: string): GatewayDeployment {
    const found = this.data.apis[service]?.deployments[id];
    if (!found) throw new GatewayNotFound(`${service} has no deployment ${id}`);
    return found;
  }

  /** Points a stage at a deployment (or removes it with null); returns what it pointed at before. */
  async setStage(service: string, stage: string, deploymentId: string | null): Promise<string | undefined> {
    const api = this.data.apis[service];
    if (deploymentId !== null) this.deployment(service, deploymentId);
    if (!api) return undefined;
    const before = api.stages[stage];
    if (deploymentId === null) {
      delete api.stages[stage];
      if (api.lastStage === stage) api.lastStage = Object.keys(api.stages)[0];
    } else {
      api.stages[stage] = deploymentId;
      api.lastStage = stage;
    }
    await this.save();
    return before;
  }

  /** Removes a service's API (deployments and stages); its keys stay, as API keys outlive a REST API in AWS. */
  async deleteApi(service: string): Promise<boolean> {
    if (!this.data.apis[service]) return false;
    for (const id of Object.keys(this.data.apis[service].deployments)) this.compiled.delete(id);
    delete this.data.apis[service];
    await this.save();
    return true;
  }

  /** The key named `name` for a service, created with a fresh random value the first time. */
  async ensureKey(service: string, name: string): Promise<{ key: GatewayApiKey; created: boolean }> {
    const keys = (this.data.keys[service] ??= {});
    const existing = Object.values(keys).find((k) => k.name === name);
    if (existing) return { key: existing, created: false };
    const key: GatewayApiKey = { id: randomId(), name, value: randomBytes(30).toString('base64url'), createdAt: new Date().toISOString() };
    keys[key.id] = key;
    await this.save();
    return { key, created: true };
  }

  key(service: string, id: string): GatewayApiKey {
    const found = this.data.keys[service]?.[id];
    if (!found) throw new GatewayNotFound(`${service} has no API key ${id}`);
    return found;
  }

  /** True when `value` is one of the service's keys. Compares digests in constant time. */
  keyAccepted(service: string, value: string): boolean {
    const presented = digest(value);
    let accepted = false;
    for (const key of Object.values(this.data.keys[service] ?? {})) {
      if (timingSafeEqual(presented, digest(key.value))) accepted = true;
    }
    return accepted;
  }

  /**
   * What the control plane shows of a service: its current stage (the one changed last), the deployment that stage
   * serves and its routes, every stage and deployment, and the keys without their values.
   */
  describe(service: string): Record<string, unknown> {
    const api = this.data.apis[service];
    const keys = this.data.keys[service];
    if (!api && !keys) throw new GatewayNotFound(`the gateway has no API for ${service}`);
    const stage = api?.lastStage;
    const current = stage ? api.deployments[api.stages[stage]] : undefined;
    return {
      service,
      stage: stage ?? null,
      currentDeploymentId: current?.id ?? null,
      routes: current?.routes ?? [],
      stages: { ...(api?.stages ?? {}) },
      deployments: Object.values(api?.deployments ?? {})
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map(({ routes, ...rest }) => ({ ...rest, routeCount: routes.length })),
      keys: Object.values(keys ?? {}).map(({ id, name, createdAt }) => ({ id, name, createdAt })),
    };
  }

  services(): string[] {
    return Object.keys(this.data.apis);
  }

  /**
   * Finds the route a partner request hits: the stage's current deployment; then, as API Gateway imports the
   * contract with `basepath`, the part of the base path partners keep ({@link routePrefix}) must lead `segments`;
   * then the most specific declared path template matching the rest (literal beats `{param}` beats `{greedy+}`),
   * then the method on that path. A declared path with another method is "no-route", as API Gateway gives no 405.
   */
  match(service: string, stage: string, method: string, segments: string[]): RouteMatch {
    const api = this.data.apis[service];
    const id = api?.stages[stage];
    const deployment = id ? api.deployments[id] : undefined;
    if (!deployment) return { ok: false, reason: 'no-stage' };
    const noRoute = (methods: string[] = []): RouteMatch => ({ ok: false, reason: 'no-route', deployment, methods });

    const prefix = routePrefix(deployment.basePath, deployment.basePathMode).split('/').slice(1).map(decodeSegment);
    if (prefix.some((s, i) => segments[i] !== s)) return noRoute();
    const rest = segments.slice(prefix.length);
    let best: { template: string; rank: number[]; params: Record<string, string> } | undefined;
    for (const template of new Set(deployment.routes.map((r) => r.path))) {
      const params = matchTemplate(this.compile(template), rest);
      if (!params) continue;
      const rank = specificity(this.compile(template));
      if (!best || compareRanks(rank, best.rank) < 0) best = { template, rank, params };
    }
    if (!best) return noRoute();
    const methods = deployment.routes.filter((r) => r.path === best!.template).map((r) => r.method);
    const route = deployment.routes.find((r) => r.path === best!.template && r.method === method);
    if (!route) return noRoute(methods);
    return { ok: true, deployment, route, params: best.params, methods };
  }

  /** The partner paths a deployment serves (prefix and template, then its methods), for a 404's debug line. */
  static routesOf(deployment: GatewayDeployment): string[] {
    const prefix = routePrefix(deployment.basePath, deployment.basePathMode);
    return deployment.routes.map((r) => `${r.method} ${prefix}${r.path === '/' && prefix ? '' : r.path}`);
  }

  /** Resolves once every change made so far is on disk. */
  flushed(): Promise<void> {
    return this.saving;
  }

  private compile(template: string): Segment[] {
    let segments = this.compiled.get(template);
    if (!segments) {
      const compiled = compileTemplate(template);
      // Deployments are validated on the way in; a bad template here means a hand-edited state file.
      if (typeof compiled === 'string') throw new Error(compiled);
      segments = compiled;
      this.compiled.set(template, segments);
    }
    return segments;
  }

  /** Writes the whole state to a temporary file and renames it, so a crash never leaves half a file; one write at a time. */
  private save(): Promise<void> {
    if (!this.file) return Promise.resolve();
    const file = this.file;
    const text = JSON.stringify(this.data, null, 2);
    this.saving = this.saving
      .catch(() => undefined)
      .then(async () => {
        await mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        // The file holds API key values.
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, file);
      });
    return this.saving;
  }
}

function emptyState(): StateData {
  return { version: 1, apis: {}, keys: {} };
}

/** Ten lowercase letters and digits, like API Gateway's resource ids. */
function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Base path segments are stored as written in the contract (percent-encoded); request segments arrive decoded. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Parameter values when the decoded request segments fit the template, otherwise undefined. */
function matchTemplate(template: Segment[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [i, seg] of template.entries()) {
    if (seg.kind === 'greedy') {
      if (i >= segments.length) return undefined;
      params[seg.name] = segments.slice(i).join('/');
      return params;
    }
    if (i >= segments.length) return undefined;
    if (seg.kind === 'literal' && seg.value !== segments[i]) return undefined;
    if (seg.kind === 'param') params[seg.name] = segments[i];
  }
  return template.length === segments.length ? params : undefined;
}

function specificity(template: Segment[]): number[] {
  return template.map((s) => (s.kind === 'literal' ? 0 : s.kind === 'param' ? 1 : 2));
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return b.length - a.length;
}
