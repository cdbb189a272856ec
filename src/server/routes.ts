/**
 * The route table: every path the API serves, its methods and handlers. A path is matched
 * segment by segment (`{name}` takes one segment); the first route whose path matches and
 * whose guard accepts the parameters serves the request, with 405 (and `Allow`) for a method
 * it lacks. Routes marked `open` need no token (health and version, as on the API server).
 */
import { isDNS1123Label, isDNS1123Subdomain } from '../api/names.js';
import { API_GROUP_LIST, API_VERSIONS, apiGroup, apiResourceList, GROUPS, groupResourceList, versionInfo } from './discovery.js';
import { selfSubjectAccessReview, selfSubjectReview, selfSubjectRulesReview } from './handlers/auth.js';
import { getNode, getNodeMetrics, getPodMetrics, listNodeMetrics, listNodes, listPodMetrics } from './handlers/metrics.js';
import { create, getOne, listOrWatch, patch, remove, replace, serveWatch, type Target } from './handlers/objects.js';
import { podLogs, podRestarts, podVerb } from './handlers/pods.js';
import { podAttach, podExec, podPortForward } from './handlers/streams.js';
import { NODE_RESOURCE } from './kinds/nodes.js';
import { openApiContentType, openApiV2, openApiV3Group, openApiV3Root, type OpenApiDocument } from './openapi.js';
import { PodResource } from './registry/pods.js';
import type { Resource, WriteOptions } from './registry/types.js';
import { queryBool, type Ctx } from './request.js';
import { baseHeaders, sendJson, sendText } from './respond.js';
import type { ServerEnv } from './server-env.js';
import { failure, HttpError, methodNotAllowed, notFound, pathNotFound } from './status.js';

/** A handler: the request, its path parameters. */
export type Handler = (env: ServerEnv, ctx: Ctx, p: Record<string, string>) => void | Promise<void>;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One row of the table. */
export interface Route {
  path: string;
  /** Served without the token. */
  open?: boolean;
  /** The resource of a subresource path (`pods` for `…/pods/{name}/log`), for checking `{name}`. */
  resource?: string;
  /** Further conditions on the parameters (the first route that matches and accepts wins). */
  when?: (env: ServerEnv, p: Record<string, string>) => boolean;
  methods: Partial<Record<Method, Handler>>;
}

// ------------------------------------------------------------------ targets

function resourceOf(env: ServerEnv, name: string): Resource {
  const r = env.registry.resource(name);
  if (!r) throw new HttpError(pathNotFound());
  return r;
}

/** The namespace of a path (404 `namespaces "x" not found` for one that cannot exist). */
function namespaceOf(ns: string): string {
  if (isDNS1123Label(ns).length > 0) throw new HttpError(notFound('namespaces', ns));
  return ns;
}

function named(r: Resource, name: string): string {
  const bad = r.def.resource === 'namespaces' ? isDNS1123Label(name) : isDNS1123Subdomain(name);
  if (bad.length > 0) throw new HttpError(notFound(r.def.resource, name));
  return name;
}

/** A pod's `ephemeralcontainers` subresource: the pod, written only through its ephemeral containers. */
function ephemeralTarget(env: ServerEnv, p: Record<string, string>): Target {
  const t = nsTarget(env, { ...p, resource: 'pods' });
  const pods = t.resource;
  if (!(pods instanceof PodResource)) throw new HttpError(pathNotFound());
  const resource: Resource = Object.assign(Object.create(pods) as Resource, {
    update: (ns: string | undefined, name: string, next: Record<string, unknown>, opts: WriteOptions) => pods.updateEphemeralContainers(ns, name, next, opts),
  });
  return { ...t, resource };
}

/** `/api/v1/namespaces/{namespace}/{resource}[/{name}]` */
function nsTarget(env: ServerEnv, p: Record<string, string>): Target {
  const resource = resourceOf(env, p['resource'] ?? '');
  const t: Target = { resource, namespace: namespaceOf(p['namespace'] ?? '') };
  if (p['name'] !== undefined) t.name = named(resource, p['name']);
  return t;
}

