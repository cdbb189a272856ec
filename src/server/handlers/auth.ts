/**
 * Who the client is and what it may do: `SelfSubjectReview` (`kubectl auth whoami`),
 * `SelfSubjectAccessReview` (`kubectl auth can-i`) and `SelfSubjectRulesReview`
 * (`kubectl auth can-i --list`). podvisor has one credential, the daemon's token, and its
 * holder may do everything (as `system:masters` on a cluster); anonymous requests never get
 * here (401 first).
 */
import { isPlainObject } from '../../api/decode.js';
import { formatTimestamp } from '../../api/time.js';
import { readObjectBody, type Ctx } from '../request.js';
import { sendJson } from '../respond.js';
import type { ServerEnv } from '../server-env.js';
import { badRequest, HttpError } from '../status.js';

/** The user the daemon's token stands for. */
export const TOKEN_USER = { username: 'podvisor-admin', groups: ['system:masters', 'system:authenticated'] };

async function review(env: ServerEnv, ctx: Ctx, apiVersion: string, kind: string): Promise<Record<string, unknown>> {
  const body = (await readObjectBody(ctx, env.maxBody, env.bodyLog)).value;
  if (!isPlainObject(body)) throw new HttpError(badRequest(`the body of the request must be a ${kind}`));
  if (body.kind !== undefined && body.kind !== kind) throw new HttpError(badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${kind})`));
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw new HttpError(badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`));
  }
  return body;
}

/** `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`. */
export async function selfSubjectReview(env: ServerEnv, ctx: Ctx): Promise<void> {
  await review(env, ctx, 'authentication.k8s.io/v1', 'SelfSubjectReview');
  sendJson(ctx.res, 201, {
    kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: formatTimestamp(env.now()) },
    status: { userInfo: TOKEN_USER },
  });
}

/** `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`: always allowed for the token's user. */
export async function selfSubjectAccessReview(env: ServerEnv, ctx: Ctx): Promise<void> {
  const body = await review(env, ctx, 'authorization.k8s.io/v1', 'SelfSubjectAccessReview');
  const spec = isPlainObject(body.spec) ? body.spec : {};
  if (!isPlainObject(spec.resourceAttributes) && !isPlainObject(spec.nonResourceAttributes)) {
    throw new HttpError({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Invalid', code: 422,
      message: 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.nonResourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified]',
      details: { group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview', causes: [] },
    });
  }
  sendJson(ctx.res, 201, {
    kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: formatTimestamp(env.now()) },
    spec, status: { allowed: true, reason: 'podvisor: the daemon token\'s user may do everything' },
  });
}

/** `POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews`: every verb on everything. */
export async function selfSubjectRulesReview(env: ServerEnv, ctx: Ctx): Promise<void> {
  const body = await review(env, ctx, 'authorization.k8s.io/v1', 'SelfSubjectRulesReview');
  sendJson(ctx.res, 201, {
    kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: formatTimestamp(env.now()) },
    spec: isPlainObject(body.spec) ? body.spec : {},
    status: { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }], incomplete: false },
  });
}
