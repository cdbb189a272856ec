/**
 * Responses: content negotiation (`Accept` asking for a `Table` or `PartialObjectMetadata`),
 * JSON bodies with the API server's headers and `Warning` headers, `Status` bodies, and the
 * rendering of one object or a list as the client asked.
 */
import type { ServerResponse } from 'node:http';
import type { Status } from '../api/errors.js';
import { badRequest, HttpError } from './status.js';
import { table, type IncludeObject, type TableColumnDefinition, type TableRow } from './table.js';
import { warningHeaders } from './warnings.js';

/** The representation a client asked for in `Accept`. */
export interface Wanted {
  as: 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | undefined;
  /** `meta.k8s.io/v1` or `meta.k8s.io/v1beta1` for Table/PartialObjectMetadata. */
  apiVersion: string;
}

/** Picks the first media range of `Accept` the server can produce; plain JSON otherwise. */
export function negotiate(accept: string | undefined): Wanted {
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

/** The headers of every API response. */
export function baseHeaders(contentType: string): Record<string, string> {
  return { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private' };
}

/** Sends a JSON body (with `Warning` headers); a response already started is cut off instead. */
export function sendJson(res: ServerResponse, code: number, body: unknown, warnings: readonly string[] = []): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const data = Buffer.from(JSON.stringify(body));
  const h: Record<string, string | string[]> = { ...baseHeaders('application/json'), 'Content-Length': String(data.length) };
  if (warnings.length > 0) h['Warning'] = warningHeaders(warnings);
  res.writeHead(code, h);
  res.end(data);
}

/** Sends a `Status` with its code (and extra headers such as `Allow` or `Retry-After`). */
export function sendStatus(res: ServerResponse, s: Status, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const data = Buffer.from(JSON.stringify(s));
  res.writeHead(s.code, { ...baseHeaders('application/json'), 'Content-Length': String(data.length), ...extra });
  res.end(data);
}

/** Sends plain text (health checks). */
export function sendText(res: ServerResponse, code: number, text: string): void {
  const data = Buffer.from(text);
  res.writeHead(code, { ...baseHeaders('text/plain; charset=utf-8'), 'Content-Length': String(data.length) });
  res.end(data);
}

/** `includeObject` of a Table request (default `Metadata`). */
export function includeOf(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject') ?? '';
  if (v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw new HttpError(badRequest(`includeObject: Unsupported value: ${JSON.stringify(v)}: supported values: "Metadata", "None", "Object"`));
}

/** How to print objects of a kind as Table rows. */
export interface Printer<T> {
  columns: readonly TableColumnDefinition[];
  row(obj: T, now: number, include: IncludeObject): TableRow;
}

function partial(apiVersion: string, obj: { metadata: unknown }): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata };
}

/** Renders one object as asked: itself, a one-row Table, or PartialObjectMetadata. */
export function renderOne<T extends { metadata: unknown }>(wanted: Wanted, q: URLSearchParams, obj: T, printer: Printer<T>, now: number, rv?: string): unknown {
  if (wanted.as === 'Table') return table(wanted.apiVersion, printer.columns, [printer.row(obj, now, includeOf(q))], rv);
  if (wanted.as === 'PartialObjectMetadata') return partial(wanted.apiVersion, obj);
  return obj;
}

/** Renders a list as asked: a `<Kind>List`, a Table, or a PartialObjectMetadataList. */
export function renderList<T extends { metadata: unknown }>(wanted: Wanted, q: URLSearchParams, kind: string, apiVersion: string, items: T[], printer: Printer<T>, now: number, rv: string): unknown {
  if (wanted.as === 'Table') {
    const inc = includeOf(q);
    return table(wanted.apiVersion, printer.columns, items.map((o) => printer.row(o, now, inc)), rv);
  }
  if (wanted.as === 'PartialObjectMetadataList' || wanted.as === 'PartialObjectMetadata') {
    return { kind: 'PartialObjectMetadataList', apiVersion: wanted.apiVersion, metadata: { resourceVersion: rv }, items: items.map((o) => partial(wanted.apiVersion, o)) };
  }
  return { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: rv }, items };
}