/** `/api/v1/{resource}[/{name}]`: every namespace, or a cluster-scoped resource. */
function topTarget(env: ServerEnv, p: Record<string, string>): Target {
  const resource = resourceOf(env, p['resource'] ?? '');
  const t: Target = { resource, namespace: undefined };
  if (p['name'] !== undefined) {
    if (resource.def.namespaced) throw new HttpError(pathNotFound());
    t.name = named(resource, p['name']);
  }
  return t;
}

const isNamespaced = (env: ServerEnv, p: Record<string, string>): boolean => env.registry.resource(p['resource'] ?? '')?.def.namespaced === true;
const isClusterScoped = (env: ServerEnv, p: Record<string, string>): boolean => env.registry.resource(p['resource'] ?? '')?.def.namespaced === false;

// ------------------------------------------------------------------ handlers

const ok: Handler = (_env, ctx) => sendText(ctx.res, 200, 'ok');

const metrics: Handler = async (env, ctx) => {
  if (!env.metrics) throw new HttpError(pathNotFound());
  const m = await env.metrics();
  const data = Buffer.from(m.body);
  ctx.res.writeHead(200, { ...baseHeaders(m.contentType), 'Content-Length': String(data.length) });
  ctx.res.end(data);
};

/**
 * An OpenAPI document as JSON (406 to a client that takes only protobuf, as kube-openapi
 * answers). With the `hash` of the current document it may be cached forever; with another
 * one the client is redirected to the current URL (kube-openapi's behaviour).
 */
function sendOpenApi(ctx: Ctx, doc: OpenApiDocument, path: string): void {
  if (!openApiContentType(ctx.req.headers.accept)) {
    throw new HttpError(failure(406, 'NotAcceptable', 'only the following media types are accepted: application/json'));
  }
  const hash = ctx.query.get('hash');
  if (hash !== null && hash !== doc.hash) {
    ctx.res.writeHead(301, { Location: `${path}?hash=${doc.hash}`, 'Cache-Control': 'no-cache, private' });
    ctx.res.end();
    return;
  }
  ctx.res.writeHead(200, {
    ...baseHeaders('application/json'),
    'Cache-Control': hash !== null ? 'public, immutable' : 'no-cache, private',
    ETag: doc.etag,
    'Content-Length': String(doc.body.length),
  });
  ctx.res.end(doc.body);
}

const openApiGroup: Handler = (_env, ctx, p) => {
  const path = p['group'] === undefined ? 'api/v1' : `apis/${p['group']}/${p['version'] ?? ''}`;
  const doc = openApiV3Group(path);
  if (!doc) throw new HttpError(pathNotFound());
  sendOpenApi(ctx, doc, `/openapi/v3/${path}`);
};

const json = (body: (env: ServerEnv) => unknown): Handler => (env, ctx) => sendJson(ctx.res, 200, body(env));

const collection = (target: (env: ServerEnv, p: Record<string, string>) => Target): Route['methods'] => ({
  GET: (env, ctx, p) => listOrWatch(env, ctx, target(env, p), queryBool(ctx.query, 'watch')),
  POST: (env, ctx, p) => create(env, ctx, target(env, p)),
});

const item = (target: (env: ServerEnv, p: Record<string, string>) => Target): Route['methods'] => ({
  GET: (env, ctx, p) => getOne(env, ctx, target(env, p)),
  PUT: (env, ctx, p) => replace(env, ctx, target(env, p)),
  PATCH: (env, ctx, p) => patch(env, ctx, target(env, p)),
  DELETE: (env, ctx, p) => remove(env, ctx, target(env, p)),
});

const watchOf = (target: (env: ServerEnv, p: Record<string, string>) => Target): Route['methods'] => ({
  GET: (env, ctx, p) => serveWatch(env, ctx, target(env, p)),
});

const podPath = 'api/v1/namespaces/{namespace}/pods/{name}';
const pod = (env: ServerEnv, p: Record<string, string>): [string, string] => {
  const t = nsTarget(env, { ...p, resource: 'pods' });
  return [t.namespace ?? 'default', t.name ?? ''];
};

