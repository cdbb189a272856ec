/**
 * What a pod worker tells its owner about its pod: the status (published only when it changed,
 * with the host and pod IPs filled in), events, restart records and structured log lines, each
 * stamped with the pod it is about. Nothing is published, emitted or recorded once the worker
 * stopped (log lines excepted).
 */
import type { Pod, PodStatus } from '../api/types.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';
import type { PodState } from '../core/model.js';
import type { PodEvent } from '../core/plan/index.js';
import type { PullProgress, Sandbox } from '../runtime/types.js';
import type { Clock } from './clock.js';
import type { PodConfig } from './pod-config.js';

/** What a worker reports to its owner. */
export interface WorkerSinks {
  /** The pod object with a new status (only when something changed). */
  onStatus(pod: Pod, state: PodState): void;
  onEvent(e: RecordedEvent): void;
  onRestart?(n: RestartNotice): void;
  /** The worker's pod must be re-created (§4.11); the owner creates the new instance. */
  onRecreate?(pod: Pod, recreations: number): void;
  /** Deletion completed (§8.1 step 7): the final status is `status`; the pod can be removed. */
  onDeleted?(pod: Pod, state: PodState): void;
  /** The worker has nothing queued (a good moment to check whether everything settled). */
  onIdle?(): void;
  /** Progress of a pull of a container's image (runtimes that run images), for a live view. */
  onPullProgress?(container: string, p: PullProgress): void;
  /** Structured log line (constant message, fields pod/podUid/container). */
  log?(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void;
}

/** What a {@link PodReporter} reads of its worker, at each report. */
export interface ReportedPod {
  /** `namespace/name`. */
  key(): string;
  pod(): Pod;
  state(): PodState;
  /** The worker stopped: nothing more is reported to the owner. */
  stopped(): boolean;
  sandbox(): Sandbox | undefined;
  /** Keeps the full status as published (the worker's `status`), before the owner hears of it. */
  setStatus(status: PodStatus): void;
}

/** What a {@link PodReporter} needs from its surroundings. */
export interface ReporterDeps {
  sinks: WorkerSinks;
  clock: Clock;
  /** Node facts (host IPs); none: 127.0.0.1. */
  config: PodConfig | undefined;
  pod: ReportedPod;
  /** The pod IP a resumed pod last published (a terminal pod keeps publishing it). */
  lastPodIp?: string;
}

/** Reports of one pod worker to its owner ({@link WorkerSinks}). */
export class PodReporter {
  private lastStatusJson = '';
  /** The pod IP while it last ran: a terminal pod keeps publishing it. */
  private lastPodIp: string | undefined;

  constructor(private readonly deps: ReporterDeps) {
    this.lastPodIp = deps.lastPodIp;
  }

  /** The next {@link publish} reaches the owner even with an unchanged status (the metadata changed). */
  forgetPublished(): void {
    this.lastStatusJson = '';
  }

  publish(status: PodStatus): void {
    const { sinks, config, pod } = this.deps;
    if (pod.stopped()) return;
    const full: PodStatus = { ...status };
    full.hostIP = config?.node.hostIPs[0] ?? '127.0.0.1';
    full.hostIPs = (config?.node.hostIPs ?? ['127.0.0.1']).map((ip) => ({ ip }));
    const live = pod.sandbox()?.ip ?? (pod.state().sandbox.state === 'ready' ? '127.0.0.1' : undefined);
    const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
    if (live !== undefined && !terminal) this.lastPodIp = live;
    // A terminal pod keeps the IP it last had, as on Kubernetes (kubernetes#125370).
    const ip = terminal ? this.lastPodIp : live;
    if (ip !== undefined) {
      full.podIP = ip;
      full.podIPs = [{ ip }];
    }
    const json = JSON.stringify(full);
    pod.setStatus(full);
    if (json === this.lastStatusJson) return;
    this.lastStatusJson = json;
    sinks.onStatus({ ...pod.pod(), status: full }, pod.state());
  }

  emit(e: PodEvent): void {
    const { sinks, clock, pod } = this.deps;
    if (pod.stopped()) return;
    const now = clock.now();
    const metadata = pod.pod().metadata;
    const ev: RecordedEvent = {
      firstTimestamp: now, lastTimestamp: now, count: 1, type: e.type, reason: e.reason, message: e.message,
      involvedObject: {
        kind: 'Pod', name: metadata.name ?? '', namespace: metadata.namespace ?? 'default', uid: pod.state().uid,
      },
    };
    if (e.fieldPath !== undefined) ev.involvedObject.fieldPath = e.fieldPath;
    if (e.container !== undefined) ev.container = e.container;
    if (e.escalation !== undefined) ev.escalation = e.escalation;
    sinks.onEvent(ev);
  }

  containerEvent(name: string, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const spec = this.deps.pod.pod().spec;
    const isInit = (spec.initContainers ?? []).some((c) => c.name === name);
    const isEph = (spec.ephemeralContainers ?? []).some((c) => c.name === name);
    const list = isInit ? 'initContainers' : isEph ? 'ephemeralContainers' : 'containers';
    this.emit({ type, reason, message, container: name, fieldPath: `spec.${list}{${name}}` });
  }

  notice(n: Omit<RestartNotice, 'time' | 'pod' | 'namespace' | 'podUid'>): void {
    const { sinks, clock, pod } = this.deps;
    if (pod.stopped()) return;
    const metadata = pod.pod().metadata;
    sinks.onRestart?.({
      time: clock.now(), pod: metadata.name ?? '', namespace: metadata.namespace ?? 'default', podUid: pod.state().uid, ...n,
    });
  }

  log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    const { sinks, pod } = this.deps;
    sinks.log?.(level, msg, { pod: pod.key(), podUid: pod.state().uid, ...fields });
  }
}
