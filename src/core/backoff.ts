/**
 * CrashLoopBackOff (spec §5): one entry per container (and one per pod for resets, §5.4),
 * exponential from INITIAL, doubling, capped at MAX, reset after a run longer than the RESET
 * window. Pure: time is an argument.
 */

/** A backoff entry, durable pod state (C1). Times are epoch milliseconds. */
export interface BackoffEntry {
  /** The delay a further restart inside the window waits, ms. */
  delayMs: number;
  /** When the entry was last advanced (a start it allowed). */
  lastUpdate: number;
}

/** Compiled backoff parameters (§5.1). */
export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
  /** Jitter fraction 0..1 (§10.1); only lengthens the wait. */
  jitter: number;
}

/** The RESET window of §5.1: 600 s. */
export const BACKOFF_RESET_WINDOW_MS = 600_000;
/** Kubernetes defaults (D1). */
export const DEFAULT_BACKOFF_INITIAL_MS = 10_000;
export const DEFAULT_BACKOFF_MAX_MS = 300_000;

/** Applies the rule "if MAX < INITIAL, INITIAL is lowered to MAX" (§5.1). */
export function compileBackoffConfig(initialMs: number, maxMs: number, jitter = 0): BackoffConfig {
  return { initialMs: Math.min(initialMs, maxMs), maxMs, jitter };
}

/** Outcome of {@link checkBackoff}. */
export type BackoffDecision =
  | { allowed: true; entry: BackoffEntry }
  | { allowed: false; delayMs: number; retryAt: number };

/**
 * Deterministic jitter sample in [0, 1) for a key, so the core stays pure and a replay after a
 * podvisor restart waits exactly as long as the first evaluation did.
 */
export function jitterSample(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) / 4294967296;
}

/** The delay actually waited: uniform in [delay, delay × (1 + jitter)], whole milliseconds. */
export function jitteredDelay(delayMs: number, cfg: BackoffConfig, key: string): number {
  if (cfg.jitter <= 0 || delayMs <= 0) return delayMs;
  return Math.round(delayMs * (1 + cfg.jitter * jitterSample(key)));
}

/**
 * §5.2 steps 2-3. `finishedAt` (F) is the finish time of the newest exited instance (for a
 * reset: its event time), `now` the current time. Allowed starts return the advanced entry.
 */
export function checkBackoff(
  entry: BackoffEntry | undefined,
  finishedAt: number,
  now: number,
  cfg: BackoffConfig,
  jitterKey = '',
): BackoffDecision {
  if (entry && finishedAt - entry.lastUpdate <= BACKOFF_RESET_WINDOW_MS) {
    const wait = jitteredDelay(entry.delayMs, cfg, `${jitterKey}@${finishedAt}`);
    if (now - finishedAt < wait) return { allowed: false, delayMs: wait, retryAt: finishedAt + wait };
  }
  let delayMs: number;
  if (!entry || finishedAt - entry.lastUpdate > BACKOFF_RESET_WINDOW_MS) delayMs = cfg.initialMs;
  else delayMs = Math.min(2 * entry.delayMs, cfg.maxMs);
  return { allowed: true, entry: { delayMs, lastUpdate: now } };
}
