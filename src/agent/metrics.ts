/**
 * Metrics of the node agent:
 * - Prometheus metrics (prom-client): the kube-state-metrics series users already alert on,
 *   and podvisor's own restart counters and restart-duration histogram;
 * - resource usage rates (metrics.k8s.io, `kubectl top`): {@link UsageRates} turns readings of
 *   cumulative CPU counters (the runtime's cgroups, the host's `/proc/stat`) into rates over a
 *   window, as metrics-server does with the kubelet's, sampling only when asked.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pod, PodPhase } from '../api/types.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';
import type { ContainerStats } from '../runtime/types.js';

const PHASES: PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

type Labels = Record<string, string>;

/** The metrics of one podvisor process. */
export class PodvisorMetrics {
  readonly registry = new Registry();
  private readonly restartsTotal: Counter;
  private readonly lastReason: Gauge;
  private readonly lastExit: Gauge;
  private readonly phase: Gauge;
  private readonly restartsByLevel: Counter;
  private readonly inPlace: Counter;
  private readonly recreations: Counter;
  private readonly budget: Counter;
  private readonly duration: Histogram;
  /** Known restartCount and last-terminated reason per container series, to update by deltas. */
  private readonly seen = new Map<string, { restarts: number; reason?: string; labels: Labels }>();
  private readonly podLabels = new Map<string, Labels>();

  constructor() {
    const registers = [this.registry];
    this.restartsTotal = new Counter({ name: 'kube_pod_container_status_restarts_total', help: 'The number of container restarts per container.', labelNames: ['namespace', 'pod', 'uid', 'container'], registers });
    this.lastReason = new Gauge({ name: 'kube_pod_container_status_last_terminated_reason', help: 'Describes the last reason the container was in terminated state.', labelNames: ['namespace', 'pod', 'uid', 'container', 'reason'], registers });
    this.lastExit = new Gauge({ name: 'kube_pod_container_status_last_terminated_exitcode', help: 'Describes the exit code for the last container in terminated state.', labelNames: ['namespace', 'pod', 'uid', 'container'], registers });
    this.phase = new Gauge({ name: 'kube_pod_status_phase', help: 'The pods current phase.', labelNames: ['namespace', 'pod', 'uid', 'phase'], registers });
    this.restartsByLevel = new Counter({ name: 'podvisor_restarts_total', help: 'Restarts by level (container, pod, recreate) and trigger.', labelNames: ['namespace', 'pod', 'level', 'trigger'], registers });
    this.inPlace = new Counter({ name: 'podvisor_pod_inplace_restarts_total', help: 'In-place restarts of all containers of a pod.', labelNames: ['namespace', 'pod'], registers });
    this.recreations = new Counter({ name: 'podvisor_pod_recreations_total', help: 'Re-creations of a pod (new UID, fresh sandbox).', labelNames: ['namespace', 'pod'], registers });
    this.budget = new Counter({ name: 'podvisor_restart_budget_exhaustions_total', help: 'Restart budgets exceeded, by the rung escalated to.', labelNames: ['namespace', 'pod', 'rung'], registers });
    this.duration = new Histogram({
      name: 'podvisor_restart_duration_seconds', help: 'How long a restart took: exit (or reset start) until running again.',
      labelNames: ['level'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers,
    });
  }

  /** Updates the per-pod series from a published pod. */
  observePod(pod: Pod): void {
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    const uid = pod.metadata.uid ?? '';
    const podLabels = { namespace: ns, pod: name, uid };
    this.podLabels.set(uid, podLabels);
    const phase = pod.status?.phase ?? 'Pending';
    for (const p of PHASES) this.phase.set({ ...podLabels, phase: p }, p === phase ? 1 : 0);
    for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const labels = { ...podLabels, container: c.name };
      const key = `${uid}/${c.name}`;
      const prev: { restarts: number; reason?: string; labels: Labels } = this.seen.get(key) ?? { restarts: 0, labels };
      if (!this.seen.has(key)) this.restartsTotal.inc(labels, 0);
      if (c.restartCount > prev.restarts) this.restartsTotal.inc(labels, c.restartCount - prev.restarts);
      prev.restarts = Math.max(prev.restarts, c.restartCount);
      const t = c.lastState.terminated ?? c.state.terminated;
      if (t) {
        const reason = t.reason ?? 'Unknown';
        if (prev.reason !== undefined && prev.reason !== reason) this.lastReason.remove({ ...labels, reason: prev.reason });
        this.lastReason.set({ ...labels, reason }, 1);
        this.lastExit.set(labels, t.exitCode);
        prev.reason = reason;
      }
      this.seen.set(key, prev);
    }
  }

