/**
 * Prometheus metrics (prom-client): the kube-state-metrics series users already alert on, and
 * podvisor's own restart counters and restart-duration histogram.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pod, PodPhase } from '../api/types.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';

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
