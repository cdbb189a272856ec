/**
 * Reading manifest files: YAML (multi-document, `---`) and JSON (which is YAML), and picking
 * the objects out of them: Pods (`kind: Pod`, or `kind: List`/`PodList` with `items`) and the
 * Namespaces, ConfigMaps and Secrets a bundle gives them ({@link selectObjects}).
 *
 * YAML is read with the YAML 1.1 rules that kubectl's YAML library applies (`yes`/`on` are
 * booleans, `0755` is octal, merge keys `<<` work), except that timestamps and sexagesimal
 * numbers stay strings, as they do for kubectl. Duplicate keys are a syntax error, and a document
nested deeper than {@link MAX_NESTING_DEPTH} collections is refused.
 *
 * Nothing here throws: every problem is a {@link ManifestError} with the source name and, when
 * known, the line and column, rendered `<source>:<line>:<col>: <message>`.
 */
import { Composer, LineCounter, Parser, isMap, isSeq, type CST, type Document } from 'yaml';
import { isPlainObject } from './decode.js';

/** A file-level problem: the document cannot be read as a Kubernetes object podvisor reads. */
export interface ManifestError {
  /** The file name (the CLI uses `<stdin>` for standard input). */
  source: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  col?: number;
  /** What is wrong, without the position prefix. */
  message: string;
  /** 0-based index of the document in the file, when the error concerns one document. */
  document?: number;
}

/** One non-empty document of a manifest file. */
export interface ParsedDocument {
  /** 0-based index among all documents of the file (empty ones included). */
  index: number;
  /**
   * The document as JSON-like data (objects, arrays, strings, numbers, booleans, null), plus
   * what explicit YAML tags create (`!!binary` bytes, `!!set`, `!!omap`), which decoding refuses.
   */
  value: unknown;
  /** 1-based line where the document's content starts. */
  line?: number;
  /** 1-based column where the document's content starts. */
  col?: number;
  /** For a mapping with an `items` sequence: the 1-based line of each item. */
  itemLines?: (number | undefined)[];
}

/** Result of {@link parseManifests}. */
export interface ParseResult {
  docs: ParsedDocument[];
  errors: ManifestError[];
}

/** Renders a manifest error as `<source>:<line>:<col>: <message>` (or with what is known). */
export function renderManifestError(e: ManifestError): string {
  let pos = e.source;
  if (e.line !== undefined) {
    pos += `:${e.line}`;
    if (e.col !== undefined) pos += `:${e.col}`;
  }
  return `${pos}: ${e.message}`;
}

function documentLabel(index: number): string {
  return `document ${index + 1}`;
}

/**
 * Maximum nesting of collections in a document. Pods need about 10 levels. The limit keeps
 * the YAML composer (recursive) far from the stack limit: near it, V8 can abort the whole
 * process (`RegExpCompiler Allocation failed`) instead of throwing, so depth is checked on
 * the concrete syntax tree, which the parser builds without recursion.
 */
export const MAX_NESTING_DEPTH = 128;

/**
 * Offset of the first collection nested deeper than `max` in a CST document, if any. Iterative,
 * so that it can run before the (recursive) composer, on documents of any depth.
 */
