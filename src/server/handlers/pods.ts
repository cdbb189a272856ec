/**
 * The pod subresources beyond the generic verbs: `log` (with follow), and podvisor's own
 * `restart`, `recreate` and `restarts` (the restart records).
 */
import { lstat } from 'node:fs/promises';
import { isPlainObject } from '../../api/decode.js';
import { streamLog } from '../log-stream.js';
import { missingLogStatus, parseLogOptions, resolveLogContainer } from '../logs.js';
import { readObjectBody, type Ctx } from '../request.js';
import { baseHeaders, sendJson } from '../respond.js';
import type { ServerEnv } from '../server-env.js';
import { badRequest, HttpError, notFound } from '../status.js';

function mustGetPod(env: ServerEnv, ns: string, name: string): NonNullable<ReturnType<ServerEnv['agent']['getPod']>> {
  const pod = env.agent.getPod(ns, name);
  if (!pod) throw new HttpError(notFound('pods', name));
  return pod;
}

/** `GET pods/{name}/log`: a container instance's log, optionally followed while it runs. */
export async function podLogs(env: ServerEnv, ctx: Ctx, ns: string, name: string): Promise<void> {
  const pod = mustGetPod(env, ns, name);
  const lo = parseLogOptions(ctx.query, name, env.now());
  if ('kind' in lo) throw new HttpError(lo);
  const container = resolveLogContainer(pod, lo.container);
  if (typeof container !== 'string') throw new HttpError(container);
  const backend = env.agent;
  const file = backend.logPath(ns, name, container, lo.previous);
  if (file === undefined) throw new HttpError(missingLogStatus(pod, container, lo.previous));
  try {
    await lstat(file);
  } catch {
    throw new HttpError(missingLogStatus(pod, container, lo.previous));
  }
  ctx.res.writeHead(200, baseHeaders('text/plain'));
  ctx.res.flushHeaders();
  const pods = env.registry.pods.cache;
  await streamLog(ctx.res, file, {
    ...lo,
    follow: lo.follow && !lo.previous,
    running: () => backend.containerRunning(ns, name, container),
    stillCurrent: () => backend.logPath(ns, name, container, false) === file,
    onStateChange: (wake) => {
      try {
        return pods.watch(env.resourceVersion(), () => [], (e) => {
          if (e.object.metadata.namespace === ns && e.object.metadata.name === name) wake();
        });
      } catch {
        return () => {}; // the safety re-check still sees the container stop
      }
    },
    now: env.now,
    recheckMs: env.logRecheckMs,
  });
}

/** `POST pods/{name}/restart` and `pods/{name}/recreate`: podvisor's restart verbs. */
export async function podVerb(env: ServerEnv, ctx: Ctx, ns: string, name: string, verb: 'restart' | 'recreate'): Promise<void> {
  const body = (await readObjectBody(ctx, env.maxBody, env.bodyLog, { allowEmpty: true })).value;
  if (body !== undefined && !isPlainObject(body)) throw new HttpError(badRequest('the body must be a JSON object such as {"container": "c"}'));
  const requestedBy = typeof body?.requestedBy === 'string' ? body.requestedBy : `api (${String(ctx.req.headers['user-agent'] ?? 'unknown client').slice(0, 100)})`;
  if (verb === 'recreate') {
    sendJson(ctx.res, 200, env.agent.recreatePod(ns, name, { requestedBy }));
    return;
  }
  const c = typeof body?.container === 'string' && body.container !== '' ? body.container : ctx.query.get('container') || undefined;
  if (body?.container !== undefined && typeof body.container !== 'string') throw new HttpError(badRequest('container must be a string'));
  const o: { container?: string; requestedBy?: string } = { requestedBy };
  if (c !== undefined) {
    // A name the pod does not have is a bad request, as for logs and exec (not a refusal of
    // the pod's state, which is 409).
    const pod = env.agent.getPod(ns, name);
    const known = pod ? resolveLogContainer(pod, c) : c;
    if (typeof known !== 'string') throw new HttpError(known);
    o.container = c;
  }
  sendJson(ctx.res, 200, env.agent.restartPod(ns, name, o));
}

/** `GET pods/{name}/restarts`: podvisor's restart records of the pod, oldest first. */
export function podRestarts(env: ServerEnv, ctx: Ctx, ns: string, name: string): void {
  sendJson(ctx.res, 200, { kind: 'RestartRecordList', apiVersion: 'podvisor.io/v1alpha1', items: env.agent.restartHistory(ns, name) });
}
