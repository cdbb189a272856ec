/**
 * The values behind `config-refs.ts` (pure): downward API fields of a pod (`fieldpath`), a
 * container's resource values (`pkg/api/v1/resource`), Go's `%q` quoting, base64 decoding of
 * Secret and `binaryData` values, and Go's `path.Clean`.
 */
import type { Container, Pod, Quantity, ResourceFieldSelector } from '../api/types.js';
import { isQualifiedName } from '../api/names.js';
import { ceilDivide, parseExactQuantity } from '../api/quantity-exact.js';
import { splitMaybeSubscriptedPath } from '../api/validation-refs.js';

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const CONTROL_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };

/**
 * Go's `strconv.Quote` (what `%q` prints): double quotes, `\"` and `\\`, printable characters
 * (`unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space) as
 * they are, `\n`-style escapes, else `\xHH`, `\uHHHH` or `\UHHHHHHHH` (lower-case hex).
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (PRINTABLE.test(ch)) out += ch;
    else if (CONTROL_ESCAPES[cp] !== undefined) out += CONTROL_ESCAPES[cp];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd'; // a lone surrogate: Go would hold U+FFFD
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/**
 * Decodes standard base64 (padding optional; characters outside the alphabet are skipped, the
 * API server having refused such values already).
 */
export function decodeBase64(s: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const c of s) {
    const v = B64_INDEX.get(c);
    if (v === undefined) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** Go's `path.Clean` for `/`-separated paths: no empty, `.` or inner `..` elements. */
export function cleanPath(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg !== '..') out.push(seg);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!abs) out.push('..');
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined || '.';
}

// ---------------------------------------------------------------- downward API values

/** `fieldpath.FormatMap`: sorted `key="value"` lines, values quoted as Go's `%q`, no trailing newline. */
export function formatDownwardMap(m: Readonly<Record<string, string>> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.map((k) => `${k}=${goQuote(m?.[k] ?? '')}`).join('\n');
}

/** `fieldpath.ExtractFieldPathAsString` for a pod: the value, or upstream's error text. */
export function extractFieldPath(pod: Pod, fieldPath: string): { value: string } | { error: string } {
  const meta = pod.metadata ?? {};
  const sub = splitMaybeSubscriptedPath(fieldPath);
  if (sub) {
    const annotations = sub.path === 'metadata.annotations';
    if (!annotations && sub.path !== 'metadata.labels') return { error: `fieldPath ${JSON.stringify(fieldPath)} does not support subscript` };
    const errs = isQualifiedName(annotations ? sub.subscript.toLowerCase() : sub.subscript);
    if (errs.length > 0) return { error: `invalid key subscript in ${fieldPath}: ${errs.join(';')}` };
    const map = (annotations ? meta.annotations : meta.labels) ?? {};
    return { value: Object.prototype.hasOwnProperty.call(map, sub.subscript) ? (map[sub.subscript] ?? '') : '' };
  }
  switch (fieldPath) {
    case 'metadata.annotations':
      return { value: formatDownwardMap(meta.annotations) };
    case 'metadata.labels':
      return { value: formatDownwardMap(meta.labels) };
    case 'metadata.name':
      return { value: meta.name ?? '' };
    case 'metadata.namespace':
      return { value: meta.namespace ?? '' };
    case 'metadata.uid':
      return { value: meta.uid ?? '' };
  }
  return { error: `unsupported fieldPath: ${fieldPath}` };
}

const DEFAULTED_LIMITS = ['cpu', 'memory', 'ephemeral-storage'];

/** `MergeContainerResourceLimits`: cpu, memory and ephemeral-storage limits that are unset or zero become the node's allocatable. */
export function withAllocatableLimits(c: Container, allocatable: Readonly<Record<string, Quantity>>): Container {
  const limits: Record<string, Quantity> = { ...(c.resources?.limits ?? {}) };
  for (const r of DEFAULTED_LIMITS) {
    const q = Object.prototype.hasOwnProperty.call(limits, r) ? limits[r] : undefined;
    const zero = q === undefined || parseExactQuantity(q)?.num === 0n;
    const cap = Object.prototype.hasOwnProperty.call(allocatable, r) ? allocatable[r] : undefined;
    if (zero && cap !== undefined) limits[r] = cap;
  }
  return { ...c, resources: { ...c.resources, limits } };
}

/** `ExtractContainerResourceValue`: ceil(quantity / divisor) as a decimal string, 0 for a missing or non-positive quantity. */
export function containerResourceValue(fs: ResourceFieldSelector, c: Container): { value: string } | { error: string } {
  const resource = fs.resource ?? '';
  const dot = resource.indexOf('.');
  const kind = resource.slice(0, dot);
  const name = resource.slice(dot + 1);
  const known = DEFAULTED_LIMITS.includes(name) || name.startsWith('hugepages-');
  if ((kind !== 'limits' && kind !== 'requests') || !known) return { error: `Unsupported container resource : ${resource}` };
  const list = (kind === 'limits' ? c.resources?.limits : c.resources?.requests) ?? {};
  const raw = Object.prototype.hasOwnProperty.call(list, name) ? list[name] : undefined;
  const q = raw === undefined ? undefined : parseExactQuantity(raw);
  const d = fs.divisor === undefined ? undefined : parseExactQuantity(fs.divisor);
  const divisor = d === undefined || d.num === 0n ? { num: 1n, exp: 0, format: 'DecimalSI' as const } : d;
  return { value: q === undefined ? '0' : ceilDivide(q, divisor).toString() };
}

/** `findContainerInPod`: regular containers, then init containers. */
export function findContainer(containers: readonly Container[], init: readonly Container[], name: string): Container | undefined {
  return containers.find((c) => c.name === name) ?? init.find((c) => c.name === name);
}