export function tooDeepAt(doc: CST.Document, max: number): number | undefined {
  const stack: [CST.Token | null | undefined, number][] = [[doc.value, 1]];
  while (stack.length > 0) {
    const [t, depth] = stack.pop() ?? [undefined, 0];
    if (!t) continue;
    if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
      if (depth > max) return t.offset;
      for (const item of t.items) {
        stack.push([item.key, depth + 1]);
        stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/**
 * Parses every YAML/JSON document of `text`. Empty documents (nothing, only comments, `null`)
 * are skipped. A document with a syntax error yields one error (its first) with line and
 * column and is left out; the other documents are still returned. Never throws.
 */
export function parseManifests(text: string, source = '<input>'): ParseResult {
  const docs: ParsedDocument[] = [];
  const errors: ManifestError[] = [];
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lc = new LineCounter();
  const pos = (offset: number): { line: number; col: number } => {
    const p = lc.linePos(offset);
    return p.line === 0 ? { line: 1, col: offset + 1 } : p;
  };
  // parseAllDocuments, in two steps, so that too deeply nested documents never reach the composer.
  const parsed: { doc: Document.Parsed; index: number }[] = [];
  try {
    const tokens = Array.from(new Parser(lc.addNewLine).parse(input));
    const kept: CST.Token[] = [];
    const indexes: number[] = [];
    let docIndex = 0;
    for (const token of tokens) {
      if (token.type === 'document') {
        const at = tooDeepAt(token, MAX_NESTING_DEPTH);
        if (at !== undefined) {
          const message = `${documentLabel(docIndex)}: nesting deeper than ${MAX_NESTING_DEPTH} levels`;
          errors.push({ source, ...pos(at), message, document: docIndex });
          docIndex++;
          continue;
        }
        indexes.push(docIndex);
        docIndex++;
      }
      kept.push(token);
    }
    const composer = new Composer({
      prettyErrors: false,
      version: '1.1',
      uniqueKeys: true,
      customTags: (tags) =>
        tags.filter((t) => typeof t === 'string' || (t.format !== 'TIME' && t.tag !== 'tag:yaml.org,2002:timestamp')),
    });
    const composed = Array.from(composer.compose(kept));
    composed.forEach((doc, i) => parsed.push({ doc, index: composed.length === indexes.length ? (indexes[i] ?? i) : i }));
  } catch (err) {
    errors.push({ source, line: 1, col: 1, message: `cannot parse: ${errorMessage(err)}` });
    return { docs, errors };
  }
  parsed.forEach(({ doc, index }) => {
    const first = doc.errors[0];
    if (first) {
      const p = pos(first.pos[0]);
      errors.push({ source, ...p, message: `${documentLabel(index)}: ${first.message}`, document: index });
      return;
    }
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const { line, col } = pos(start);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push({ source, ...pos(start), message: `${documentLabel(index)}: ${errorMessage(err)}`, document: index });
      return;
    }
    if (value === null || value === undefined) return;
    const entry: ParsedDocument = { index, value, line, col };
    if (isMap(doc.contents)) {
      const items = doc.contents.get('items', true);
      if (isSeq(items)) {
        entry.itemLines = items.items.map((it) => {
          const r = (it as { range?: [number, number, number] } | null)?.range;
          return r ? pos(r[0]).line : undefined;
        });
      }
    }
    docs.push(entry);
  });
  errors.sort((a, b) => (a.document ?? 0) - (b.document ?? 0));
  return { docs, errors };
}

function errorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0] ?? m;
}

/** A Pod object found in a manifest, not yet decoded. */
export interface PodObject {
  /** The raw object (a plain JSON object). */
  value: Record<string, unknown>;
  /** 0-based document index in the file. */
  document: number;
  /** 0-based index in the document's `items`, for Lists. */
  item?: number;
  /** 1-based line of the object. */
  line?: number;
}

/** Result of {@link selectPods}. */
export interface SelectResult {
  pods: PodObject[];
  errors: ManifestError[];
}

/**
 * The kinds a manifest may hold: Pods, and the objects pods read (their Namespace, ConfigMaps
 * and Secrets), all `apiVersion: v1`, so that a bundle that works on a cluster works here.
 */
export const MANIFEST_KINDS = ['Pod', 'Namespace', 'ConfigMap', 'Secret'] as const;

/** One of {@link MANIFEST_KINDS}. */
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

/** An object of one of {@link MANIFEST_KINDS} found in a manifest, not yet decoded. */
export interface ManifestObject extends PodObject {
  kind: ManifestKind;
}

