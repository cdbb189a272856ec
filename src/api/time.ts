/**
 * Kubernetes timestamps (`metav1.Time`): RFC 3339 in UTC with whole seconds, `2026-11-22T12:00:00Z`.
 */

/** The first and last instants RFC 3339 can write (years 0001 to 9999), epoch ms. */
const MIN_MS = new Date('0001-01-01T00:00:00Z').getTime();
const MAX_MS = new Date('9999-12-31T23:59:59Z').getTime();

/**
 * Formats epoch milliseconds as a Kubernetes timestamp (the sub-second part is dropped).
 * Instants outside years 0001-9999 (a deadline a huge grace period puts ages ahead) are
 * clamped to them: `toISOString` throws beyond ±8.64e15 ms, and RFC 3339 has four-digit years.
 */
export function formatTimestamp(ms: number): string {
  const t = Number.isNaN(ms) ? MAX_MS : Math.min(Math.max(ms, MIN_MS), MAX_MS);
  return `${new Date(Math.floor(t / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
