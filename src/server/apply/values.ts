/**
 * JSON values as structured-merge-diff compares and prints them: Go's byte-wise string order,
 * upstream's value order and equality, and Go's `encoding/json` text (sorted keys, HTML-safe
 * escapes), which managed-field keys and conflict messages are made of.
 */

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A JSON object. */
export function isObject(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Characters whose UTF-16 order may differ from their code point order. */
const HIGH = /[\uD800-\uFFFF]/;

/** Go's byte-wise string order (UTF-8 order is code point order; JS compares UTF-16 units). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  if (!HIGH.test(a) || !HIGH.test(b)) return a < b ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const surrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdfff;
    // A surrogate (a code point above U+FFFF) sorts after every BMP character in UTF-8.
    if (surrogate(x) !== surrogate(y)) return surrogate(x) ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function rank(v: Json): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5;
}

/** The order of values upstream uses (`value.Compare`): numbers, strings, booleans, lists, maps, null. */
export function compareValues(a: Json, b: Json): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i] as Json, b[i] as Json);
      if (c !== 0) return c;
    }
    return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).sort(compareStrings);
    const kb = Object.keys(b).sort(compareStrings);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const c = compareStrings(ka[i] as string, kb[i] as string) || compareValues(a[ka[i] as string] as Json, b[kb[i] as string] as Json);
      if (c !== 0) return c;
    }
    return ka.length < kb.length ? -1 : ka.length === kb.length ? 0 : 1;
  }
  return 0;
}

/** Structural equality of JSON values (`value.Equals`): map order ignored, numbers by value. */
export function valuesEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && valuesEqual(a[k], b[k]));
  }
  return false;
}

/** JSON as Go's `encoding/json` writes it: object keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function goJson(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'string') return goEscape(JSON.stringify(v));
  return goEscape(JSON.stringify(sortKeys(v)) ?? 'null');
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/;

/** Go's HTML-safe escaping applied to JSON text. */
export function goEscape(json: string): string {
  if (!HTML_UNSAFE.test(json)) return json;
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort(compareStrings)) out[k] = sortKeys(v[k]);
  return out;
}
