/**
 * Kubernetes resource quantities (`500m`, `128Mi`, `1e3`, `2`), as k8s.io/apimachinery
 * `pkg/api/resource` parses them. podvisor keeps the manifest's spelling and only needs the
 * numeric value (for sign, integer and request ≤ limit checks), so values are JS numbers.
 */

/** The API server's message for a quantity that does not match the overall syntax. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/** The API server's message for a bad numeric part (e.g. `1.2.3`). */
export const QUANTITY_NUMERIC_ERROR = 'unable to parse numeric part of quantity';
/** The API server's message for a suffix that passes the format check but is unknown (e.g. `1kk`). */
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const FORMAT = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Result of {@link parseQuantity}: the value, or the API server's error message. */
export type QuantityParse = { ok: true; value: number } | { ok: false; error: string };

/**
 * Parses a quantity given as a string or a JSON number. Never throws. The value is a float
 * approximation, exact for every quantity a pod realistically uses.
 */
export function parseQuantity(q: string | number): QuantityParse {
  const s = typeof q === 'number' ? (Number.isFinite(q) ? String(q) : '') : q;
  const m = FORMAT.exec(s);
  if (!m) return { ok: false, error: QUANTITY_FORMAT_ERROR };
  const num = m[1] ?? '';
  const suffix = m[2] ?? '';
  const body = num.replace(/^[+-]/, '');
  if (!/^(\d+\.?\d*|\.\d+)$/.test(body)) return { ok: false, error: QUANTITY_NUMERIC_ERROR };
  let mult: number | undefined = SUFFIX[suffix];
  if (mult === undefined) {
    const e = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!e) return { ok: false, error: QUANTITY_SUFFIX_ERROR };
    mult = 10 ** Number(e[1]);
  }
  const value = Number(num) * mult;
  if (!Number.isFinite(value)) return { ok: false, error: QUANTITY_NUMERIC_ERROR };
  return { ok: true, value };
}

/** The quantity as the manifest spelled it (numbers printed as Go's quantity would). */
export function quantityString(q: string | number): string {
  return typeof q === 'number' ? String(q) : q;
}
