/**
 * Kubernetes timestamps (`metav1.Time`): RFC 3339 in UTC with whole seconds, `2026-11-22T12:00:00Z`.
 */

/** Formats epoch milliseconds as a Kubernetes timestamp (the sub-second part is dropped). */
export function formatTimestamp(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
