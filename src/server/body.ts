/**
 * Request bodies: read within the size limit, then parsed as JSON or YAML, or decoded from
 * Kubernetes protobuf (object bodies only: kubectl's typed commands send them), with the bounds
 * the API server's decoders have, before anything recursive touches them:
 *
 * - size: {@link DEFAULT_MAX_BODY_BYTES} (the API server's `MaxRequestBodyBytes`), 413 beyond;
 * - nesting: {@link MAX_BODY_NESTING} levels, 400 beyond (JSON: checked on the raw text, which
 *   `JSON.parse` would accept at any depth; YAML: on the syntax tree, before the recursive
 *   composer; protobuf: while decoding, which also bounds the JSON it produces to twice the
 *   body limit, see `protobuf.ts`);
 * - JSON bodies are scanned for duplicate keys (reported for `fieldValidation`) and, when the
 *   caller names the integer fields, for numbers not written as integers (see `api/json-scan.ts`);
 * - YAML warnings are logged as a count and their codes, never with the request's content.
 */
import type { IncomingMessage } from 'node:http';
import { Composer, LineCounter, Parser, type CST, type Document } from 'yaml';
import { indexLiterals, scanJson, type LiteralIndex } from '../api/json-scan.js';
import { MAX_NESTING_DEPTH, tooDeepAt } from '../api/parse.js';
import { measureJson } from './json-measure.js';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF, ProtobufDecodeError } from './protobuf.js';
import { badRequest, HttpError, tooLarge, unsupportedMediaType } from './status.js';

/** The API server's request body limit (3 MiB, `MaxRequestBodyBytes`); also the bound on what a patch may produce. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Collections may nest this deep in a body (the top-level object is level 1). The API server's
 * JSON decoder allows 10,000 levels; podvisor allows what `podvisor validate` allows for
 * manifests, because Node's recursive built-ins do not reach 10,000 (`structuredClone` fails
 * near 2,000 levels, `JSON.stringify` near 5,000), and a Pod needs about 15.
 */
export const MAX_BODY_NESTING = MAX_NESTING_DEPTH;

/** Receives the fact that a YAML body had warnings (never its content). */
export type BodyLogger = (msg: string, fields: Record<string, unknown>) => void;

/** A parsed body. */
export interface ParsedBody {
  /** The value (undefined for an allowed empty body). */
  value: unknown;
  /** Paths of duplicate keys of a JSON body (`metadata.labels.app`), for `fieldValidation`. */
  duplicates: string[];
  /** Numbers of a JSON body written as non-integers under the requested integer keys. */
  literals: LiteralIndex | undefined;
}

/** Options of {@link parseBody}. */
export interface ParseBodyOptions {
  /** An empty body is undefined instead of a 400. */
  allowEmpty?: boolean;
  /** Keys of integer fields whose non-integer literals are reported (JSON only). */
  integerKeys?: ReadonlySet<string>;
  /** Where YAML warnings are counted. */
  log?: BodyLogger;
  /**
   * YAML only: the document, its aliases expanded, may encode to at most twice this (JSON
   * spells some YAML longer); default {@link DEFAULT_MAX_BODY_BYTES}. Aliases let a small
   * document repeat a large node: what comes out is bounded here, before anything copies it.
   */
  maxBytes?: number;
}

/** Reads the whole body; 413 (`RequestEntityTooLarge`) as soon as it exceeds `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume();
      reject(new HttpError(tooLarge(maxBytes)));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > maxBytes) {
        over = true;
        chunks.length = 0;
        reject(new HttpError(tooLarge(maxBytes)));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (over) return;
      // The client went away in the middle of its body (`aborted`): no server fault, and no
      // one left to answer; a 400, not a 500 logged as an internal error.
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') reject(new HttpError(badRequest('the client closed the connection before the request body was complete')));
      else reject(err);
    });
  });
}

/** The media type of `Content-Type`, lower case, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** True for the media types whose bodies are YAML. */
export function isYamlType(type: string): boolean {
  return type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml';
}

/** The media types of object bodies (POST, PUT, DELETE's DeleteOptions); PATCH has its own. */
export const OBJECT_BODY_TYPES: readonly string[] = ['application/json', 'application/yaml', KUBERNETES_PROTOBUF];

/** Refuses a body type other than JSON, YAML or Kubernetes protobuf (415). */
export function checkObjectBodyType(req: IncomingMessage): string {
  const type = mediaType(req);
  if (type !== '' && type !== '*/*' && !OBJECT_BODY_TYPES.includes(type)) {
    req.resume();
    throw new HttpError(unsupportedMediaType(type, OBJECT_BODY_TYPES));
  }
  return type;
}

function parseError(format: 'json' | 'yaml', message: string): HttpError {
  return new HttpError(badRequest(`couldn't get version/kind; ${format} parse error: ${message}`));
}

