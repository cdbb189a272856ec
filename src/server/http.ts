/**
 * podvisor's Kubernetes-compatible HTTP API: the subset of the core/v1 API (discovery, pods with
 * watch, logs and Tables, events, namespaces) that the real `kubectl` needs, plus podvisor's
 * `pods/{name}/restart` and `pods/{name}/recreate` verbs. Plain `node:http`; all pod state lives
 * in the agent, behind its {@link NodeApi}; the agent's refusals become `Status` responses in
 * `status.ts`. What kubectl sends is checked by the e2e tests with real kubectl.
 */
import { timingSafeEqual } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { decodePod, isPlainObject, POD_INTEGER_KEYS } from '../api/decode.js';
import type { Status } from '../api/errors.js';
import { isDNS1123Label, isDNS1123Subdomain } from '../api/names.js';
import type { Pod } from '../api/types.js';
import { checkDecodedPod } from '../api/load.js';
import type { NodeApi } from '../agent/node-api.js';
import type { EventObject } from '../api/records.js';
import {
  API_GROUP_LIST,
  API_RESOURCE_LIST,
  API_VERSIONS,
  DEFAULT_GIT_VERSION,
  OPENAPI_V3_API_V1,
  OPENAPI_V3_ROOT,
  versionInfo,
} from './discovery.js';
import { checkObjectBodyType, DEFAULT_MAX_BODY_BYTES, MAX_BODY_NESTING, mediaType, parseBody, readBody, type ParsedBody } from './body.js';
import { DEFAULT_SERVER_TIMEOUTS, listenOn, type ApiListener, type ListenTarget, type ServerTimeouts } from './listen.js';
import { streamLog } from './log-stream.js';
import { missingLogStatus, parseLogOptions, resolveLogContainer } from './logs.js';
import { DELETE_OPTIONS_INTEGER_KEYS, dryRunOf, fieldValidationOf, gracePeriodOf, type FieldValidation } from './options.js';
import type { Json } from './patch.js';
import { applyPatch, PATCH_TYPES, type PatchType } from './patch-request.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError, type FieldRequirement, type LabelSelector } from './selectors.js';
import {
  badRequest,
  failure,
  HttpError,
  invalid,
  methodNotAllowed,
  notFound,
  pathNotFound,
  statusFromError,
  unauthorized,
  unsupportedMediaType,
} from './status.js';
import {
  EVENT_COLUMNS,
  eventRow,
  NAMESPACE_COLUMNS,
  namespaceRow,
  POD_COLUMNS,
  podNodeName,
  podRow,
  table,
  type IncludeObject,
  type TableRow,
} from './table.js';
import { startWatch, type WatchSource } from './watch.js';
import { warningHeaders } from './warnings.js';
import { DEFAULT_WATCH_LIMITS, MAX_WATCH_BUFFERED_BYTES, WatchRegistry, watchTimeoutMs, type WatchLimits } from './watch-limits.js';

export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export type { ApiListener, ListenTarget, ServerTimeouts } from './listen.js';

/** Log levels the server uses. */
export type ApiLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logger: constant message, fields. */
export type ApiLogger = (level: ApiLogLevel, msg: string, fields: Record<string, unknown>) => void;

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /** The agent the API translates to. */
  backend: NodeApi;
  /** When set, every request except `/livez` and `/readyz` needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest accepted request body in bytes (default 3 MiB, the API server's limit); larger gives 413. */
  maxBodyBytes?: number;
  /** Receives one `http request` line per request (method, path, status, durationMs) and internal errors. */
  logger?: ApiLogger;
  /** `gitVersion` reported by `/version` (default `v1.36.0-podvisor`). */
  version?: string;
  /** Clock (epoch ms) for ages in Tables and timestamps of followed logs; default `Date.now`. */
  now?: () => number;
  /** Period of watch BOOKMARK events when the client allows them, seconds (default 60; 0 disables). */
  bookmarkIntervalSeconds?: number;
  /**
   * Safety re-check period of `logs --follow`, ms (default 1000). A follow is woken by events
   * (the log's directory, the pod's changes); this catches those a file system does not deliver.
   */
  logRecheckMs?: number;
  /** Prometheus exposition for `GET /metrics` (same authentication as the API); 404 when absent. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Bounds on open watches (default {@link DEFAULT_WATCH_LIMITS}); 429 beyond. */
  watchLimits?: WatchLimits;
  /** Output a watch may have queued for a client that does not read before it is closed (default 2 MiB). */
  maxWatchBufferedBytes?: number;
  /** Connection timeouts of {@link ApiServer.listen} (default kube-apiserver's, see `listen.ts`). */
  timeouts?: Partial<ServerTimeouts>;
}

/** The API server: a request handler and a way to serve it on TCP or a Unix socket. */
export interface ApiServer {
  /** The request handler, usable with any `node:http` or `node:https` server. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Serves on `host:port` (HTTP, or HTTPS with `tls`) or on a Unix socket created with mode 0600. */
  listen(target: ListenTarget): Promise<ApiListener>;
}