  /** Removes the series of a pod instance that is gone (deleted, or replaced by a re-creation). */
  forgetPod(uid: string): void {
    const podLabels = this.podLabels.get(uid);
    if (!podLabels) return;
    for (const p of PHASES) this.phase.remove({ ...podLabels, phase: p });
    for (const [key, v] of this.seen) {
      if (!key.startsWith(`${uid}/`)) continue;
      this.restartsTotal.remove(v.labels);
      this.lastExit.remove(v.labels);
      if (v.reason !== undefined) this.lastReason.remove({ ...v.labels, reason: v.reason });
      this.seen.delete(key);
    }
    this.podLabels.delete(uid);
  }

  /** Counts a restart record. */
  observeRestart(n: RestartNotice): void {
    const labels = { namespace: n.namespace, pod: n.pod };
    this.restartsByLevel.inc({ ...labels, level: n.level, trigger: n.trigger });
    if (n.level === 'pod') this.inPlace.inc(labels);
    if (n.level === 'recreate') this.recreations.inc(labels);
    if (n.latencyMs !== undefined) this.duration.observe({ level: n.level }, n.latencyMs / 1000);
  }

  /** Counts budget exhaustions from their events (§10.3): the rung comes with the event as a value. */
  observeEvent(e: RecordedEvent): void {
    if (e.escalation === undefined) return;
    this.budget.inc({ namespace: e.involvedObject.namespace, pod: e.involvedObject.name, rung: e.escalation });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

// ------------------------------------------------------------------ resource usage (kubectl top)

/** A usage rate over a window: what metrics.k8s.io serves for a container or a node. */
export interface UsageRate {
  /** End of the window (the newer reading), epoch ms. */
  timestamp: number;
  /** Length of the window, ms. */
  windowMs: number;
  /** Average CPU use over the window, billionths of a core. */
  cpuNanoCores: number;
  /** Memory working set at the window's end, bytes. */
  memoryWorkingSetBytes: number;
}

/**
 * The rate between two readings of one counter (metrics-server's `resourceUsage`): undefined
 * when the window is empty or negative, or the CPU counter went back (not the same container).
 */
export function usageRate(prev: ContainerStats, cur: ContainerStats): UsageRate | undefined {
  const windowMs = cur.timestamp - prev.timestamp;
  const cpuNanos = cur.cpuUsageNanos - prev.cpuUsageNanos;
  if (!(windowMs > 0) || cpuNanos < 0) return undefined;
  return { timestamp: cur.timestamp, windowMs, cpuNanoCores: Math.round(cpuNanos / (windowMs / 1000)), memoryWorkingSetBytes: cur.memoryWorkingSetBytes };
}

/** Options of {@link UsageRates}, compiled once. */
export interface UsageRatesOptions {
  /** Waits `ms` (the agent's clock): the pause between the two readings of a fresh window. */
  sleep(ms: number): Promise<void>;
  /** Shortest window, ms (default 200): a fresh window is this long. */
  minWindowMs?: number;
  /** Longest window, ms (default 60 s): an older reading is not used (its average is stale). */
  maxWindowMs?: number;
}

/** Default shortest window: the pause of a fresh measurement. */
export const MIN_USAGE_WINDOW_MS = 200;
/** Default longest window: beyond it a fresh window is measured. */
export const MAX_USAGE_WINDOW_MS = 60_000;

/**
 * Usage rates on request, with no timer in the background: each request reads every counter
 * once, and the rate of a key is taken against its reading kept from an earlier request when
 * that one is between the shortest and the longest window old. Keys without such a reading
 * (new containers, the first request, requests too close together or far apart) are read a
 * second time after the shortest window, and rated over that pause. The newest reading of
 * each key is kept for the next request; readings older than the longest window are dropped.
 */
export class UsageRates {
  private readonly last = new Map<string, ContainerStats>();
  private readonly minWindowMs: number;
  private readonly maxWindowMs: number;

  constructor(private readonly o: UsageRatesOptions) {
    this.minWindowMs = o.minWindowMs ?? MIN_USAGE_WINDOW_MS;
    this.maxWindowMs = o.maxWindowMs ?? MAX_USAGE_WINDOW_MS;
  }

  /** Rates of the keys `read` has a reading for (undefined: none, e.g. an exited container). */
  async rates(keys: readonly string[], read: (key: string) => Promise<ContainerStats | undefined>): Promise<Map<string, UsageRate>> {
    const readAll = async (ks: readonly string[]): Promise<Map<string, ContainerStats>> => {
      const got = await Promise.all(ks.map(async (k) => [k, await read(k).catch(() => undefined)] as const));
      return new Map(got.filter((e): e is readonly [string, ContainerStats] => e[1] !== undefined));
    };
    const out = new Map<string, UsageRate>();
    const first = await readAll(keys);
    const fresh: string[] = [];
    for (const [k, cur] of first) {
      const prev = this.last.get(k);
      const age = prev === undefined ? undefined : cur.timestamp - prev.timestamp;
      const rate = prev !== undefined && age !== undefined && age >= this.minWindowMs && age <= this.maxWindowMs ? usageRate(prev, cur) : undefined;
      if (rate) out.set(k, rate);
      else fresh.push(k);
      this.last.set(k, cur);
    }
    if (fresh.length > 0) {
      await this.o.sleep(this.minWindowMs);
      for (const [k, cur] of await readAll(fresh)) {
        const prev = first.get(k);
        const rate = prev === undefined ? undefined : usageRate(prev, cur);
        if (rate) out.set(k, rate);
        this.last.set(k, cur);
      }
    }
    this.forgetOlderThan(Math.max(...[...first.values()].map((s) => s.timestamp)) - this.maxWindowMs);
    return out;
  }

  /** Drops readings taken before `t` (epoch ms): they would never be used again. */
  private forgetOlderThan(t: number): void {
    if (!Number.isFinite(t)) return;
    for (const [k, s] of this.last) if (s.timestamp < t) this.last.delete(k);
  }

  /** How many readings are kept (for tests). */
  get size(): number {
    return this.last.size;
  }
}

/**
 * The kernel's clock ticks per second in `/proc/stat` (`USER_HZ`): 100 on every Linux
 * architecture Node runs on (it is part of the ABI, independent of the kernel's `HZ`).
 */
const USER_HZ = 100;

/**
 * CPU time the host spent busy since boot (ns), from the `cpu` line of `/proc/stat`: user, nice,
 * system, irq, softirq and steal (guest time is already in user and nice; idle and iowait are
 * not busy). Undefined when the line is missing.
 */
export function hostCpuNanos(procStat: string): number | undefined {
  const m = /^cpu\s+(.*)$/m.exec(procStat);
  if (!m) return undefined;
  const f = (m[1] as string).trim().split(/\s+/).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return undefined;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) * (1e9 / USER_HZ);
}

/**
 * The host's memory working set (bytes) from `/proc/meminfo`, defined as for a cgroup: used
 * memory (`MemTotal - MemFree`) minus the inactive file cache (`Inactive(file)`). Undefined
 * when a field is missing.
 */
export function hostWorkingSet(meminfo: string): number | undefined {
  const kb = (field: string): number | undefined => {
    const m = new RegExp(`^${field.replace(/[()]/g, '\\$&')}:\\s+(\\d+) kB$`, 'm').exec(meminfo);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb('MemTotal');
  const free = kb('MemFree');
  const inactiveFile = kb('Inactive(file)');
  if (total === undefined || free === undefined || inactiveFile === undefined) return undefined;
  return Math.max(0, total - free - inactiveFile);
}

/** The host's usage now, from `/proc/stat` and `/proc/meminfo`; undefined off Linux or when unreadable. */
export async function readHostUsage(): Promise<ContainerStats | undefined> {
  try {
    const stat = await readFile('/proc/stat', 'utf8');
    const timestamp = performance.timeOrigin + performance.now();
    const cpu = hostCpuNanos(stat);
    const memory = hostWorkingSet(await readFile('/proc/meminfo', 'utf8'));
    if (cpu === undefined || memory === undefined) return undefined;
    return { timestamp, cpuUsageNanos: cpu, memoryWorkingSetBytes: memory };
  } catch {
    return undefined;
  }
}
