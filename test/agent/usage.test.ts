/**
 * Resource usage for `kubectl top`: rates from cumulative counters over a window (sampled only
 * when asked, the first time with a short pause between two readings), the host's counters
 * from /proc, and the node agent's pod and node usage over a fake runtime and a fake clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostCpuNanos, hostWorkingSet, usageRate, UsageRates } from '../../src/agent/metrics.js';
import { NodeAgent } from '../../src/agent/node.js';
import type { PodConfig } from '../../src/agent/pod-config.js';
import type { Pod } from '../../src/api/types.js';
import type { PodState } from '../../src/core/model.js';
import type { ContainerStats } from '../../src/runtime/types.js';
import { FileStore } from '../../src/store/file-store.js';
import { admitted } from './admit.js';
import { FakeClock, settle } from './fake-clock.js';
import { FakeRuntime } from './fake-runtime.js';

const reading = (timestamp: number, cpuUsageNanos: number, memoryWorkingSetBytes = 4096): ContainerStats => ({ timestamp, cpuUsageNanos, memoryWorkingSetBytes });

describe('usage rate between two readings', () => {
  it('is the CPU time used per second of the window (nanocores), with the newer memory reading', () => {
    expect(usageRate(reading(1000, 0, 1), reading(1200, 100e6, 2))).toEqual({ timestamp: 1200, windowMs: 200, cpuNanoCores: 500e6, memoryWorkingSetBytes: 2 });
  });
  it('is undefined for an empty window or a counter that went back (another container)', () => {
    expect(usageRate(reading(1000, 5), reading(1000, 10))).toBeUndefined();
    expect(usageRate(reading(1000, 50), reading(2000, 10))).toBeUndefined();
  });
});

/** Scripted counters: each key's readings in order; a `sleep` that advances the scripted time. */
function scripted(series: Record<string, (ContainerStats | undefined)[]>) {
  const sleeps: number[] = [];
  const reads: string[] = [];
  const rates = new UsageRates({ sleep: (ms) => { sleeps.push(ms); return Promise.resolve(); } });
  const read = (k: string): Promise<ContainerStats | undefined> => {
    reads.push(k);
    return Promise.resolve(series[k]?.shift());
  };
  return { rates, read, sleeps, reads };
}

describe('usage rates on request', () => {
  it('the first request reads every counter twice, 200 ms apart, and rates over that pause', async () => {
    const s = scripted({ a: [reading(0, 0), reading(200, 200e6)], b: [reading(0, 0), reading(200, 0)] });
    const r = await s.rates.rates(['a', 'b'], s.read);
    expect(s.sleeps).toEqual([200]);
    expect(r.get('a')).toMatchObject({ windowMs: 200, cpuNanoCores: 1e9 });
    expect(r.get('b')).toMatchObject({ windowMs: 200, cpuNanoCores: 0 });
  });

  it('a later request reads once and rates over the time since the last reading', async () => {
    const s = scripted({ a: [reading(0, 0), reading(200, 100e6), reading(10_200, 2_100e6)] });
    await s.rates.rates(['a'], s.read);
    const r = await s.rates.rates(['a'], s.read);
    expect(s.sleeps).toEqual([200]);
    expect(r.get('a')).toMatchObject({ timestamp: 10_200, windowMs: 10_000, cpuNanoCores: 200e6 });
  });

  it('measures a fresh window when the last reading is too recent or too old, or the counter went back', async () => {
    const s = scripted({
      a: [reading(0, 0), reading(200, 0), reading(300, 0), reading(500, 100e6), reading(200_000, 5e9), reading(200_200, 5.1e9), reading(201_200, 1e6), reading(201_400, 21e6)],
    });
    await s.rates.rates(['a'], s.read);
    expect((await s.rates.rates(['a'], s.read)).get('a')).toMatchObject({ windowMs: 200, cpuNanoCores: 500e6 }); // 100 ms after: fresh
    expect((await s.rates.rates(['a'], s.read)).get('a')).toMatchObject({ windowMs: 200, cpuNanoCores: 500e6 }); // 199.5 s after: fresh
    expect((await s.rates.rates(['a'], s.read)).get('a')).toMatchObject({ windowMs: 200, cpuNanoCores: 100e6 }); // went back: fresh
    expect(s.sleeps).toEqual([200, 200, 200, 200]);
  });

  it('leaves out keys without readings (no cgroup, or gone between the two readings)', async () => {
    const s = scripted({ a: [reading(0, 0), undefined], b: [] });
    const r = await s.rates.rates(['a', 'b'], s.read);
    expect(r.size).toBe(0);
    expect(s.reads).toEqual(['a', 'b', 'a']);
  });

  it('forgets readings older than the longest window', async () => {
    const s = scripted({ a: [reading(0, 0), reading(200, 0)], b: [reading(100_000, 0), reading(100_200, 0)] });
    await s.rates.rates(['a'], s.read);
    expect(s.rates.size).toBe(1);
    await s.rates.rates(['b'], s.read);
    expect(s.rates.size).toBe(1);
  });
});

describe('host usage from /proc', () => {
  it('busy CPU time is user + nice + system + irq + softirq + steal, in USER_HZ ticks', () => {
    const stat = 'cpu  100 20 30 5000 40 5 6 7 0 0\ncpu0 50 10 15 2500 20 2 3 3 0 0\nintr 1 2\n';
    expect(hostCpuNanos(stat)).toBe((100 + 20 + 30 + 5 + 6 + 7) * 10_000_000);
    expect(hostCpuNanos('intr 1\n')).toBeUndefined();
  });
  it('the working set is MemTotal - MemFree - Inactive(file)', () => {
    const meminfo = 'MemTotal:       16000000 kB\nMemFree:         4000000 kB\nMemAvailable:   9000000 kB\nInactive(file):  2000000 kB\n';
    expect(hostWorkingSet(meminfo)).toBe(10_000_000 * 1024);
    expect(hostWorkingSet('MemTotal: 1 kB\n')).toBeUndefined();
  });
});

