/**
 * The REST verbs every resource is served with: list (plain, Table, metadata), watch, get,
 * create (POST), replace (PUT), patch (three patch types, and server-side apply, which
 * creates what is missing) and delete (with `DeleteOptions`). What differs between kinds is in
 * their {@link Resource}; the handlers only speak HTTP. Every write stores the managed fields
 * its field manager decides (`apply/writes.ts`), never a client's.
 */
import { isPlainObject } from '../../api/decode.js';
import type { ParsedBody } from '../body.js';
import { MAX_BODY_NESTING, mediaType, parseBody, readBody } from '../body.js';
import { DELETE_OPTIONS_INTEGER_KEYS, dryRunOf, fieldValidationOf, gracePeriodOf, type FieldValidation } from '../options.js';
import type { Json } from '../patch.js';
import { applyPatch, checkPatchedBounds, PATCH_TYPES, type PatchType } from '../patch-request.js';
import { applyConfiguration, decided, lazyDecision, managedFieldsOfWrite, patchFieldOptions, withManagedFields, writeManager, type PatchFieldOptions } from '../apply/writes.js';
import type { ManagedFieldsDecision } from '../apply/write-context.js';
import type { ApiObject, Resource, WriteOptions } from '../registry/types.js';
import { checkObjectBody, predicateOf, queryBool, readObjectBody, type Ctx } from '../request.js';
import { baseHeaders, includeOf, renderList, renderOne, sendJson } from '../respond.js';
import type { ServerEnv } from '../server-env.js';
import { badRequest, HttpError, invalid, methodNotAllowed, notFound, unsupportedMediaType } from '../status.js';
import { table } from '../table.js';
import { startWatch, type WatchSource } from '../watch.js';
import { watchTimeoutMs } from '../watch-limits.js';

/** Where a request points: a resource, the URL's namespace (undefined: all, or cluster-scoped), a name. */
export interface Target {
  resource: Resource;
  namespace: string | undefined;
  name?: string;
}

function mustGet(t: Target): ApiObject {
  const obj = t.resource.get(t.namespace, t.name ?? '');
  if (!obj) throw new HttpError(notFound(t.resource.def.resource, t.name ?? ''));
  return obj;
}

/** GET of a collection: a list as asked, or a watch with `?watch=true`. */
export function listOrWatch(env: ServerEnv, ctx: Ctx, t: Target, watch: boolean): void {
  if (watch) return serveWatch(env, ctx, t);
  const matches = predicateOf(t.resource.def, t.namespace, ctx.query);
  const items = t.resource.list(t.namespace).filter(matches);
  const def = t.resource.def;
  sendJson(ctx.res, 200, renderList(ctx.wanted, ctx.query, def.kind, def.apiVersion, items, def, env.now(), env.resourceVersion()));
}

/** GET of one object (also `…/status`). */
export function getOne(env: ServerEnv, ctx: Ctx, t: Target): void {
  const obj = mustGet(t);
  sendJson(ctx.res, 200, renderOne(ctx.wanted, ctx.query, obj, t.resource.def, env.now(), obj.metadata.resourceVersion));
}