const TOO_DEEP = `exceeded max depth (podvisor accepts at most ${MAX_BODY_NESTING} levels of nesting)`;

/**
 * Parses a body as JSON, as YAML for the YAML media types, or decodes it from Kubernetes
 * protobuf (into the JSON value of the same object); 400 for what cannot be parsed.
 */
export function parseBody(buf: Buffer, type: string, opts: ParseBodyOptions = {}): ParsedBody {
  if (type === KUBERNETES_PROTOBUF) return parseProtobufBody(buf, opts);
  const text = buf.toString('utf8');
  if (text.trim() === '') {
    if (opts.allowEmpty) return { value: undefined, duplicates: [], literals: undefined };
    throw new HttpError(badRequest('the request body is empty'));
  }
  if (isYamlType(type)) {
    const value = parseYamlBody(text, opts.log);
    const m = measureJson(value, 2 * (opts.maxBytes ?? DEFAULT_MAX_BODY_BYTES), MAX_BODY_NESTING);
    if (m.exceeded === 'depth') throw parseError('yaml', TOO_DEEP);
    if (m.exceeded === 'bytes') throw parseError('yaml', 'document contains excessive aliasing');
    return { value, duplicates: [], literals: undefined };
  }
  const scan = scanJson(text, { maxDepth: MAX_BODY_NESTING, ...(opts.integerKeys ? { integerKeys: opts.integerKeys } : {}) });
  if (scan.tooDeep) throw parseError('json', TOO_DEEP);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw parseError('json', err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  }
  const literals = scan.nonIntegers.length > 0 ? indexLiterals(value, scan.nonIntegers) : undefined;
  return { value, duplicates: scan.duplicates, literals };
}

/**
 * A protobuf body as the JSON value of its object. No duplicate keys to report (a repeated map
 * key is resolved as Go resolves it, the last wins) and no non-integer literals (integers are
 * varints). The API server's wording: `<Kind> in version "<v>" cannot be handled as a <Kind>: <why>`
 * once the envelope named the kind, `the object provided is unrecognized: <why>` before.
 */
function parseProtobufBody(buf: Buffer, opts: ParseBodyOptions): ParsedBody {
  if (buf.length === 0) {
    if (opts.allowEmpty) return { value: undefined, duplicates: [], literals: undefined };
    throw new HttpError(badRequest('the request body is empty'));
  }
  try {
    const { object } = decodeKubernetesProtobuf(buf, { maxDepth: MAX_BODY_NESTING, maxJsonBytes: 2 * (opts.maxBytes ?? DEFAULT_MAX_BODY_BYTES) });
    return { value: object, duplicates: [], literals: undefined };
  } catch (err) {
    if (!(err instanceof ProtobufDecodeError)) throw err;
    const t = err.target;
    if (t === undefined) throw new HttpError(badRequest(`the object provided is unrecognized: ${err.message}`));
    const version = t.apiVersion.slice(t.apiVersion.lastIndexOf('/') + 1);
    throw new HttpError(badRequest(`${t.kind} in version ${JSON.stringify(version)} cannot be handled as a ${t.kind}: ${err.message}`));
  }
}

/**
 * One YAML document, as `yaml.parse` reads it (YAML 1.2 core schema, duplicate keys refused,
 * at most 100 alias expansions), but with the nesting bound checked first and the warnings
 * counted instead of printed: `yaml` prints them through `process.emitWarning` with pieces of
 * the input, which would copy request content into the daemon's log.
 */
function parseYamlBody(text: string, log: BodyLogger | undefined): unknown {
  const lc = new LineCounter();
  const tokens: CST.Token[] = Array.from(new Parser(lc.addNewLine).parse(text));
  for (const t of tokens) if (t.type === 'document' && tooDeepAt(t, MAX_BODY_NESTING) !== undefined) throw parseError('yaml', TOO_DEEP);
  const where = (offset: number): string => {
    const p = lc.linePos(offset);
    return ` at line ${p.line}, column ${p.col}`;
  };
  let doc: Document.Parsed | undefined;
  for (const d of new Composer({ uniqueKeys: true, logLevel: 'error' }).compose(tokens, true, text.length)) {
    if (doc) throw parseError('yaml', `Source contains multiple documents${where(d.range[0])}`);
    doc = d;
  }
  if (!doc) return null;
  if (doc.warnings.length > 0) log?.('yaml body warnings', { count: doc.warnings.length, codes: [...new Set(doc.warnings.map((w) => w.code))] });
  const first = doc.errors[0];
  if (first) throw parseError('yaml', `${first.message.split('\n')[0] ?? ''}${where(first.pos[0])}`);
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw parseError('yaml', err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  }
}
