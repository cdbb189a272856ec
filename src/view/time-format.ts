/** Times and spans as the timeline prints them (UTC, so a report reads the same everywhere). */

/** `350ms`, `4.2s`, `1m30s`, `2h5m`, `3d4h`. */
export function formatSpan(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)}ms`;
  if (v < 10_000) return `${(v / 1000).toFixed(1).replace(/\.0$/, '')}s`;
  const s = Math.round(v / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
}

/** `20:31:05.120Z`, or with the date `2026-12-07 20:31:05Z`. */
export function formatTime(t: number, withDate = false): string {
  const iso = new Date(t).toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : `${iso.slice(11, 23)}Z`;
}

const STEPS = [
  100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
];

/** The smallest round tick step that shows at most `maxTicks` ticks over `range` ms. */
export function niceStep(range: number, maxTicks: number): number {
  const n = Math.max(1, Math.floor(maxTicks));
  for (const s of STEPS) if (range / s <= n) return s;
  return Math.ceil(range / n / 604_800_000) * 604_800_000;
}