describe('node agent usage', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A fake runtime whose containers report scripted counters (by container name). */
  class StatsRuntime extends FakeRuntime {
    counters = new Map<string, (now: number) => ContainerStats | undefined>();
    constructor(readonly fakeClock: FakeClock) {
      super(fakeClock);
    }
    stats(id: string): Promise<ContainerStats | undefined> {
      const inst = this.instances.find((i) => i.id === id);
      return Promise.resolve(inst && !inst.exited ? this.counters.get(inst.name)?.(this.fakeClock.now()) : undefined);
    }
  }

  const pod = (name: string, namespace = 'default', containers = ['c']): Pod => admitted({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace },
    spec: { containers: containers.map((c) => ({ name: c, image: 'busybox', command: ['x'] })) },
  });

  async function setup(opts: { stats?: boolean; host?: () => Promise<ContainerStats | undefined>; config?: PodConfig } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'podvisor-agent-usage-'));
    dirs.push(dir);
    const clock = new FakeClock();
    const rt = opts.stats === false ? new FakeRuntime(clock) : new StatsRuntime(clock);
    const store = new FileStore<PodState>(dir);
    store.open();
    const agent = new NodeAgent({
      store, runtime: rt, clock, core: { backoffInitialMs: 10_000, backoffMaxMs: 300_000 },
      ...(opts.host ? { hostUsage: opts.host } : {}), ...(opts.config ? { config: opts.config } : {}),
    });
    await agent.start();
    return { clock, rt, agent };
  }

  /** Runs a request that pauses on the clock: lets it read, then advances past the pause. */
  async function measured<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
    await settle();
    await clock.advance(200);
    return p;
  }

  it('reports each running pod\'s containers: CPU over the window, working set, per namespace on request', async () => {
    const t = await setup();
    const rt = t.rt as StatsRuntime;
    const start = t.clock.now();
    // busy: one core; idle: nothing; both 1 MiB.
    rt.counters.set('busy', (now) => reading(now, (now - start) * 1e6, 1 << 20));
    rt.counters.set('idle', (now) => reading(now, 5e6, 1 << 20));
    t.agent.createPod(pod('web', 'default', ['busy', 'idle']));
    t.agent.createPod(pod('other', 'team'));
    await settle();
    rt.counters.set('c', (now) => reading(now, 0, 8192));

    const all = await measured(t.clock, t.agent.podMetrics());
    expect(all.map((p) => `${p.namespace}/${p.name}`).sort()).toEqual(['default/web', 'team/other']);
    const web = all.find((p) => p.name === 'web');
    expect(web).toMatchObject({ windowMs: 200, timestamp: start + 200 });
    expect(web?.containers).toEqual([
      { name: 'busy', cpuNanoCores: 1e9, memoryWorkingSetBytes: 1 << 20 },
      { name: 'idle', cpuNanoCores: 0, memoryWorkingSetBytes: 1 << 20 },
    ]);

    // 10 s later: no pause, the window is the time since the last request.
    await t.clock.advance(10_000);
    const again = await t.agent.podMetrics('default');
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ name: 'web', windowMs: 10_000, timestamp: start + 10_200 });
    expect(again[0]?.containers[0]).toMatchObject({ name: 'busy', cpuNanoCores: 1e9 });
  });

  it('leaves out pods without usage: exited containers, a runtime without stats', async () => {
    const t = await setup();
    t.agent.createPod(admitted({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'done', namespace: 'default' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['x'] }] } }));
    await settle();
    (t.rt as StatsRuntime).counters.set('c', (now) => reading(now, 0));
    t.rt.instances[0]?.exit(0);
    await settle();
    expect(await measured(t.clock, t.agent.podMetrics())).toEqual([]);

    const u = await setup({ stats: false });
    u.agent.createPod(pod('web'));
    await settle();
    expect(await u.agent.podMetrics()).toEqual([]);
  });

  it('reports the node\'s usage from the host counters, and the node\'s facts', async () => {
    // The host's counters: two cores busy since the agent started (set once it has a clock).
    const host: { clock?: FakeClock; start: number } = { start: 0 };
    const config: PodConfig = {
      lookups: { configMap: () => undefined, secret: () => undefined },
      writer: { write: () => Promise.resolve({ changed: false }) },
      node: { nodeName: 'podvisor', hostIPs: ['127.0.0.1'], allocatable: { cpu: '2', memory: '4096Mi' } },
    };
    const t = await setup({ host: () => Promise.resolve(host.clock ? reading(host.clock.now(), (host.clock.now() - host.start) * 2e6, 1 << 30) : undefined), config });
    host.clock = t.clock;
    host.start = t.clock.now();
    const start = host.start;
    expect(await measured(t.clock, t.agent.nodeMetrics())).toEqual({ name: 'podvisor', timestamp: start + 200, windowMs: 200, cpuNanoCores: 2e9, memoryWorkingSetBytes: 1 << 30 });
    expect(t.agent.nodeInfo()).toEqual({ name: 'podvisor', since: start, addresses: ['127.0.0.1'], allocatable: { cpu: '2', memory: '4096Mi' }, runtime: 'fake' });

    const none = await setup({ host: () => Promise.resolve(undefined) });
    expect(await none.agent.nodeMetrics()).toBeUndefined();
  });
});
