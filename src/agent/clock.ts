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

/**
 * The real clock. Timers keep the process alive: a pod waiting out a back-off is still being
 * supervised. Long delays are re-armed in steps because setTimeout caps at ~24.8 days.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    let t: ReturnType<typeof setTimeout>;
    const arm = (): void => {
      const d = at - Date.now();
      t = setTimeout(d > 2 ** 31 - 1 ? arm : fn, Math.min(Math.max(0, d), 2 ** 31 - 1));
    };
    arm();
    return { cancel: () => clearTimeout(t) };
  },
};