/** Every route, in matching order. */
export const ROUTES: readonly Route[] = [
  { path: 'livez', open: true, methods: { GET: ok } },
  { path: 'readyz', open: true, methods: { GET: ok } },
  { path: 'healthz', open: true, methods: { GET: ok } },
  { path: 'version', open: true, methods: { GET: json((env) => versionInfo(env.gitVersion)) } },
  { path: 'metrics', methods: { GET: metrics } },
  { path: 'api', methods: { GET: json(() => API_VERSIONS) } },
  { path: 'apis', methods: { GET: json(() => API_GROUP_LIST) } },
  { path: 'api/v1', methods: { GET: json((env) => apiResourceList([...env.registry.all(), NODE_RESOURCE])) } },
  ...GROUPS.flatMap((g): Route[] => [
    { path: `apis/${g.name}`, methods: { GET: json(() => apiGroup(g)) } },
    { path: `apis/${g.name}/${g.version}`, methods: { GET: json(() => groupResourceList(g)) } },
  ]),
  { path: 'apis/authentication.k8s.io/v1/selfsubjectreviews', methods: { POST: selfSubjectReview } },
  { path: 'apis/authorization.k8s.io/v1/selfsubjectaccessreviews', methods: { POST: selfSubjectAccessReview } },
  { path: 'apis/authorization.k8s.io/v1/selfsubjectrulesreviews', methods: { POST: selfSubjectRulesReview } },
  // Resource metrics (`kubectl top`), computed on request.
  { path: 'apis/metrics.k8s.io/v1beta1/pods', methods: { GET: (env, ctx) => listPodMetrics(env, ctx, undefined) } },
  { path: 'apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods', methods: { GET: (env, ctx, p) => listPodMetrics(env, ctx, namespaceOf(p['namespace'] ?? '')) } },
  { path: 'apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}', methods: { GET: (env, ctx, p) => getPodMetrics(env, ctx, namespaceOf(p['namespace'] ?? ''), p['name'] ?? '') } },
  { path: 'apis/metrics.k8s.io/v1beta1/nodes', methods: { GET: listNodeMetrics } },
  { path: 'apis/metrics.k8s.io/v1beta1/nodes/{name}', methods: { GET: (env, ctx, p) => getNodeMetrics(env, ctx, p['name'] ?? '') } },
  // The one Node (read-only, built on request): before the generic routes, which serve the registry's kinds.
  { path: 'api/v1/nodes', methods: { GET: listNodes } },
  { path: 'api/v1/nodes/{name}', methods: { GET: (env, ctx, p) => getNode(env, ctx, p['name'] ?? '') } },
  { path: 'openapi/v2', methods: { GET: (_env, ctx) => sendOpenApi(ctx, openApiV2(), '/openapi/v2') } },
  { path: 'openapi/v3', methods: { GET: json(() => openApiV3Root()) } },
  { path: 'openapi/v3/api/v1', methods: { GET: openApiGroup } },
  { path: 'openapi/v3/apis/{group}/{version}', methods: { GET: openApiGroup } },
  // The legacy watch paths.
  { path: 'api/v1/watch/{resource}', methods: watchOf(topTarget) },
  { path: 'api/v1/watch/{resource}/{name}', when: isClusterScoped, methods: watchOf(topTarget) },
  { path: 'api/v1/watch/namespaces/{namespace}/{resource}', when: isNamespaced, methods: watchOf(nsTarget) },
  { path: 'api/v1/watch/namespaces/{namespace}/{resource}/{name}', when: isNamespaced, methods: watchOf(nsTarget) },
  // Namespaced resources.
  { path: 'api/v1/namespaces/{namespace}/{resource}', when: isNamespaced, methods: collection(nsTarget) },
  { path: 'api/v1/namespaces/{namespace}/{resource}/{name}', when: isNamespaced, methods: item(nsTarget) },
  { path: `${podPath}/status`, resource: 'pods', methods: { GET: (env, ctx, p) => getOne(env, ctx, nsTarget(env, { ...p, resource: 'pods' })) } },
  { path: `${podPath}/log`, resource: 'pods', methods: { GET: (env, ctx, p) => podLogs(env, ctx, ...pod(env, p)) } },
  { path: `${podPath}/restart`, resource: 'pods', methods: { POST: (env, ctx, p) => podVerb(env, ctx, ...pod(env, p), 'restart') } },
  { path: `${podPath}/recreate`, resource: 'pods', methods: { POST: (env, ctx, p) => podVerb(env, ctx, ...pod(env, p), 'recreate') } },
  { path: `${podPath}/ephemeralcontainers`, resource: 'pods', methods: {
    GET: (env, ctx, p) => getOne(env, ctx, nsTarget(env, { ...p, resource: 'pods' })),
    PUT: (env, ctx, p) => replace(env, ctx, ephemeralTarget(env, p)),
    PATCH: (env, ctx, p) => patch(env, ctx, ephemeralTarget(env, p)),
  } },
  { path: `${podPath}/attach`, resource: 'pods', methods: { GET: (env, ctx, p) => podAttach(env, ctx, ...pod(env, p)), POST: (env, ctx, p) => podAttach(env, ctx, ...pod(env, p)) } },
  { path: `${podPath}/exec`, resource: 'pods', methods: { GET: (env, ctx, p) => podExec(env, ctx, ...pod(env, p)), POST: (env, ctx, p) => podExec(env, ctx, ...pod(env, p)) } },
  { path: `${podPath}/portforward`, resource: 'pods', methods: { GET: (env, ctx, p) => podPortForward(env, ctx, ...pod(env, p)), POST: (env, ctx, p) => podPortForward(env, ctx, ...pod(env, p)) } },
  { path: `${podPath}/restarts`, resource: 'pods', methods: { GET: (env, ctx, p) => podRestarts(env, ctx, ...pod(env, p)) } },
  // Every namespace, and cluster-scoped resources.
  { path: 'api/v1/{resource}', methods: collection(topTarget) },
  { path: 'api/v1/{resource}/{name}', when: isClusterScoped, methods: item(topTarget) },
  { path: 'api/v1/namespaces/{name}/status', resource: 'namespaces', methods: { GET: (env, ctx, p) => getOne(env, ctx, topTarget(env, { ...p, resource: 'namespaces' })) } },
];