const POD_FIELDS: ReadonlySet<string> = new Set([
  'metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
  'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName',
]);

const EVENT_FIELDS: ReadonlySet<string> = new Set([
  'metadata.name', 'metadata.namespace', 'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name',
  'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath',
  'reason', 'reportingComponent', 'source', 'type',
]);

/** The representation a client asked for in `Accept`. */
interface Wanted {
  as: 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | undefined;
  /** `meta.k8s.io/v1` or `meta.k8s.io/v1beta1` for Table/PartialObjectMetadata. */
  apiVersion: string;
}

/** Picks the first media range of `Accept` the server can produce; plain JSON otherwise. */
function negotiate(accept: string | undefined): Wanted {
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue;
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    if (p['as'] === undefined) return { as: undefined, apiVersion: 'v1' };
    const g = p['g'] ?? 'meta.k8s.io';
    const v = p['v'] ?? 'v1';
    if (g !== 'meta.k8s.io' || (v !== 'v1' && v !== 'v1beta1')) continue;
    if (p['as'] === 'Table' || p['as'] === 'PartialObjectMetadata' || p['as'] === 'PartialObjectMetadataList') {
      return { as: p['as'], apiVersion: `meta.k8s.io/${v}` };
    }
  }
  return { as: undefined, apiVersion: 'v1' };
}

