/**
 * `Warning` response headers (RFC 7234 code 299), as the API server's warning recorder writes
 * them (`k8s.io/apiserver/pkg/endpoints/filters/warning.go`): each text once, and when the
 * texts together pass {@link MAX_WARNING_RUNES} characters, each is cut to
 * {@link MAX_WARNING_ITEM_RUNES} and those beyond the total are dropped. A body with a
 * hundred thousand unknown fields thus gets a few kilobytes of warnings, not megabytes.
 */

/** Total warning text before truncation starts (`truncateAtTotalRunes`). */
export const MAX_WARNING_RUNES = 4 * 1024;
/** Length of each warning once truncating (`truncateItemRunes`). */
export const MAX_WARNING_ITEM_RUNES = 256;

/** One header value: `299 - "<text>"`, non-ASCII replaced, quotes and backslashes escaped. */
function header(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (c) => `\\${c}`);
  return `299 - "${t}"`;
}

/** The `Warning` header values for `texts` (deduplicated, truncated as described above). */
export function warningHeaders(texts: readonly string[]): string[] {
  const unique = [...new Set(texts.filter((t) => t !== ''))];
  const total = unique.reduce((n, t) => n + [...t].length, 0);
  if (total <= MAX_WARNING_RUNES) return unique.map(header);
  const out: string[] = [];
  let written = 0;
  for (const t of unique) {
    if (written >= MAX_WARNING_RUNES) break;
    const runes = [...t];
    const cut = runes.length > MAX_WARNING_ITEM_RUNES ? runes.slice(0, MAX_WARNING_ITEM_RUNES).join('') : t;
    written += Math.min(runes.length, MAX_WARNING_ITEM_RUNES);
    out.push(header(cut));
  }
  return out;
}
