/**
 * `metrics.k8s.io/v1beta1` (what `kubectl top` reads) and the core/v1 Node it needs: pod and
 * node metrics computed by the agent on request, rendered as metrics-server renders them, with
 * label (and `metadata.name`/`metadata.namespace` field) selectors on lists. Nothing here is
 * stored: there is no watch (405), and a list's resourceVersion is the store's current one.
 */
import { isDNS1123Subdomain } from '../../api/names.js';
import type { PodUsage } from '../../agent/node-api.js';
import { METRICS_API_VERSION, NODE_METRICS_PRINTER, nodeMetricsObject, POD_METRICS_PRINTER, podMetricsObject, type NodeMetrics, type PodMetrics } from '../kinds/metrics.js';
import { NODE_PRINTER, nodeLabels, nodeObject, type Node } from '../kinds/nodes.js';
import { predicateOf, queryBool, type Ctx, type Selectable } from '../request.js';
import { renderList, renderOne, sendJson } from '../respond.js';
import type { ServerEnv } from '../server-env.js';
import { HttpError, methodNotAllowed, notFound } from '../status.js';

/** Metrics and the Node have no fields to select on besides `metadata.name` and `metadata.namespace`. */
const NO_FIELDS: Selectable<unknown> = { fields: new Set(), field: () => '' };

/** Lists are served, watches are not (metrics are not stored, so they have no changes to follow). */
function refuseWatch(ctx: Ctx): void {
  if (queryBool(ctx.query, 'watch')) throw new HttpError(methodNotAllowed());
}

/** A name that cannot exist is simply not found. */
function checkName(resource: string, name: string): void {
  if (isDNS1123Subdomain(name).length > 0) throw new HttpError(notFound(resource, name));
}

/** The metrics objects of the pods that have usage (of `namespace`), with their pods' labels. */
async function podMetrics(env: ServerEnv, namespace: string | undefined): Promise<PodMetrics[]> {
  const usage: PodUsage[] = await env.agent.podMetrics(namespace);
  const labels = new Map(env.agent.listPods(namespace).map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`, p.metadata.labels ?? {}]));
  const now = env.now();
  return usage
    .filter((u) => labels.has(`${u.namespace}/${u.name}`)) // deleted since
    .map((u) => podMetricsObject(u, labels.get(`${u.namespace}/${u.name}`), now))
    .sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
}

/** `GET /apis/metrics.k8s.io/v1beta1[/namespaces/{namespace}]/pods`: `PodMetricsList`. */
export async function listPodMetrics(env: ServerEnv, ctx: Ctx, namespace: string | undefined): Promise<void> {
  refuseWatch(ctx);
  const matches = predicateOf(NO_FIELDS, namespace, ctx.query);
  const items = (await podMetrics(env, namespace)).filter(matches);
  sendJson(ctx.res, 200, renderList(ctx.wanted, ctx.query, 'PodMetrics', METRICS_API_VERSION, items, POD_METRICS_PRINTER, env.now(), env.resourceVersion()));
}

/** `GET /apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}`: one `PodMetrics`, or 404 as metrics-server says it. */
export async function getPodMetrics(env: ServerEnv, ctx: Ctx, namespace: string, name: string): Promise<void> {
  const missing = (): HttpError => new HttpError(notFound('podmetrics.metrics.k8s.io', `${namespace}/${name}`));
  if (isDNS1123Subdomain(name).length > 0 || !env.agent.getPod(namespace, name)) throw missing();
  const m = (await podMetrics(env, namespace)).find((x) => x.metadata.name === name);
  if (!m) throw missing();
  sendJson(ctx.res, 200, renderOne(ctx.wanted, ctx.query, m, POD_METRICS_PRINTER, env.now()));
}

/** The node's metrics object, when the agent has its usage. */
async function nodeMetrics(env: ServerEnv): Promise<NodeMetrics | undefined> {
  const u = await env.agent.nodeMetrics();
  return u ? nodeMetricsObject(u, nodeLabels(u.name), env.now()) : undefined;
}

/** `GET /apis/metrics.k8s.io/v1beta1/nodes`: `NodeMetricsList` (the one node, when it has usage). */
export async function listNodeMetrics(env: ServerEnv, ctx: Ctx): Promise<void> {
  refuseWatch(ctx);
  const matches = predicateOf(NO_FIELDS, undefined, ctx.query);
  const m = await nodeMetrics(env);
  const items = m && matches(m) ? [m] : [];
  sendJson(ctx.res, 200, renderList(ctx.wanted, ctx.query, 'NodeMetrics', METRICS_API_VERSION, items, NODE_METRICS_PRINTER, env.now(), env.resourceVersion()));
}

/** `GET /apis/metrics.k8s.io/v1beta1/nodes/{name}`. */
export async function getNodeMetrics(env: ServerEnv, ctx: Ctx, name: string): Promise<void> {
  const missing = (): HttpError => new HttpError(notFound('nodemetrics.metrics.k8s.io', name));
  if (name !== env.agent.nodeInfo().name) throw missing();
  const m = await nodeMetrics(env);
  if (!m) throw missing();
  sendJson(ctx.res, 200, renderOne(ctx.wanted, ctx.query, m, NODE_METRICS_PRINTER, env.now()));
}

function theNode(env: ServerEnv): Node {
  return nodeObject(env.agent.nodeInfo(), env.now(), env.gitVersion);
}

/** `GET /api/v1/nodes`: `NodeList` (or a Table) of the one node. */
export function listNodes(env: ServerEnv, ctx: Ctx): void {
  refuseWatch(ctx);
  const matches = predicateOf(NO_FIELDS, undefined, ctx.query);
  const node = theNode(env);
  const items = matches(node) ? [node] : [];
  sendJson(ctx.res, 200, renderList(ctx.wanted, ctx.query, 'Node', 'v1', items, NODE_PRINTER, env.now(), env.resourceVersion()));
}

/** `GET /api/v1/nodes/{name}`. */
export function getNode(env: ServerEnv, ctx: Ctx, name: string): void {
  checkName('nodes', name);
  const node = theNode(env);
  if (node.metadata.name !== name) throw new HttpError(notFound('nodes', name));
  sendJson(ctx.res, 200, renderOne(ctx.wanted, ctx.query, node, NODE_PRINTER, env.now()));
}
