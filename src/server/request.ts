/**
 * A request as the handlers see it ({@link Ctx}), and what every handler reads from it: query
 * booleans as the API server converts them, object bodies checked against the URL, selectors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isPlainObject } from '../api/decode.js';
import { checkObjectBodyType, parseBody, readBody, type ParsedBody } from './body.js';
import type { Wanted } from './respond.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError, type FieldRequirement, type LabelSelector } from './selectors.js';
import { badRequest, HttpError, methodNotAllowed } from './status.js';

/** Log levels the server uses. */
export type ApiLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logger: constant message, fields. */
export type ApiLogger = (level: ApiLogLevel, msg: string, fields: Record<string, unknown>) => void;

/** A request as routed. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  wanted: Wanted;
  /** Path parameters of the matched route (`namespace`, `name`, ...). */
  params: Record<string, string>;
  /**
   * Set when the request asked for a protocol upgrade (`Connection: Upgrade`: WebSocket or
   * SPDY/3.1 streams): the raw connection and the bytes read past the request's head. `res` is
   * still usable for a plain HTTP answer (a refusal) until a handler takes the connection.
   */
  upgrade?: { socket: Duplex; head: Buffer };
}

/**
 * A boolean query parameter as the API server converts it (apimachinery
 * `Convert_Slice_string_To_bool`): absent, `false` or `0` (any case) is false, anything else
 * (`true`, `True` from Python's client, `1`, even an empty value) is true.
 */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  const l = v.toLowerCase();
  return l !== 'false' && l !== '0';
}

/** Refuses a method the route does not serve (405 with `Allow`). */
export function allow(ctx: Ctx, methods: readonly string[]): void {
  if (!methods.includes(ctx.method)) {
    ctx.req.resume();
    throw new HttpError(methodNotAllowed(), { Allow: methods.join(', ') });
  }
}

/** Reads and parses a JSON or YAML object body (`integerKeys`: see `parseBody`); `allowEmpty` gives an undefined value for no body. */
export async function readObjectBody(ctx: Ctx, maxBody: number, log: (msg: string, fields: Record<string, unknown>) => void, opts: { allowEmpty?: boolean; integerKeys?: ReadonlySet<string> } = {}): Promise<ParsedBody> {
  const type = checkObjectBodyType(ctx.req);
  return parseBody(await readBody(ctx.req, maxBody), type, { ...opts, log, maxBytes: maxBody });
}

/** What a body must say about itself to be written at a URL. */
export interface BodyTarget {
  kind: string;
  apiVersion: string;
  /** The URL's namespace (undefined for a cluster-scoped kind). */
  namespace: string | undefined;
  /** The URL's name (PUT, PATCH), undefined for a create. */
  name: string | undefined;
}

/**
 * Checks `apiVersion`, `kind`, `metadata.namespace` and `metadata.name` of a body against the
 * URL, as the API server does, and fills in the namespace and name the URL gives.
 */
export function checkObjectBody(body: unknown, t: BodyTarget): Record<string, unknown> {
  if (!isPlainObject(body)) throw new HttpError(badRequest(`the body of the request must be a JSON object (a ${t.kind})`));
  if (body.apiVersion !== undefined && body.apiVersion !== t.apiVersion) {
    throw new HttpError(badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${t.apiVersion})`));
  }
  if (body.kind !== undefined && body.kind !== t.kind) {
    throw new HttpError(badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${t.kind})`));
  }
  if (body.metadata === undefined || body.metadata === null) body.metadata = {};
  if (isPlainObject(body.metadata)) {
    const m = body.metadata;
    if (t.namespace !== undefined) {
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== t.namespace) {
        throw new HttpError(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
      }
      m.namespace = t.namespace;
    } else if (m.namespace !== undefined && m.namespace !== '') {
      delete m.namespace; // a cluster-scoped object has no namespace (the API server clears it)
    }
    if (t.name !== undefined) {
      if (m.name === undefined || m.name === '') m.name = t.name;
      else if (m.name !== t.name) throw new HttpError(badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${t.name})`));
    }
  }
  return body;
}

function labelSelectorOf(q: URLSearchParams): LabelSelector {
  try {
    return parseLabelSelector(q.get('labelSelector') ?? '');
  } catch (err) {
    if (err instanceof SelectorError) throw new HttpError(badRequest(err.message));
    throw err;
  }
}

function fieldSelectorOf(q: URLSearchParams, fields: ReadonlySet<string>): FieldRequirement[] {
  try {
    return parseFieldSelector(q.get('fieldSelector') ?? '', fields);
  } catch (err) {
    if (err instanceof SelectorError) throw new HttpError(badRequest(err.message));
    throw err;
  }
}

/** What a selector needs to know about an object. */
export interface Selectable<T> {
  fields: ReadonlySet<string>;
  field(obj: T, field: string): string;
}

/**
 * The predicate of a list or watch: the namespace, the `labelSelector` and the
 * `fieldSelector` of the query (400 for one that does not parse or names an unknown field),
 * and a name (watch of one object).
 */
export function predicateOf<T extends { metadata: { name?: string; namespace?: string; labels?: Record<string, string> } }>(
  s: Selectable<T>, ns: string | undefined, q: URLSearchParams, name?: string,
): (obj: T) => boolean {
  const labels = labelSelectorOf(q);
  const fields = fieldSelectorOf(q, new Set([...s.fields, 'metadata.name', 'metadata.namespace']));
  if (name !== undefined) fields.push({ field: 'metadata.name', op: '=', value: name });
  const get = (obj: T) => (f: string): string => {
    if (f === 'metadata.name') return obj.metadata.name ?? '';
    if (f === 'metadata.namespace') return obj.metadata.namespace ?? '';
    return s.field(obj, f);
  };
  return (obj) => (ns === undefined || obj.metadata.namespace === ns) && matchLabels(labels, obj.metadata.labels) && matchFields(fields, get(obj));
}