/** Result of {@link selectObjects}. */
export interface SelectObjectsResult {
  /** Every object found, in file order (List items in item order). */
  objects: ManifestObject[];
  errors: ManifestError[];
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isPlainObject(v)) return 'object';
  return typeof v;
}

/** What a selection accepts, and how its errors name what podvisor reads. */
interface Selection {
  kinds: readonly ManifestKind[];
  /** After `kind "X" is not supported: ` for a document. */
  unsupported: string;
  /** After `items[i]: kind "X" is not supported: ` for a List item. */
  unsupportedItem: string;
  /** `a Pod object` or `an object`, for a List item that is not a mapping. */
  itemNoun: string;
}

const PODS_ONLY: Selection = {
  kinds: ['Pod'],
  unsupported: 'podvisor runs Pods (kind Pod, List or PodList)',
  unsupportedItem: 'podvisor runs Pods',
  itemNoun: 'a Pod object',
};

const ALL_KINDS: Selection = {
  kinds: MANIFEST_KINDS,
  unsupported: 'podvisor reads Pods and the Namespaces, ConfigMaps and Secrets they use (kind Pod, Namespace, ConfigMap or Secret, or a List of them)',
  unsupportedItem: 'podvisor reads Pods, Namespaces, ConfigMaps and Secrets',
  itemNoun: 'an object',
};

/**
 * The selection behind {@link selectPods} and {@link selectObjects}: documents of an accepted
 * kind, and the items of `kind: List` (each item names its kind and apiVersion) and of
 * `kind: <Kind>List` for an accepted kind (items may omit them, and must be of that kind when
 * they do not). Everything `apiVersion: v1`.
 */
function select(docs: readonly ParsedDocument[], source: string, sel: Selection): SelectObjectsResult {
  const objects: ManifestObject[] = [];
  const errors: ManifestError[] = [];
  const accepted = (k: unknown): k is ManifestKind => typeof k === 'string' && (sel.kinds as readonly string[]).includes(k);
  const listOf = (k: string): ManifestKind | undefined => {
    const of = k.endsWith('List') ? k.slice(0, -'List'.length) : '';
    return accepted(of) ? of : undefined;
  };
  for (const doc of docs) {
    const label = documentLabel(doc.index);
    const fail = (message: string, line = doc.line): void => {
      const e: ManifestError = { source, line, message: `${label}: ${message}`, document: doc.index };
      if (line === doc.line && doc.col !== undefined) e.col = doc.col;
      errors.push(e);
    };
    const v = doc.value;
    if (!isPlainObject(v)) {
      fail(`expected a Kubernetes object (a mapping with apiVersion and kind), got ${jsonKind(v)}`);
      continue;
    }
    const missing: string[] = [];
    if (v.apiVersion === undefined || v.apiVersion === null || v.apiVersion === '') missing.push('apiVersion not set');
    if (v.kind === undefined || v.kind === null || v.kind === '') missing.push('kind not set');
    if (missing.length > 0) {
      fail(missing.join(', '));
      continue;
    }
    if (typeof v.kind !== 'string' || typeof v.apiVersion !== 'string') {
      fail(`apiVersion and kind must be strings, got ${jsonKind(v.apiVersion)} and ${jsonKind(v.kind)}`);
      continue;
    }
    const kind = v.kind;
    const listKind = listOf(kind);
    if (!accepted(kind) && kind !== 'List' && listKind === undefined) {
      fail(`kind ${JSON.stringify(kind)} is not supported: ${sel.unsupported}`);
      continue;
    }
    if (v.apiVersion !== 'v1') {
      fail(`apiVersion ${JSON.stringify(v.apiVersion)} is not supported for kind ${kind}, expected "v1"`);
      continue;
    }
    if (accepted(kind)) {
      objects.push({ kind, value: v, document: doc.index, line: doc.line });
      continue;
    }
    const items = v.items ?? [];
    if (!Array.isArray(items)) {
      fail(`items must be a list, got ${jsonKind(items)}`);
      continue;
    }
    items.forEach((item: unknown, i) => {
      const line = doc.itemLines?.[i] ?? doc.line;
      const where = `items[${i}]`;
      if (!isPlainObject(item)) {
        fail(`${where}: expected ${listKind === undefined ? sel.itemNoun : `a ${listKind} object`}, got ${jsonKind(item)}`, line);
        return;
      }
      const ik = item.kind;
      const iv = item.apiVersion;
      if ((ik === undefined || ik === null) && (iv === undefined || iv === null) && listKind !== undefined) {
        objects.push({ kind: listKind, value: item, document: doc.index, item: i, line });
        return;
      }
      if (!accepted(ik) || (listKind !== undefined && ik !== listKind)) {
        fail(
          ik === undefined || ik === null || ik === ''
            ? `${where}: kind not set`
            : `${where}: kind ${typeof ik === 'string' ? JSON.stringify(ik) : jsonKind(ik)} is not supported: ${listKind !== undefined && accepted(ik) ? `a ${kind} holds ${listKind} objects` : sel.unsupportedItem}`,
          line,
        );
        return;
      }
      if (iv !== 'v1' && !(listKind !== undefined && (iv === undefined || iv === null))) {
        fail(
          iv === undefined || iv === null || iv === ''
            ? `${where}: apiVersion not set`
            : `${where}: apiVersion ${typeof iv === 'string' ? JSON.stringify(iv) : jsonKind(iv)} is not supported for kind ${ik}, expected "v1"`,
          line,
        );
        return;
      }
      objects.push({ kind: ik, value: item, document: doc.index, item: i, line });
    });
  }
  return { objects, errors };
}

