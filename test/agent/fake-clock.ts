/** A fake clock for agent tests: timers fire only when the test advances time, in order. */
import type { Clock, Timer } from '../../src/agent/clock.js';

/** Lets pending promise callbacks and immediates run (the agent's work between events). */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

export class FakeClock implements Clock {
  t = Date.UTC(2026, 10, 22, 12, 0, 0);
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  at(at: number, fn: () => void): Timer {
    const e = { at, fn, live: true };
    this.timers.push(e);
    return { cancel: () => void (e.live = false) };
  }
  /** Advances to `to`, firing due timers in order and letting the agent react after each. */
  async advanceTo(to: number): Promise<void> {
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= to).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
      await settle();
    }
    this.t = to;
  }
  /** Advances by `ms`. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
  /** The times of the timers still armed, ascending. */
  pending(): number[] {
    return this.timers.filter((x) => x.live).map((x) => x.at).sort((a, b) => a - b);
  }
}
