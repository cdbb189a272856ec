/**
 * Exact Kubernetes quantities (k8s.io/apimachinery `pkg/api/resource`), for the few rules that
 * need more than `quantity.ts`'s float value: the canonical spelling `Quantity.String()` (the
 * downward API divisor rule) and exact ceiling division (the kubelet's resource values).
 */
import type { Quantity } from './types.js';

/** A quantity as an exact decimal: `num × 10^exp`, with the format its suffix selects. */
export interface ExactQuantity {
  num: bigint;
  exp: number;
  format: 'DecimalSI' | 'BinarySI' | 'DecimalExponent';
}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const EXACT_FORMAT = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$/;
/** Exponents beyond this are refused (the decoder refuses them already, as non-finite). */
const MAX_EXPONENT = 400;

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/**
 * Parses a quantity exactly (apimachinery `ParseQuantity`), rounding up to nano units as
 * upstream does. `undefined` for what `parseQuantity` refuses, and for absurd exponents.
 */
export function parseExactQuantity(q: Quantity): ExactQuantity | undefined {
  const s = typeof q === 'number' ? (Number.isFinite(q) ? String(q) : '') : q;
  const m = EXACT_FORMAT.exec(s);
  if (!m) return undefined;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  const suffix = m[4] ?? '';
  if (int.length + frac.length === 0) return undefined;
  let num = BigInt(`${int}${frac}` || '0');
  if (m[1] === '-') num = -num;
  let exp = -frac.length;
  let format: ExactQuantity['format'] = 'DecimalSI';
  const binary = BINARY_SUFFIX.indexOf(suffix);
  if (suffix !== '' && binary > 0) {
    num *= 1024n ** BigInt(binary);
    format = 'BinarySI';
  } else if (Object.prototype.hasOwnProperty.call(DECIMAL_SUFFIX, suffix)) {
    exp += DECIMAL_SUFFIX[suffix] ?? 0;
  } else {
    const e = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!e || Math.abs(Number(e[1])) > MAX_EXPONENT) return undefined;
    exp += Number(e[1]);
    format = 'DecimalExponent';
  }
  if (Math.abs(exp) > MAX_EXPONENT) return undefined;
  if (exp < -9) {
    // Sub-nano precision is rounded up (away from zero), as upstream does.
    const d = pow10(-9 - exp);
    const r = num % d;
    num = num / d + (r > 0n ? 1n : r < 0n ? -1n : 0n);
    exp = -9;
  }
  return { num, exp, format };
}

/** The integer value of an exact quantity, when it is one. */
function integerValue(q: ExactQuantity): bigint | undefined {
  if (q.exp >= 0) return q.num * pow10(q.exp);
  const d = pow10(-q.exp);
  return q.num % d === 0n ? q.num / d : undefined;
}

/** `Quantity.String()`: the canonical spelling (`1000m` → `1`, `1024Ki` → `1Mi`, `1e3` stays). */
export function canonicalQuantity(q: ExactQuantity): string {
  if (q.num === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const v = integerValue(q);
    if (v === undefined || (v > -1024n && v < 1024n)) {
      format = 'DecimalSI';
    } else {
      let n = v;
      let k = 0;
      while (k < BINARY_SUFFIX.length - 1 && n % 1024n === 0n) {
        n /= 1024n;
        k++;
      }
      return `${n}${BINARY_SUFFIX[k] ?? ''}`;
    }
  }
  let n = q.num;
  let x = q.exp;
  while (n % 10n === 0n) {
    n /= 10n;
    x++;
  }
  const r = ((x % 3) + 3) % 3;
  if (r !== 0) {
    n *= pow10(r);
    x -= r;
  }
  if (format === 'DecimalExponent') return x === 0 ? `${n}` : `${n}e${x}`;
  if (x > 18) {
    n *= pow10(x - 18);
    x = 18;
  }
  const suffix = Object.keys(DECIMAL_SUFFIX).find((k) => DECIMAL_SUFFIX[k] === x) ?? '';
  return `${n}${suffix}`;
}

const INT64_MAX = 9223372036854775807n;

/**
 * `ceil(q / divisor)` exactly, saturated at the int64 maximum; 0 when either is not positive
 * (the kubelet's `convertQuantityToString`).
 */
export function ceilDivide(q: ExactQuantity, divisor: ExactQuantity): bigint {
  if (q.num <= 0n || divisor.num <= 0n) return 0n;
  const e = q.exp - divisor.exp;
  const n = e >= 0 ? q.num * pow10(e) : q.num;
  const d = e >= 0 ? divisor.num : divisor.num * pow10(-e);
  const out = (n + d - 1n) / d;
  return out > INT64_MAX ? INT64_MAX : out;
}
