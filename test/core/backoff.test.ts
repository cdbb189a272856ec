/** CrashLoopBackOff tables (spec §5) and Go duration rendering. */
import { describe, expect, it } from 'vitest';
import { checkBackoff, compileBackoffConfig, jitteredDelay, type BackoffEntry } from '../../src/core/backoff.js';
import { formatGoDuration, parseGoDuration } from '../../src/api/duration.js';
import { ctr, mkPod, Sim } from './harness.js';

const S = 1000;
const cfg = compileBackoffConfig(10 * S, 300 * S);

describe('§5.3 worked timeline (defaults; exits 2 s after each start; pod Always)', () => {
  // [t, F, expected outcome, entry after]
  const rows: { t: number; f: number; allowed: boolean; retryAt?: number; after?: BackoffEntry }[] = [
    { t: 2, f: 2, allowed: true, after: { delayMs: 10 * S, lastUpdate: 2 * S } },
    { t: 4, f: 4, allowed: false, retryAt: 14 },
    { t: 14, f: 4, allowed: true, after: { delayMs: 20 * S, lastUpdate: 14 * S } },
    { t: 16, f: 16, allowed: false, retryAt: 36 },
    { t: 36, f: 16, allowed: true, after: { delayMs: 40 * S, lastUpdate: 36 * S } },
    { t: 38, f: 38, allowed: false, retryAt: 78 },
    { t: 78, f: 38, allowed: true, after: { delayMs: 80 * S, lastUpdate: 78 * S } },
    { t: 80, f: 80, allowed: false, retryAt: 160 },
    { t: 160, f: 80, allowed: true, after: { delayMs: 160 * S, lastUpdate: 160 * S } },
    { t: 162, f: 162, allowed: false, retryAt: 322 },
    { t: 322, f: 162, allowed: true, after: { delayMs: 300 * S, lastUpdate: 322 * S } },
    { t: 324, f: 324, allowed: false, retryAt: 624 },
    { t: 624, f: 324, allowed: true, after: { delayMs: 300 * S, lastUpdate: 624 * S } },
    { t: 1284, f: 1284, allowed: true, after: { delayMs: 10 * S, lastUpdate: 1284 * S } },
  ];
  let entry: BackoffEntry | undefined;
  for (const r of rows) {
    it(`t=${r.t}s, F=${r.f}s -> ${r.allowed ? 'start' : `wait until ${r.retryAt}s`}`, () => {
      const d = checkBackoff(entry, r.f * S, r.t * S, cfg);
      expect(d.allowed).toBe(r.allowed);
      if (d.allowed) {
        expect(d.entry).toEqual(r.after);
        entry = d.entry;
      } else {
        expect(d.retryAt).toBe((r.retryAt ?? 0) * S);
      }
    });
  }

  it('the status messages of a crash loop show 10s, 20s, 40s, 1m20s, 2m40s, 5m0s, 5m0s', () => {
    const sim = new Sim(mkPod({ containers: [ctr('c')] })).sync();
    sim.advance(2 * S).exit('c', 1).sync(); // first restart immediate
    const msgs: string[] = [];
    for (let i = 0; i < 7; i++) {
      sim.advance(2 * S).exit('c', 1).sync();
      msgs.push(sim.cs('c').state.waiting?.message ?? '');
      expect(sim.cs('c').state.waiting?.reason).toBe('CrashLoopBackOff');
      expect(sim.status.phase).toBe('Running'); // §6.2 line 7
      sim.fireTimer();
    }
    expect(msgs.map((m) => m.split(' ')[1])).toEqual(['10s', '20s', '40s', '1m20s', '2m40s', '5m0s', '5m0s']);
    expect(sim.cs('c').restartCount).toBe(8);
  });
});

describe('§5.1 parameters and C3', () => {
  it('MAX below INITIAL lowers INITIAL to MAX', () => {
    expect(compileBackoffConfig(10 * S, 3 * S)).toEqual({ initialMs: 3 * S, maxMs: 3 * S, jitter: 0 });
  });

  it('0 disables the wait entirely', () => {
    const zero = compileBackoffConfig(0, 0);
    let e: BackoffEntry | undefined;
    for (let t = 1; t < 10; t++) {
      const d = checkBackoff(e, t, t, zero);
      expect(d.allowed).toBe(true);
      if (d.allowed) e = d.entry;
    }
  });

  it('sub-second settings work (100ms)', () => {
    const c = compileBackoffConfig(100, 1000);
    const first = checkBackoff(undefined, 0, 0, c);
    expect(first.allowed && first.entry.delayMs).toBe(100);
    const second = checkBackoff(first.allowed ? first.entry : undefined, 10, 10, c);
    expect(second).toEqual({ allowed: false, delayMs: 100, retryAt: 110 });
  });

  it('jitter only lengthens the wait, within [delay, delay x (1 + jitter)], deterministically', () => {
    const j = compileBackoffConfig(10 * S, 300 * S, 0.5);
    for (let k = 0; k < 200; k++) {
      const d = jitteredDelay(10 * S, j, `key-${k}`);
      expect(d).toBeGreaterThanOrEqual(10 * S);
      expect(d).toBeLessThanOrEqual(15 * S);
      expect(Number.isInteger(d)).toBe(true);
      expect(jitteredDelay(10 * S, j, `key-${k}`)).toBe(d);
    }
  });

  it('per-pod annotations replace the node-wide settings (§10.1)', () => {
    const sim = new Sim(mkPod({ annotations: { 'podvisor.io/backoff-initial': '250ms', 'podvisor.io/backoff-max': '1s' }, containers: [ctr('c')] })).sync();
    sim.exit('c', 1).sync();
    sim.advance(10).exit('c', 1).sync();
    expect(sim.cs('c').state.waiting?.message).toBe('back-off 250ms restarting failed container=c pod=p_default(uid-1)');
    expect(sim.wakeAt).toBe(sim.now + 250);
  });
});

describe('§5.4 pod-level back-off for resets', () => {
  it('resets at t=5, 10 and 25 restart at 5, 20 and 45', async () => {
    const { RA } = await import('./harness.js');
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('src', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] })] })).sync();
    const t0 = sim.now;
    const restartAt: number[] = [];
    for (const t of [5, 10, 25]) {
      sim.now = t0 + t * S;
      sim.exit('src', 42).sync();
      if (sim.wakeAt !== undefined) sim.fireTimer();
      restartAt.push((sim.now - t0) / S);
      expect(sim.cs('src').state.running).toBeDefined();
    }
    expect(restartAt).toEqual([5, 20, 45]);
  });
});

describe('Go durations', () => {
  const table: [number, string][] = [
    [0, '0s'], [100, '100ms'], [1500, '1.5s'], [10_000, '10s'], [80_000, '1m20s'], [160_000, '2m40s'],
    [300_000, '5m0s'], [600_000, '10m0s'], [3_600_000, '1h0m0s'], [5_400_500, '1h30m0.5s'], [0.5, '500µs'],
  ];
  for (const [ms, s] of table) it(`${ms} ms -> ${s}`, () => expect(formatGoDuration(ms)).toBe(s));

  const parse: [string, number | undefined][] = [
    ['10m', 600_000], ['90s', 90_000], ['1h30m', 5_400_000], ['1.5s', 1500], ['100ms', 100], ['0', 0], ['-1s', -1000],
    ['soon', undefined], ['', undefined], ['10', undefined], ['1d', undefined], ['5m0s', 300_000],
  ];
  for (const [s, ms] of parse) it(`parse ${JSON.stringify(s)} -> ${ms}`, () => expect(parseGoDuration(s)).toBe(ms));
});