/** Starts a watch of a collection or of one object (`t.name`), within the server's watch limits. */
export function serveWatch(env: ServerEnv, ctx: Ctx, t: Target): void {
  if (queryBool(ctx.query, 'sendInitialEvents')) {
    // WatchList (sendInitialEvents) is answered with 422, on which kubectl 1.35 falls back to list + watch.
    throw new HttpError(invalid('ListOptions.meta.k8s.io', '', [{
      type: 'Forbidden', field: 'sendInitialEvents', detail: 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
    }]));
  }
  const def = t.resource.def;
  const matches = predicateOf(def, t.namespace, ctx.query, t.name);
  const asTable = ctx.wanted.as === 'Table';
  const include = asTable ? includeOf(ctx.query) : 'Metadata';
  const src: WatchSource<ApiObject> = {
    subscribe: (rv, cb) => t.resource.cache.watch(rv, () => t.resource.list(t.namespace), cb),
    current: () => t.resource.list(t.namespace),
    matches,
    key: (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`,
    resourceVersionOf: (o) => o.metadata.resourceVersion,
    render: (o, rv) => (asTable ? table(ctx.wanted.apiVersion, def.columns, [def.row(o, env.now(), include)], rv) : o),
  };
  if (queryBool(ctx.query, 'allowWatchBookmarks') && !asTable) {
    src.bookmark = (rv) => ({ kind: def.kind, apiVersion: def.apiVersion, metadata: { resourceVersion: rv } });
  }
  const timeoutMs = watchTimeoutMs(ctx.query, Math.random);
  const release = env.watches.admit(ctx.req.socket.remoteAddress ?? 'local');
  const onEnd = (info: { slow: boolean; bufferedBytes: number }): void => {
    release();
    if (info.slow) env.log('warn', 'watch closed: the client does not read', { path: ctx.path, bufferedBytes: info.bufferedBytes, userAgent: ctx.req.headers['user-agent'] ?? '' });
  };
  try {
    startWatch(ctx.res, ctx.query.get('resourceVersion') ?? undefined, src, {
      timeoutMs, bookmarkIntervalMs: env.bookmarkMs, startResourceVersion: env.resourceVersion(), maxBufferedBytes: env.maxWatchBuffered, onEnd,
    }, baseHeaders('application/json'));
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * What decoding a body says before the resource sees it: with `fieldValidation=Strict`,
 * duplicate and unknown fields are a 400 `strict decoding error`; with `Warn` they are
 * warnings. A body whose values have the wrong types goes on to the resource, which refuses
 * it with every error at once (422).
 */
function strictCheck(t: Target, body: ParsedBody, obj: Record<string, unknown>, mode: FieldValidation): string[] {
  const d = t.resource.def.decode(obj, body.literals);
  if (d.errors.length > 0) return [];
  const duplicates = body.duplicates.map((x) => `duplicate field ${JSON.stringify(x)}`);
  if (mode === 'Strict') {
    const strict = [...duplicates, ...d.unknown];
    const kind = t.resource.def.kind;
    if (strict.length > 0) throw new HttpError(badRequest(`${kind} in version "${t.resource.def.apiVersion}" cannot be handled as a ${kind}: strict decoding error: ${strict.join(', ')}`));
    return [];
  }
  return mode === 'Warn' ? [...duplicates, ...d.unknown] : [];
}

function writeOptions(ctx: Ctx, body: ParsedBody | undefined): WriteOptions {
  const o: WriteOptions = { dryRun: dryRunOf(ctx.query), fieldValidation: fieldValidationOf(ctx.query) };
  if (body?.literals) o.literals = body.literals;
  return o;
}

function bodyTarget(t: Target, name: string | undefined): Parameters<typeof checkObjectBody>[1] {
  return { kind: t.resource.def.kind, apiVersion: t.resource.def.apiVersion, namespace: t.resource.def.namespaced ? t.namespace : undefined, name };
}

/** POST to a collection. */
export async function create(env: ServerEnv, ctx: Ctx, t: Target): Promise<void> {
  if (!t.resource.create) throw new HttpError(methodNotAllowed(), { Allow: 'GET' });
  const opts = writeOptions(ctx, undefined);
  const body = await readObjectBody(ctx, env.maxBody, env.bodyLog, t.resource.def.integerKeys ? { integerKeys: t.resource.def.integerKeys } : {});
  const manager = writeManager(ctx.query, ctx.req.headers['user-agent'], 'CreateOptions');
  const obj = checkObjectBody(body.value, bodyTarget(t, undefined));
  const extra = strictCheck(t, body, obj, opts.fieldValidation);
  const withLiterals = { ...opts, ...(body.literals ? { literals: body.literals } : {}) };
  createChecked(ctx, t, obj, withLiterals, lazyDecision(() => managedFieldsOfWrite(t.resource.def, undefined, obj, manager, env.now, body.literals)), extra);
}

/** Creates a checked object body with the managed fields decided for it. */
function createChecked(ctx: Ctx, t: Target, obj: Record<string, unknown>, opts: WriteOptions, managed: ManagedFieldsDecision, warnings: string[]): void {
  const create = t.resource.create;
  if (!create) throw new HttpError(methodNotAllowed());
  const w = withManagedFields(managed, () => create.call(t.resource, t.namespace, obj, opts));
  sendJson(ctx.res, 201, w.obj, [...warnings, ...w.warnings]);
}

/** PUT of one object. */
export async function replace(env: ServerEnv, ctx: Ctx, t: Target): Promise<void> {
  const update = t.resource.update;
  if (!update) throw new HttpError(methodNotAllowed(), { Allow: 'GET' });
  const opts = writeOptions(ctx, undefined);
  const body = await readObjectBody(ctx, env.maxBody, env.bodyLog, t.resource.def.integerKeys ? { integerKeys: t.resource.def.integerKeys } : {});
  const manager = writeManager(ctx.query, ctx.req.headers['user-agent'], 'UpdateOptions');
  const cur = mustGet(t);
  const obj = checkObjectBody(body.value, bodyTarget(t, t.name));
  const extra = strictCheck(t, body, obj, opts.fieldValidation);
  const managed = lazyDecision(() => managedFieldsOfWrite(t.resource.def, cur, obj, manager, env.now, body.literals));
  const w = withManagedFields(managed, () => update.call(t.resource, t.namespace, t.name ?? '', obj, { ...opts, ...(body.literals ? { literals: body.literals } : {}) }));
  sendJson(ctx.res, 200, w.obj, [...extra, ...w.warnings]);
}

/** PATCH of one object; a server-side apply of a missing object creates it. */
export async function patch(env: ServerEnv, ctx: Ctx, t: Target): Promise<void> {
  const update = t.resource.update;
  if (!update) throw new HttpError(methodNotAllowed(), { Allow: 'GET' });
  const type = mediaType(ctx.req);
  if (!(PATCH_TYPES as readonly string[]).includes(type)) {
    ctx.req.resume();
    throw new HttpError(unsupportedMediaType(type, PATCH_TYPES));
  }
  const opts = writeOptions(ctx, undefined);
  const body = parseBody(await readBody(ctx.req, env.maxBody), type, { log: env.bodyLog, maxBytes: env.maxBody });
  const apply = type === 'application/apply-patch+yaml';
  const fields = patchFieldOptions(ctx.query, ctx.req.headers['user-agent'], apply);
  const cur = t.resource.get(t.namespace, t.name ?? '');
  if (apply) return serverSideApply(env, ctx, t, body, cur, opts, fields);
  if (!cur) throw new HttpError(notFound(t.resource.def.resource, t.name ?? ''));
  const { next, warnings } = await applyPatch(type as PatchType, cur as unknown as Json, body, opts.fieldValidation, { maxBytes: env.maxBody, maxDepth: MAX_BODY_NESTING });
  checkObjectBody(next, bodyTarget(t, t.name));
  const extra = strictCheck(t, { value: next, duplicates: [], literals: undefined }, next, opts.fieldValidation);
  const managed = lazyDecision(() => managedFieldsOfWrite(t.resource.def, cur, next, fields.manager, env.now));
  const w = withManagedFields(managed, () => update.call(t.resource, t.namespace, t.name ?? '', next, opts));
  sendJson(ctx.res, 200, w.obj, [...warnings, ...extra, ...w.warnings]);
}

/**
 * Server-side apply (`application/apply-patch+yaml`): the configuration is type-checked as any
 * written object is (422 with every error; unknown and duplicate fields by `fieldValidation`),
 * merged into the live object by the field manager (409 on conflicts unless `force`), and the
 * result created or written as an update. An apply that changes nothing writes nothing.
 */
function serverSideApply(env: ServerEnv, ctx: Ctx, t: Target, body: ParsedBody, cur: ApiObject | undefined, opts: WriteOptions, fields: PatchFieldOptions): void {
  const def = t.resource.def;
  if (!isPlainObject(body.value)) throw new HttpError(badRequest('the patch must be a JSON object'));
  const config = checkObjectBody(body.value, bodyTarget(t, t.name));
  const extra = strictCheck(t, body, config, opts.fieldValidation);
  const decoded = def.decode(config, undefined);
  if (decoded.errors.length > 0) throw new HttpError(invalid(def.kind, t.name ?? '', decoded.errors));
  const applied = applyConfiguration(def, cur, config, fields.manager, fields.force, env.now);
  checkPatchedBounds(applied.object, { maxBytes: env.maxBody, maxDepth: MAX_BODY_NESTING });
  const managed = decided(applied.managedFields);
  if (!cur) return createChecked(ctx, t, checkObjectBody(applied.object, bodyTarget(t, t.name)), opts, managed, extra);
  if (!applied.changed) return sendJson(ctx.res, 200, cur, extra);
  const update = t.resource.update;
  if (!update) throw new HttpError(methodNotAllowed());
  const w = withManagedFields(managed, () => update.call(t.resource, t.namespace, t.name ?? '', applied.object, opts));
  sendJson(ctx.res, 200, w.obj, [...extra, ...w.warnings]);
}

/** DELETE of one object, with `DeleteOptions` from the body or the query. */
export async function remove(env: ServerEnv, ctx: Ctx, t: Target): Promise<void> {
  const del = t.resource.delete;
  if (!del) throw new HttpError(methodNotAllowed(), { Allow: 'GET' });
  const parsed = await readObjectBody(ctx, env.maxBody, env.bodyLog, { allowEmpty: true, integerKeys: DELETE_OPTIONS_INTEGER_KEYS });
  const body = parsed.value as Record<string, unknown> | undefined;
  if (body !== undefined && !isPlainObject(body)) throw new HttpError(badRequest('the body of a delete must be DeleteOptions'));
  const dryRun = dryRunOf(ctx.query) || (Array.isArray(body?.dryRun) && body.dryRun.includes('All'));
  const grace = gracePeriodOf(ctx.query, body, parsed.literals);
  const pre = isPlainObject(body?.preconditions) ? body.preconditions : {};
  const preconditions: { uid?: string; resourceVersion?: string } = {};
  if (typeof pre.uid === 'string') preconditions.uid = pre.uid;
  if (typeof pre.resourceVersion === 'string') preconditions.resourceVersion = pre.resourceVersion;
  const obj = del.call(t.resource, t.namespace, t.name ?? '', { dryRun, preconditions, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) });
  sendJson(ctx.res, 200, obj);
}
