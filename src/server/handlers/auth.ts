/**
 * Who the client is and what it may do: `SelfSubjectReview` (`kubectl auth whoami`),
 * `SelfSubjectAccessReview` (`kubectl auth can-i`) and `SelfSubjectRulesReview`
 * (`kubectl auth can-i --list`). podvisor has one credential, the daemon's token, and its
 * holder may do everything (as `system:masters` on a cluster); anonymous requests never get
 * here (401 first).
 */
import { isPlainObject } from '../../api/decode.js';
import { decodeObject, OBJECT_META_SCHEMA, schema, type Schema } from '../../api/object-decode.js';
import { formatTimestamp } from '../../api/time.js';
import { readObjectBody, type Ctx } from '../request.js';
import { sendJson } from '../respond.js';
import type { ServerEnv } from '../server-env.js';
import { badRequest, HttpError, invalid } from '../status.js';

/** The user the daemon's token stands for. */
export const TOKEN_USER = { username: 'podvisor-admin', groups: ['system:masters', 'system:authenticated'] };

const { str, bool, arr, map, obj } = schema;
const selector = obj({ rawSelector: str, requirements: arr(obj({ key: str, operator: str, values: arr(str) })) });
const review_ = (fields: Record<string, Schema>): Schema => obj({ apiVersion: str, kind: str, metadata: OBJECT_META_SCHEMA, ...fields });

/**
 * The reviews' types (authentication/v1 and authorization/v1): a field of the wrong JSON type
 * is refused as every object's is (422 with every error at once; the API server's decoder
 * answers 400), not echoed back in a 201.
 */
const REVIEW_SCHEMAS: Readonly<Record<string, Schema>> = {
  SelfSubjectReview: review_({ status: obj({ userInfo: obj({ username: str, uid: str, groups: arr(str), extra: map(arr(str)) }) }) }),
  SelfSubjectAccessReview: review_({
    spec: obj({
      resourceAttributes: obj({ namespace: str, verb: str, group: str, version: str, resource: str, subresource: str, name: str, fieldSelector: selector, labelSelector: selector }),
      nonResourceAttributes: obj({ path: str, verb: str }),
    }),
    status: obj({ allowed: bool, denied: bool, reason: str, evaluationError: str }),
  }),
  SelfSubjectRulesReview: review_({
    spec: obj({ namespace: str }),
    status: obj({
      resourceRules: arr(obj({ verbs: arr(str), apiGroups: arr(str), resources: arr(str), resourceNames: arr(str) })),
      nonResourceRules: arr(obj({ verbs: arr(str), nonResourceURLs: arr(str) })),
      incomplete: bool, evaluationError: str,
    }),
  }),
};

async function review(env: ServerEnv, ctx: Ctx, apiVersion: string, kind: string): Promise<Record<string, unknown>> {
  const body = (await readObjectBody(ctx, env.maxBody, env.bodyLog)).value;
  if (!isPlainObject(body)) throw new HttpError(badRequest(`the body of the request must be a ${kind}`));
  if (body.kind !== undefined && body.kind !== kind) throw new HttpError(badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${kind})`));
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw new HttpError(badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`));
  }
  const shape = REVIEW_SCHEMAS[kind];
  if (shape) {
    const { errors } = decodeObject(body, shape, apiVersion, kind);
    if (errors.length > 0) throw new HttpError(invalid(`${kind}.${apiVersion.slice(0, apiVersion.indexOf('/'))}`, '', errors));
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
