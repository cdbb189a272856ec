/**
 * The agent's clock: the only place that reads time and arms timers, so tests can inject a
 * fake and the pure core always gets `now` as an argument.
 */

/** A cancellable timer. */
export interface Timer {
  cancel(): void;
}

/** Time source and timers (epoch milliseconds). */
export interface Clock {
  now(): number;
  /** Calls `fn` once at `at` (or at once if `at` is past). */
  at(at: number, fn: () => void): Timer;
}

/** The real clock. Timers are unref'd so a pending back-off never keeps the process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    const t = setTimeout(fn, Math.max(0, at - Date.now()));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};