/**
 * Picks the Pods out of parsed documents: `kind: Pod` with `apiVersion: v1`, and the items of
 * `kind: List` / `PodList` (`apiVersion: v1`). List items need `kind: Pod` and `apiVersion: v1`;
 * PodList items may omit them. Anything else is an error naming the document and the kind
 * (ConfigMaps and the other objects pods read too: {@link selectObjects} accepts them).
 */
export function selectPods(docs: readonly ParsedDocument[], source = '<input>'): SelectResult {
  const r = select(docs, source, PODS_ONLY);
  return { pods: r.objects.map(({ kind: _kind, ...o }) => o), errors: r.errors };
}

/**
 * Picks the objects of {@link MANIFEST_KINDS} out of parsed documents: `kind: Pod`,
 * `Namespace`, `ConfigMap` or `Secret` with `apiVersion: v1`, and the items of `kind: List`
 * (each item with one of those kinds and `apiVersion: v1`) and of `PodList`, `NamespaceList`,
 * `ConfigMapList` and `SecretList` (whose items may omit kind and apiVersion). Any other kind
 * is an error naming the document (and item) and the kind, with its line.
 */
export function selectObjects(docs: readonly ParsedDocument[], source = '<input>'): SelectObjectsResult {
  return select(docs, source, ALL_KINDS);
}

/** Result of {@link decodeManifestBytes}. */
export type BytesResult = { ok: true; text: string } | { ok: false; error: ManifestError };

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0xff >> (n + 2));
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Decodes file bytes as UTF-8 (a leading BOM is dropped). Bytes that are not valid UTF-8 are an
 * error with the line and column of the first bad byte, as Kubernetes' YAML reader refuses
 * them too. Never throws.
 */
export function decodeManifestBytes(bytes: Uint8Array, source: string): BytesResult {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    const lines = before.split('\n');
    const line = lines.length;
    const col = (lines[lines.length - 1] ?? '').length + 1;
    const hex = (bytes[bad] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    return { ok: false, error: { source, line, col, message: `invalid UTF-8 (byte 0x${hex})` } };
  }
  let text = new TextDecoder('utf-8').decode(bytes);
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  return { ok: true, text };
}
