/**
 * Go `time.Duration` syntax, as Kubernetes and the spec use it (`10s`, `1m20s`, `5m0s`, `100ms`).
 * podvisor works in milliseconds; sub-millisecond parts are rounded.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`, `0`) into milliseconds.
 * Returns `undefined` for anything Go's `time.ParseDuration` would reject.
 */
export function parseGoDuration(input: string): number | undefined {
  let s = input;
  if (s === '') return undefined;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/u;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return undefined;
    const num = Number(m[1]);
    const unit = UNIT_MS[m[2] as string];
    if (!Number.isFinite(num) || unit === undefined) return undefined;
    total += num * unit;
    s = s.slice(m[0].length);
  }
  if (!Number.isFinite(total) || total > 9.2e15) return undefined;
  return sign * Math.round(total * 1000) / 1000;
}

/** Parses the CLI's duration flags: a Go duration, or a bare number of seconds. */
export function parseDurationFlag(input: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(input)) return Math.round(Number(input) * 1000);
  return parseGoDuration(input);
}

function fmtFrac(v: number, unitDigits: number): string {
  // v is an integer count of the smallest unit; print v / 10^unitDigits without trailing zeros.
  const whole = Math.floor(v / 10 ** unitDigits);
  let frac = String(v % 10 ** unitDigits).padStart(unitDigits, '0').replace(/0+$/, '');
  if (unitDigits === 0) frac = '';
  return frac === '' ? String(whole) : `${whole}.${frac}`;
}

/**
 * Formats milliseconds as Go's `Duration.String()` does: `0s`, `100ms`, `1.5s`, `10s`,
 * `1m20s`, `5m0s`, `1h0m0s`. Fractions of a millisecond are rounded to microseconds.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const neg = ms < 0;
  const us = Math.round(Math.abs(ms) * 1000); // microseconds
  let out: string;
  if (us === 0) {
    out = '0s';
  } else if (us < 1000) {
    out = `${us}µs`;
  } else if (us < 1_000_000) {
    out = `${fmtFrac(us, 3)}ms`;
  } else {
    const h = Math.floor(us / 3_600_000_000);
    const rem = us - h * 3_600_000_000;
    const m = Math.floor(rem / 60_000_000);
    const sUs = rem - m * 60_000_000;
    const sec = `${fmtFrac(sUs, 6)}s`;
    if (h > 0) out = `${h}h${m}m${sec}`;
    else if (m > 0) out = `${m}m${sec}`;
    else out = sec;
  }
  return neg ? `-${out}` : out;
}