/** A request as routed. */
interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  wanted: Wanted;
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function uuidFromName(name: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < name.length; i++) {
    h1 = Math.imul(h1 ^ name.charCodeAt(i), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ name.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  const hex = (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).repeat(2);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function podGetter(pod: Pod): (f: string) => string {
  return (f) => {
    switch (f) {
      case 'metadata.name': return pod.metadata.name ?? '';
      case 'metadata.namespace': return pod.metadata.namespace ?? '';
      case 'spec.nodeName': return podNodeName(pod);
      case 'spec.restartPolicy': return pod.spec.restartPolicy ?? '';
      case 'spec.schedulerName': return 'default-scheduler';
      case 'spec.serviceAccountName': return '';
      case 'spec.hostNetwork': return 'false';
      case 'status.phase': return pod.status?.phase ?? '';
      case 'status.podIP': return pod.status?.podIP ?? '';
      default: return '';
    }
  };
}

function eventGetter(e: EventObject): (f: string) => string {
  return (f) => {
    const io = e.involvedObject as Record<string, unknown>;
    if (f.startsWith('involvedObject.')) {
      const v = io[f.slice('involvedObject.'.length)];
      return typeof v === 'string' ? v : '';
    }
    if (f === 'metadata.name') return e.metadata.name;
    if (f === 'metadata.namespace') return e.metadata.namespace;
    if (f === 'source') {
      const s = e['source'] as { component?: string } | undefined;
      return s?.component ?? '';
    }
    const v = e[f];
    return typeof v === 'string' ? v : '';
  };
}

/**
 * Creates the API server over `opts.backend`. The handler never throws: every failure becomes
 * a Kubernetes `Status` response.
 */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const backend = opts.backend;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log: ApiLogger = opts.logger ?? (() => {});
  const now = opts.now ?? (() => Date.now());
  const gitVersion = opts.version ?? DEFAULT_GIT_VERSION;
  const bookmarkMs = (opts.bookmarkIntervalSeconds ?? 60) * 1000;
  const startedAt = new Date(now()).toISOString().replace(/\.\d+Z$/, 'Z');
  const tokenBuf = opts.token !== undefined ? Buffer.from(opts.token) : undefined;

  // ------------------------------------------------------------------ responses

  const baseHeaders = (contentType: string): Record<string, string> => ({
    'Content-Type': contentType,
    'Cache-Control': 'no-cache, private',
  });

  const send = (res: ServerResponse, code: number, body: unknown, warnings: readonly string[] = []): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const data = Buffer.from(JSON.stringify(body));
    const h: Record<string, string | string[]> = { ...baseHeaders('application/json'), 'Content-Length': String(data.length) };
    if (warnings.length > 0) h['Warning'] = warningHeaders(warnings);
    res.writeHead(code, h);
    res.end(data);
  };

  const sendStatus = (res: ServerResponse, s: Status, extra: Record<string, string> = {}): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const data = Buffer.from(JSON.stringify(s));
    res.writeHead(s.code, { ...baseHeaders('application/json'), 'Content-Length': String(data.length), ...extra });
    res.end(data);
  };

  const sendText = (res: ServerResponse, code: number, text: string): void => {
    const data = Buffer.from(text);
    res.writeHead(code, { ...baseHeaders('text/plain; charset=utf-8'), 'Content-Length': String(data.length) });
    res.end(data);
  };

  // ------------------------------------------------------------------ request parsing

  const bodyLog = (msg: string, fields: Record<string, unknown>): void => log('warn', msg, fields);

  /** Reads and parses a JSON or YAML object body (`integerKeys`: see `parseBody`); `allowEmpty` gives an undefined value for no body. */
  const readObjectBody = async (ctx: Ctx, opts: { allowEmpty?: boolean; integerKeys?: ReadonlySet<string> } = {}): Promise<ParsedBody> => {
    const type = checkObjectBodyType(ctx.req);
    return parseBody(await readBody(ctx.req, maxBody), type, { ...opts, log: bodyLog, maxBytes: maxBody });
  };

  /** Reads a Pod body (POST, PUT), its number literals checked against the Pod's integer fields. */
  const readPodBody = (ctx: Ctx): Promise<ParsedBody> => readObjectBody(ctx, { integerKeys: POD_INTEGER_KEYS });

  /**
   * What the API server's decoding of a Pod body refuses before anything else sees it: a
   * number written as a non-integer (`1e-400`, `2.0`) for an integer field (a 422 type error,
   * as podvisor reports every type error; `JSON.parse` made an integer of it, so the backend's
   * own decoding cannot see it) and, with `fieldValidation=Strict`, duplicate and unknown
   * fields (400 `strict decoding error`). Returns the warnings `Warn` adds for duplicates.
   */
  const checkPodDecoding = (body: ParsedBody, obj: Record<string, unknown>, mode: FieldValidation): string[] => {
    if (body.literals !== undefined) {
      const decoded = decodePod(obj, { literals: body.literals });
      if (decoded.errors.some((e) => e.type === 'TypeInvalid')) {
        const { pod, errors } = checkDecodedPod(decoded);
        throw new HttpError(invalid('Pod', pod.metadata.name || pod.metadata.generateName || '', errors));
      }
    }
    const duplicates = body.duplicates.map((d) => `duplicate field ${JSON.stringify(d)}`);
    if (mode === 'Strict') {
      const unknown = decodePod(obj).warnings.filter((w) => w.startsWith('unknown field "'));
      const strict = [...duplicates, ...unknown];
      if (strict.length > 0) {
        throw new HttpError(badRequest(`Pod in version "v1" cannot be handled as a Pod: strict decoding error: ${strict.join(', ')}`));
      }
    }
    return mode === 'Warn' ? duplicates : [];
  };
  /** `fieldValidation=Strict` refuses unknown fields (400); the other modes let the backend drop them. */
  const checkStrictUnknown = (obj: unknown, mode: FieldValidation): void => {
    if (mode !== 'Strict') return;
    const unknown = decodePod(obj).warnings.filter((w) => w.startsWith('unknown field "'));
    if (unknown.length > 0) {
      throw new HttpError(badRequest(`Pod in version "v1" cannot be handled as a Pod: strict decoding error: ${unknown.join(', ')}`));
    }
  };
  const filterWarnings = (warnings: readonly string[], mode: FieldValidation): string[] =>
    mode === 'Ignore' ? warnings.filter((w) => !w.startsWith('unknown field "')) : [...warnings];

  /** Checks `apiVersion`/`kind`/`metadata.namespace`/`metadata.name` of a body against the URL. */
  const checkPodBody = (body: unknown, ns: string, name: string | undefined): Record<string, unknown> => {
    if (!isPlainObject(body)) throw new HttpError(badRequest('the body of the request must be a JSON object (a Pod)'));
    if (body.apiVersion !== undefined && body.apiVersion !== 'v1') {
      throw new HttpError(badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (v1)`));
    }
    if (body.kind !== undefined && body.kind !== 'Pod') {
      throw new HttpError(badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (Pod)`));
    }
    if (body.metadata === undefined) body.metadata = {};
    if (isPlainObject(body.metadata)) {
      const m = body.metadata;
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== ns) {
        throw new HttpError(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
      }
      m.namespace = ns;
      if (name !== undefined) {
        if (m.name === undefined || m.name === '') m.name = name;
        else if (m.name !== name) throw new HttpError(badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${name})`));
      }
    }
    return body;
  };

  const labelSelectorOf = (q: URLSearchParams): LabelSelector => {
    try {
      return parseLabelSelector(q.get('labelSelector') ?? '');
    } catch (err) {
      if (err instanceof SelectorError) throw new HttpError(badRequest(err.message));
      throw err;
    }
  };
  const fieldSelectorOf = (q: URLSearchParams, fields: ReadonlySet<string>): FieldRequirement[] => {
    try {
      return parseFieldSelector(q.get('fieldSelector') ?? '', fields);
    } catch (err) {
      if (err instanceof SelectorError) throw new HttpError(badRequest(err.message));
      throw err;
    }
  };

  const includeOf = (q: URLSearchParams): IncludeObject => {
    const v = q.get('includeObject') ?? '';
    if (v === '' || v === 'Metadata') return 'Metadata';
    if (v === 'None' || v === 'Object') return v;
    throw new HttpError(badRequest(`includeObject: Unsupported value: ${JSON.stringify(v)}: supported values: "Metadata", "None", "Object"`));
  };

  // ------------------------------------------------------------------ rendering

  const podPredicate = (ns: string | undefined, q: URLSearchParams, name?: string): ((p: Pod) => boolean) => {
    const labels = labelSelectorOf(q);
    const fields = fieldSelectorOf(q, POD_FIELDS);
    if (name !== undefined) fields.push({ field: 'metadata.name', op: '=', value: name });
    return (p) => (ns === undefined || p.metadata.namespace === ns) && matchLabels(labels, p.metadata.labels) && matchFields(fields, podGetter(p));
  };

  const eventPredicate = (ns: string | undefined, q: URLSearchParams, name?: string): ((e: EventObject) => boolean) => {
    const labels = labelSelectorOf(q);
    const fields = fieldSelectorOf(q, EVENT_FIELDS);
    if (name !== undefined) fields.push({ field: 'metadata.name', op: '=', value: name });
    return (e) => (ns === undefined || e.metadata.namespace === ns) && matchLabels(labels, (e.metadata as { labels?: Record<string, string> }).labels) && matchFields(fields, eventGetter(e));
  };

  const partial = (apiVersion: string, obj: { metadata: unknown }): unknown => ({ kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata });

  /** Renders one object as asked (`Accept`): itself, a one-row Table, or PartialObjectMetadata. */
  const renderOne = <T extends { metadata: unknown }>(ctx: Ctx, obj: T, columns: Parameters<typeof table>[1], toRow: (o: T, n: number, inc: IncludeObject) => TableRow, rv?: string): unknown => {
    if (ctx.wanted.as === 'Table') return table(ctx.wanted.apiVersion, columns, [toRow(obj, now(), includeOf(ctx.query))], rv);
    if (ctx.wanted.as === 'PartialObjectMetadata') return partial(ctx.wanted.apiVersion, obj);
    return obj;
  };

  const renderList = <T extends { metadata: unknown }>(ctx: Ctx, kind: string, items: T[], columns: Parameters<typeof table>[1], toRow: (o: T, n: number, inc: IncludeObject) => TableRow): unknown => {
    const rv = backend.resourceVersion();
    if (ctx.wanted.as === 'Table') {
      const inc = includeOf(ctx.query);
      const n = now();
      return table(ctx.wanted.apiVersion, columns, items.map((o) => toRow(o, n, inc)), rv);
    }
    if (ctx.wanted.as === 'PartialObjectMetadataList' || ctx.wanted.as === 'PartialObjectMetadata') {
      return { kind: 'PartialObjectMetadataList', apiVersion: ctx.wanted.apiVersion, metadata: { resourceVersion: rv }, items: items.map((o) => partial(ctx.wanted.apiVersion, o)) };
    }
    return { kind, apiVersion: 'v1', metadata: { resourceVersion: rv }, items };
  };

  const sortPods = (pods: Pod[]): Pod[] =>
    pods.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));

  // ------------------------------------------------------------------ watches

  const watches = new WatchRegistry(opts.watchLimits ?? DEFAULT_WATCH_LIMITS);
  const maxWatchBuffered = opts.maxWatchBufferedBytes ?? MAX_WATCH_BUFFERED_BYTES;

  /** Starts a watch within the limits on open watches (429 beyond) and on what it may buffer. */
  const serveWatch = <T>(ctx: Ctx, src: WatchSource<T>): void => {
    const timeoutMs = watchTimeoutMs(ctx.query, Math.random);
    const release = watches.admit(ctx.req.socket.remoteAddress ?? 'local');
    const onEnd = (info: { slow: boolean; bufferedBytes: number }): void => {
      release();
      if (info.slow) log('warn', 'watch closed: the client does not read', { path: ctx.path, bufferedBytes: info.bufferedBytes, userAgent: ctx.req.headers['user-agent'] ?? '' });
    };
    try {
      startWatch(ctx.res, ctx.query.get('resourceVersion') ?? undefined, src, {
        timeoutMs, bookmarkIntervalMs: bookmarkMs, startResourceVersion: backend.resourceVersion(), maxBufferedBytes: maxWatchBuffered, onEnd,
      }, baseHeaders('application/json'));
    } catch (err) {
      release();
      throw err;
    }
  };

  const checkWatchList = (q: URLSearchParams): void => {
    if (isTrue(q.get('sendInitialEvents'))) {
      // WatchList (sendInitialEvents) is answered with 422, on which kubectl 1.35 falls back to list + watch.
      throw new HttpError(invalid('ListOptions.meta.k8s.io', '', [{
        type: 'Forbidden', field: 'sendInitialEvents', detail: 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
      }]));
    }
  };

  const watchPods = (ctx: Ctx, ns: string | undefined, name?: string): void => {
    checkWatchList(ctx.query);
    const matches = podPredicate(ns, ctx.query, name);
    const include = includeOf(ctx.query);
    const asTable = ctx.wanted.as === 'Table';
    const src: WatchSource<Pod> = {
      subscribe: (rv, cb) => backend.watchPods(rv, cb),
      current: () => backend.listPods(ns),
      matches,
      key: (p) => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`,
      resourceVersionOf: (p) => p.metadata.resourceVersion,
      render: (p, rv) => (asTable ? table(ctx.wanted.apiVersion, POD_COLUMNS, [podRow(p, now(), include)], rv) : p),
    };
    if (isTrue(ctx.query.get('allowWatchBookmarks')) && !asTable) {
      src.bookmark = (rv) => ({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: rv }, spec: { containers: null }, status: {} });
    }
    serveWatch(ctx, src);
  };

  const watchEvents = (ctx: Ctx, ns: string | undefined, name?: string): void => {
    checkWatchList(ctx.query);
    const matches = eventPredicate(ns, ctx.query, name);
    const include = includeOf(ctx.query);
    const asTable = ctx.wanted.as === 'Table';
    const src: WatchSource<EventObject> = {
      subscribe: (rv, cb) => backend.watchEvents(rv, cb),
      current: () => backend.listEvents(ns),
      matches,
      key: (e) => `${e.metadata.namespace}/${e.metadata.name}`,
      resourceVersionOf: (e) => e.metadata.resourceVersion,
      render: (e, rv) => (asTable ? table(ctx.wanted.apiVersion, EVENT_COLUMNS, [eventRow(e, now(), include)], rv) : e),
    };
    if (isTrue(ctx.query.get('allowWatchBookmarks')) && !asTable) {
      src.bookmark = (rv) => ({ kind: 'Event', apiVersion: 'v1', metadata: { resourceVersion: rv }, involvedObject: {} });
    }
    serveWatch(ctx, src);
  };

  // ------------------------------------------------------------------ handlers

  const namespaces = (): { metadata: { name: string; uid: string; resourceVersion: string; creationTimestamp: string; labels: Record<string, string> }; kind: string; apiVersion: string; spec: unknown; status: { phase: string } }[] => {
    const created = new Map<string, string>([['default', startedAt]]);
    for (const p of backend.listPods()) {
      const ns = p.metadata.namespace ?? 'default';
      const ts = p.metadata.creationTimestamp ?? startedAt;
      const cur = created.get(ns);
      if (cur === undefined || Date.parse(ts) < Date.parse(cur)) created.set(ns, ts);
    }
    return [...created.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, ts]) => ({
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name, uid: uuidFromName(`namespace/${name}`), resourceVersion: '1', creationTimestamp: ts, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    }));
  };

  const mustGetPod = (ns: string, name: string): Pod => {
    const pod = backend.getPod(ns, name);
    if (!pod) throw new HttpError(notFound('pods', name));
    return pod;
  };

  /** Validates an updated pod without the backend (dry-run updates): decoding and metadata rules. */
  const dryRunUpdate = (cur: Pod, next: Record<string, unknown>, name: string): Pod => {
    const { errors } = checkDecodedPod(decodePod(next), { create: false, allowManaged: true });
    if (errors.length > 0) throw new HttpError(invalid('Pod', name, errors));
    return { ...(next as unknown as Pod), metadata: { ...(next as unknown as Pod).metadata, resourceVersion: cur.metadata.resourceVersion } };
  };

  /** PUT and PATCH end here: status and server-set metadata come from the stored pod, then the backend decides. */
  const update = (ctx: Ctx, ns: string, name: string, cur: Pod, next: Record<string, unknown>, mode: FieldValidation, dryRun: boolean, extraWarnings: readonly string[]): void => {
    checkPodBody(next, ns, name);
    const meta = next.metadata;
    if (isPlainObject(meta)) {
      for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (meta[f] === undefined && cur.metadata[f] !== undefined) meta[f] = cur.metadata[f];
      }
      delete meta.managedFields;
    }
    if (cur.status !== undefined) next.status = cur.status;
    else delete next.status;
    checkStrictUnknown(next, mode);
    // The backend compares the updated spec with the stored one: a body whose values do not
    // have their types is refused here, as the API server refuses a body it cannot decode.
    const decoded = decodePod(next);
    if (decoded.typeErrors) throw new HttpError(invalid('Pod', name, checkDecodedPod(decoded).errors));
    if (dryRun) {
      send(ctx.res, 200, dryRunUpdate(cur, next, name), extraWarnings);
      return;
    }
    const { pod, warnings } = backend.updatePod(ns, name, next as unknown as Pod);
    send(ctx.res, 200, pod, [...extraWarnings, ...filterWarnings(warnings, mode)]);
  };

  const createPod = (ctx: Ctx, ns: string, body: ParsedBody, name: string | undefined, mode: FieldValidation, dryRun: boolean): void => {
    const obj = checkPodBody(body.value, ns, name);
    const extra = checkPodDecoding(body, obj, mode);
    const { pod, warnings } = backend.createPod(obj, { dryRun });
    send(ctx.res, 201, pod, [...extra, ...filterWarnings(warnings, mode)]);
  };

  const patchPod = async (ctx: Ctx, ns: string, name: string): Promise<void> => {
    const type = mediaType(ctx.req);
    if (!(PATCH_TYPES as readonly string[]).includes(type)) {
      ctx.req.resume();
      throw new HttpError(unsupportedMediaType(type, PATCH_TYPES));
    }
    const dryRun = dryRunOf(ctx.query);
    const mode = fieldValidationOf(ctx.query);
    const body = parseBody(await readBody(ctx.req, maxBody), type, { log: bodyLog, maxBytes: maxBody });
    const cur = backend.getPod(ns, name);
    if (!cur) {
      if (type === 'application/apply-patch+yaml') {
        createPod(ctx, ns, body, name, mode, dryRun);
        return;
      }
      throw new HttpError(notFound('pods', name));
    }
    const { next, warnings } = await applyPatch(type as PatchType, cur as unknown as Json, body, mode, { maxBytes: maxBody, maxDepth: MAX_BODY_NESTING });
    update(ctx, ns, name, cur, next, mode, dryRun, warnings);
  };

  const podLogs = async (ctx: Ctx, ns: string, name: string): Promise<void> => {
    const pod = mustGetPod(ns, name);
    const lo = parseLogOptions(ctx.query, name, now());
    if ('kind' in lo) throw new HttpError(lo);
    const container = resolveLogContainer(pod, lo.container);
    if (typeof container !== 'string') throw new HttpError(container);
    const file = backend.logPath(ns, name, container, lo.previous);
    if (file === undefined) throw new HttpError(missingLogStatus(pod, container, lo.previous));
    try {
      await lstat(file);
    } catch {
      throw new HttpError(missingLogStatus(pod, container, lo.previous));
    }
    ctx.res.writeHead(200, baseHeaders('text/plain'));
    ctx.res.flushHeaders();
    await streamLog(ctx.res, file, {
      ...lo,
      follow: lo.follow && !lo.previous,
      running: () => backend.containerRunning(ns, name, container),
      stillCurrent: () => backend.logPath(ns, name, container, false) === file,
      onStateChange: (wake) => {
        try {
          return backend.watchPods(backend.resourceVersion(), (e) => {
            if (e.object.metadata.namespace === ns && e.object.metadata.name === name) wake();
          });
        } catch {
          return () => {}; // the safety re-check still sees the container stop
        }
      },
      now,
      recheckMs: opts.logRecheckMs ?? 1000,
    });
  };

  const deletePod = async (ctx: Ctx, ns: string, name: string): Promise<void> => {
    const parsed = await readObjectBody(ctx, { allowEmpty: true, integerKeys: DELETE_OPTIONS_INTEGER_KEYS });
    const body = parsed.value as Record<string, unknown> | undefined;
    if (body !== undefined && !isPlainObject(body)) throw new HttpError(badRequest('the body of a delete must be DeleteOptions'));
    const dryRun = dryRunOf(ctx.query) || (Array.isArray(body?.dryRun) && body.dryRun.includes('All'));
    const grace = gracePeriodOf(ctx.query, body, parsed.literals);
    const cur = mustGetPod(ns, name);
    const pre = isPlainObject(body?.preconditions) ? body.preconditions : {};
    if (typeof pre.uid === 'string' && pre.uid !== cur.metadata.uid) {
      throw new HttpError(failure(409, 'Conflict', `Operation cannot be fulfilled on pods "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`, { name, kind: 'pods' }));
    }
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw new HttpError(failure(409, 'Conflict', `Operation cannot be fulfilled on pods "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`, { name, kind: 'pods' }));
    }
    if (dryRun) {
      send(ctx.res, 200, cur);
      return;
    }
    send(ctx.res, 200, backend.deletePod(ns, name, grace));
  };

  const podVerb = async (ctx: Ctx, ns: string, name: string, verb: 'restart' | 'recreate'): Promise<void> => {
    const body = (await readObjectBody(ctx, { allowEmpty: true })).value;
    if (body !== undefined && !isPlainObject(body)) throw new HttpError(badRequest('the body must be a JSON object such as {"container": "c"}'));
    const requestedBy = typeof body?.requestedBy === 'string' ? body.requestedBy : `api (${String(ctx.req.headers['user-agent'] ?? 'unknown client').slice(0, 100)})`;
    if (verb === 'recreate') {
      send(ctx.res, 200, backend.recreatePod(ns, name, { requestedBy }));
      return;
    }
    const c = typeof body?.container === 'string' && body.container !== '' ? body.container : ctx.query.get('container') || undefined;
    if (body?.container !== undefined && typeof body.container !== 'string') throw new HttpError(badRequest('container must be a string'));
    const o: { container?: string; requestedBy?: string } = { requestedBy };
    if (c !== undefined) o.container = c;
    send(ctx.res, 200, backend.restartPod(ns, name, o));
  };

  // ------------------------------------------------------------------ routing

  const allow = (ctx: Ctx, methods: string[]): void => {
    if (!methods.includes(ctx.method)) {
      ctx.req.resume();
      throw new HttpError(methodNotAllowed(), { Allow: methods.join(', ') });
    }
  };

  const routeV1 = async (ctx: Ctx, rest: string[]): Promise<void> => {
    let watchPath = false;
    if (rest[0] === 'watch') {
      watchPath = true;
      rest = rest.slice(1);
    }
    const watch = watchPath || isTrue(ctx.query.get('watch'));
    const [r0, ns, r2, name, sub, ...more] = rest;
    if (more.length > 0) throw new HttpError(pathNotFound());
    if (r0 === 'pods' && rest.length === 1) {
      allow(ctx, ['GET']);
      if (watch) return watchPods(ctx, undefined);
      const matches = podPredicate(undefined, ctx.query);
      send(ctx.res, 200, renderList(ctx, 'PodList', sortPods(backend.listPods().filter(matches)), POD_COLUMNS, podRow));
      return;
    }
    if (r0 === 'events' && rest.length === 1) {
      allow(ctx, ['GET']);
      if (watch) return watchEvents(ctx, undefined);
      const matches = eventPredicate(undefined, ctx.query);
      send(ctx.res, 200, renderList(ctx, 'EventList', backend.listEvents().filter(matches), EVENT_COLUMNS, eventRow));
      return;
    }
    if (r0 !== 'namespaces') throw new HttpError(pathNotFound());
    if (ns === undefined) {
      allow(ctx, ['GET']);
      if (watch) throw new HttpError(methodNotAllowed());
      send(ctx.res, 200, renderList(ctx, 'NamespaceList', namespaces(), NAMESPACE_COLUMNS, namespaceRow));
      return;
    }
    if (isDNS1123Label(ns).length > 0) throw new HttpError(notFound('namespaces', ns));
    if (r2 === undefined) {
      allow(ctx, ['GET']);
      const n = namespaces().find((x) => x.metadata.name === ns);
      if (!n) throw new HttpError(notFound('namespaces', ns));
      send(ctx.res, 200, renderOne(ctx, n, NAMESPACE_COLUMNS, namespaceRow));
      return;
    }
    if (r2 === 'events') {
      if (name !== undefined && isDNS1123Subdomain(name).length > 0) throw new HttpError(notFound('events', name));
      if (sub !== undefined) throw new HttpError(pathNotFound());
      allow(ctx, ['GET']);
      if (watch) return watchEvents(ctx, ns, name);
      if (name === undefined) {
        const matches = eventPredicate(ns, ctx.query);
        send(ctx.res, 200, renderList(ctx, 'EventList', backend.listEvents(ns).filter(matches), EVENT_COLUMNS, eventRow));
        return;
      }
      const e = backend.listEvents(ns).find((x) => x.metadata.name === name);
      if (!e) throw new HttpError(notFound('events', name));
      send(ctx.res, 200, renderOne(ctx, e, EVENT_COLUMNS, eventRow));
      return;
    }
    if (r2 !== 'pods') throw new HttpError(pathNotFound());
    if (name === undefined) {
      allow(ctx, ['GET', 'POST']);
      if (ctx.method === 'POST') {
        const dryRun = dryRunOf(ctx.query);
        const mode = fieldValidationOf(ctx.query);
        createPod(ctx, ns, await readPodBody(ctx), undefined, mode, dryRun);
        return;
      }
      if (watch) return watchPods(ctx, ns);
      const matches = podPredicate(ns, ctx.query);
      send(ctx.res, 200, renderList(ctx, 'PodList', sortPods(backend.listPods(ns).filter(matches)), POD_COLUMNS, podRow));
      return;
    }
    if (isDNS1123Subdomain(name).length > 0) {
      ctx.req.resume();
      throw new HttpError(notFound('pods', name));
    }
    if (watchPath) {
      if (sub !== undefined) throw new HttpError(pathNotFound());
      allow(ctx, ['GET']);
      return watchPods(ctx, ns, name);
    }
    switch (sub) {
      case undefined:
        allow(ctx, ['GET', 'PUT', 'PATCH', 'DELETE']);
        if (ctx.method === 'GET') {
          const pod = mustGetPod(ns, name);
          send(ctx.res, 200, renderOne(ctx, pod, POD_COLUMNS, podRow, pod.metadata.resourceVersion));
        } else if (ctx.method === 'PUT') {
          const dryRun = dryRunOf(ctx.query);
          const mode = fieldValidationOf(ctx.query);
          const body = await readPodBody(ctx);
          const obj = checkPodBody(body.value, ns, name);
          const extra = checkPodDecoding(body, obj, mode);
          update(ctx, ns, name, mustGetPod(ns, name), obj, mode, dryRun, extra);
        } else if (ctx.method === 'PATCH') {
          await patchPod(ctx, ns, name);
        } else {
          await deletePod(ctx, ns, name);
        }
        return;
      case 'status': {
        allow(ctx, ['GET']);
        const pod = mustGetPod(ns, name);
        send(ctx.res, 200, renderOne(ctx, pod, POD_COLUMNS, podRow, pod.metadata.resourceVersion));
        return;
      }
      case 'log':
        allow(ctx, ['GET']);
        await podLogs(ctx, ns, name);
        return;
      case 'restart':
      case 'recreate':
        allow(ctx, ['POST']);
        await podVerb(ctx, ns, name, sub);
        return;
      case 'restarts':
        // podvisor's restart records of the pod (container, in place, re-create), oldest first.
        allow(ctx, ['GET']);
        send(ctx.res, 200, { kind: 'RestartRecordList', apiVersion: 'podvisor.io/v1alpha1', items: backend.restartHistory(ns, name) });
        return;
      default:
        throw new HttpError(pathNotFound());
    }
  };

  const route = async (ctx: Ctx, segs: string[]): Promise<void> => {
    const p = segs.join('/');
    switch (p) {
      case 'livez':
      case 'readyz':
        allow(ctx, ['GET']);
        sendText(ctx.res, 200, 'ok');
        return;
      case 'version':
        allow(ctx, ['GET']);
        send(ctx.res, 200, versionInfo(gitVersion));
        return;
      case 'metrics': {
        if (!opts.metrics) break;
        allow(ctx, ['GET']);
        const m = await opts.metrics();
        const data = Buffer.from(m.body);
        ctx.res.writeHead(200, { ...baseHeaders(m.contentType), 'Content-Length': String(data.length) });
        ctx.res.end(data);
        return;
      }
      case 'api':
        allow(ctx, ['GET']);
        send(ctx.res, 200, API_VERSIONS);
        return;
      case 'apis':
        allow(ctx, ['GET']);
        send(ctx.res, 200, API_GROUP_LIST);
        return;
      case 'api/v1':
        allow(ctx, ['GET']);
        send(ctx.res, 200, API_RESOURCE_LIST);
        return;
      case 'openapi/v3':
        allow(ctx, ['GET']);
        send(ctx.res, 200, OPENAPI_V3_ROOT);
        return;
      case 'openapi/v3/api/v1':
        allow(ctx, ['GET']);
        send(ctx.res, 200, OPENAPI_V3_API_V1);
        return;
    }
    if (segs[0] === 'api' && segs[1] === 'v1' && segs.length > 2) return routeV1(ctx, segs.slice(2));
    ctx.req.resume();
    throw new HttpError(pathNotFound());
  };

  /** Splits and decodes the path; `..`, `.`, encoded slashes and empty segments are refused before routing. */
  const splitPath = (path: string): string[] => {
    if (!path.startsWith('/')) throw new HttpError(badRequest('invalid request path'));
    let raw = path.slice(1).split('/');
    if (raw.length > 1 && raw[raw.length - 1] === '') raw = raw.slice(0, -1);
    if (raw.length === 1 && raw[0] === '') return [];
    return raw.map((s) => {
      let d: string;
      try {
        d = decodeURIComponent(s);
      } catch {
        throw new HttpError(badRequest('invalid escape in request path'));
      }
      if (d === '') throw new HttpError(pathNotFound());
      if (d === '.' || d === '..' || d.includes('/') || d.includes('\\') || d.includes('\0')) throw new HttpError(badRequest('invalid request path'));
      return d;
    });
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (tokenBuf === undefined) return true;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const got = Buffer.from(m[1] as string);
    return got.length === tokenBuf.length && timingSafeEqual(got, tokenBuf);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi < 0 ? url : url.slice(0, qi);
    res.on('close', () => {
      const status = res.statusCode;
      const fields: Record<string, unknown> = {
        method, path, status, durationMs: Math.round((performance.now() - t0) * 10) / 10,
        userAgent: req.headers['user-agent'] ?? '', completed: res.writableFinished,
      };
      if (qi >= 0) fields['query'] = url.slice(qi + 1);
      log(status >= 500 ? 'error' : 'info', 'http request', fields);
    });
    const ctx: Ctx = { req, res, method, path, query: new URLSearchParams(qi < 0 ? '' : url.slice(qi + 1)), wanted: negotiate(req.headers.accept) };
    const fail = (err: unknown): void => {
      let s: Status;
      let headers: Record<string, string> = {};
      if (err instanceof HttpError) {
        s = err.status;
        headers = err.headers;
      } else {
        s = statusFromError(err);
        if (s.code >= 500) log('error', 'request failed', { method, path, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      req.resume();
      sendStatus(res, s, headers);
    };
    try {
      const open = path === '/livez' || path === '/readyz';
      if (!open && !authorized(req)) {
        req.resume();
        sendStatus(res, unauthorized());
        return;
      }
      route(ctx, splitPath(path)).catch(fail);
    } catch (err) {
      fail(err);
    }
  };

  const timeouts: ServerTimeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...opts.timeouts };
  const listen = (target: ListenTarget): Promise<ApiListener> => listenOn(handler, target, timeouts);

  return { handler, listen };
}