/** A route and the parameters its path took, or undefined. */
export function matchRoute(env: ServerEnv, segs: readonly string[]): { route: Route; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    const pat = route.path.split('/');
    if (pat.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      const p = pat[i] as string;
      const s = segs[i] as string;
      if (p.startsWith('{')) params[p.slice(1, -1)] = s;
      else ok = p === s;
    }
    if (ok && (!route.when || route.when(env, params))) return { route, params };
  }
  return undefined;
}

/** Whether a path is served without the token. */
export function isOpenPath(path: string): boolean {
  return path === '/livez' || path === '/readyz' || path === '/healthz' || path === '/version';
}

/** Serves a request by the table: 404 for no route, 405 for a method the route lacks. */
export async function dispatch(env: ServerEnv, ctx: Ctx, segs: readonly string[]): Promise<void> {
  const m = matchRoute(env, segs);
  if (!m) {
    ctx.req.resume();
    throw new HttpError(pathNotFound());
  }
  // Names that cannot exist are a 404 whatever the method (before a 405), and so are
  // resources the server does not serve (`PUT /api/v1/nope` is no route, as on the API server).
  const p = m.params;
  if (p['namespace'] !== undefined) namespaceOf(p['namespace']);
  const r = env.registry.resource(p['resource'] ?? m.route.resource ?? '');
  if (p['resource'] !== undefined && !r) {
    ctx.req.resume();
    throw new HttpError(pathNotFound());
  }
  if (r && p['name'] !== undefined) named(r, p['name']);
  const h = m.route.methods[ctx.method as Method];
  if (!h) {
    ctx.req.resume();
    throw new HttpError(methodNotAllowed(), { Allow: Object.keys(m.route.methods).join(', ') });
  }
  ctx.params = m.params;
  await h(env, ctx, m.params);
}
