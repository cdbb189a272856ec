/**
 * One pass over raw JSON text for what `JSON.parse` hides or cannot bound:
 *
 * - nesting depth, checked before anything recursive touches the value (the API server's
 *   decoder refuses nesting deeper than 10,000 with `exceeded max depth`; podvisor's bound is
 *   {@link MAX_NESTING_DEPTH}, see there);
 * - duplicate keys, which `JSON.parse` silently resolves to the last value, in the API server's
 *   strict-decoding notation (`duplicate field "spec.containers[0].name"`, sigs.k8s.io/json);
 * - number literals that are not written as integers (`1.5`, `1e3`, `1e-400`) under the keys
 *   that name integer fields: `JSON.parse` turns `1e-400` into `0` and `1e3` into `1000`,
 *   while the API server's decoder refuses any of them for an integer field.
 *
 * The scan is iterative (no recursion, whatever the input) and linear in the text. It expects
 * valid JSON for meaningful findings but never throws and never loops on invalid input: the
 * caller runs `JSON.parse` for syntax errors.
 */

/** Options of {@link scanJson}. */
export interface JsonScanOptions {
  /** Collections may nest this deep (the top-level object or array is level 1). */
  maxDepth: number;
  /**
   * Object keys of integer fields: a number value under one of them, or an element of an array
   * under one of them, that is not written as an integer is reported in
   * {@link JsonScan.nonIntegers}. Which of these are really integer fields is for the caller
   * (it knows the schema).
   */
  integerKeys?: ReadonlySet<string>;
  /** At most this many duplicates and this many non-integers are reported (default 100, as the API server). */
  maxFindings?: number;
}

/** A number literal that is not written as an integer, where an integer may be expected. */
export interface NonIntegerLiteral {
  /** Keys and array indices from the top-level value to the literal. */
  path: (string | number)[];
  /** The literal as written, such as `1e-400`. */
  literal: string;
}

/** Result of {@link scanJson}. */
export interface JsonScan {
  /** Nesting went deeper than `maxDepth`: the scan stopped there and reports nothing else. */
  tooDeep: boolean;
  /** Paths of repeated keys in the API server's notation (`metadata.labels.app`, `spec.containers[0].name`), each once. */
  duplicates: string[];
  /** Suspicious number literals under {@link JsonScanOptions.integerKeys}, in text order. */
  nonIntegers: NonIntegerLiteral[];
}

interface Frame {
  array: boolean;
  /** Array: index of the current element. */
  index: number;
  /** Object: the key of the current member (undefined before the first key). */
  key: string | undefined;
  /** Object: the next string is a key. */
  expectKey: boolean;
  /** Object: keys seen so far (created on the second key, when a duplicate becomes possible). */
  keys: Set<string> | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isNumberChar(c: number): boolean {
  // 0-9 + - . e E
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x65 || c === 0x45;
}

/** The path of key `last` of the innermost object, rendered as the API server's strict decoder does. */
function renderPath(stack: readonly Frame[], last: string): string {
  let out = '';
  for (let k = 0; k < stack.length - 1; k++) {
    const f = stack[k];
    if (f?.array) out += `[${f.index}]`;
    else out += out === '' ? (f?.key ?? '') : `.${f?.key ?? ''}`;
  }
  return out === '' ? last : `${out}.${last}`;
}

function segments(stack: readonly Frame[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (const f of stack) out.push(f.array ? f.index : (f.key ?? ''));
  return out;
}

/** The decoded value of the string token at `start` (the opening quote) ending at `end` (the closing quote). */
function stringValue(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(text.slice(start, end + 1)) as string;
  } catch {
    return raw;
  }
}

/** Scans `text` (see the module comment). Never throws. */
export function scanJson(text: string, opts: JsonScanOptions): JsonScan {
  const max = opts.maxFindings ?? 100;
  const result: JsonScan = { tooDeep: false, duplicates: [], nonIntegers: [] };
  const seenDuplicates = new Set<string>();
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= opts.maxDepth) {
        result.tooDeep = true;
        result.duplicates = [];
        result.nonIntegers = [];
        return result;
      }
      stack.push({ array: c === 0x5b, index: 0, key: undefined, expectKey: c === 0x7b, keys: undefined });
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      if (top?.array) top.index++;
      else if (top) top.expectKey = true;
      i++;
    } else if (c === QUOTE) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === BACKSLASH) j += 2;
        else if (d === QUOTE) break;
        else j++;
      }
      if (top && !top.array && top.expectKey) {
        const key = stringValue(text, i, Math.min(j, n - 1));
        if (top.key !== undefined) {
          top.keys ??= new Set([top.key]);
          if (top.keys.has(key)) {
            const p = renderPath(stack, key);
            if (!seenDuplicates.has(p) && result.duplicates.length < max) {
              seenDuplicates.add(p);
              result.duplicates.push(p);
            }
          } else {
            top.keys.add(key);
          }
        }
        top.key = key;
        top.expectKey = false;
      }
      i = j + 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let integerForm = true;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (!isNumberChar(d)) break;
        if (d === 0x2e || d === 0x65 || d === 0x45) integerForm = false;
        j++;
      }
      if (!integerForm && opts.integerKeys && top && result.nonIntegers.length < max) {
        // The key that names the field: the member's own key, or for an array element the
        // key of the array.
        const owner = top.array ? stack[stack.length - 2]?.key : top.key;
        const ownerIsKey = top.array ? stack[stack.length - 2]?.array === false : true;
        if (owner !== undefined && ownerIsKey && opts.integerKeys.has(owner)) {
          result.nonIntegers.push({ path: segments(stack), literal: text.slice(i, j) });
        }
      }
      i = j;
    } else {
      i++;
    }
  }
  return result;
}

/** Non-integer literals by the object or array that holds them, then by key or index. */
export type LiteralIndex = WeakMap<object, Map<string | number, string>>;

/**
 * Finds the containers of the reported literals in `value` (what `JSON.parse` made of the
 * scanned text), so that a decoder walking `value` can tell that the `0` it sees was written
 * `1e-400`. Paths that do not resolve are skipped.
 */
export function indexLiterals(value: unknown, found: readonly NonIntegerLiteral[]): LiteralIndex {
  const index: LiteralIndex = new WeakMap();
  for (const { path, literal } of found) {
    let parent: unknown = value;
    for (let k = 0; k < path.length - 1 && parent !== undefined; k++) parent = child(parent, path[k]);
    const last = path[path.length - 1];
    if (typeof parent !== 'object' || parent === null || last === undefined) continue;
    let m = index.get(parent);
    if (!m) index.set(parent, (m = new Map()));
    m.set(last, literal);
  }
  return index;
}

function child(v: unknown, key: string | number | undefined): unknown {
  if (typeof v !== 'object' || v === null || key === undefined) return undefined;
  if (Array.isArray(v)) return typeof key === 'number' ? v[key] : undefined;
  return Object.prototype.hasOwnProperty.call(v, key) ? (v as Record<string, unknown>)[String(key)] : undefined;
}
