/**
 * The node agent behind `podvisor serve`: admits pods through the API rules, supervises them,
 * persists every change (pod object, core state, restart records, events) before it becomes
 * visible, and feeds watches. After a crash or a stop it resumes every stored pod (§4.10),
 * re-adopting the containers that outlived the earlier process.
 */
import type { EventObject, RecordedEvent, RestartNotice } from '../api/records.js';
import type { Socket } from 'node:net';
import { podGraceSeconds } from '../api/defaults.js';
import { securityContextWarnings } from '../api/security-warnings.js';
import { formatTimestamp } from '../api/time.js';
import type { Pod } from '../api/types.js';
import { newPodState, type PodState } from '../core/model.js';
import type { CoreOptions } from '../core/plan/index.js';
import { StreamUnavailableError as RuntimeStreamUnavailable, type ContainerRuntime, type ContainerStats, type AttachStream, type ExecStream, type ExecStreamOptions } from '../runtime/types.js';
import type { PodRecord, PodStore } from '../store/types.js';
import type { Clock, Timer } from './clock.js';
import {
  ContainerNotRunningError, ContainerNotSpecifiedError, PodAlreadyExistsError, PodNotFoundError, RequestRefusedError, StorageFailedError,
  StreamUnavailableError, UnknownContainerError,
} from './errors.js';
import { PodvisorMetrics, readHostUsage, UsageRates } from './metrics.js';
import type { ChangeSink, ContainerUsage, NodeApi, NodeInfo, NodeUsage, PodAdmission, PodUsage, Unsubscribe, WatchEvent } from './node-api.js';
import { PodRejectedError, Supervisor } from './supervisor.js';
import type { PodWorker } from './worker.js';
import type { PodConfig } from './pod-config.js';

/** Options of the node agent, compiled once. */
export interface NodeAgentOptions {
  store: PodStore<PodState>;
  runtime: ContainerRuntime;
  clock: Clock;
  core: CoreOptions;
  /** GPU inventory of the node. */
  gpus?: string[];
  /** ConfigMaps, Secrets, the volume writer and node facts (env and config volumes). */
  config?: PodConfig;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
  /** The host's usage now (node metrics); default `/proc/stat` and `/proc/meminfo`. */
  hostUsage?: () => Promise<ContainerStats | undefined>;
  /** Pause between the two readings of a fresh usage window, ms (default 200). */
  usageWindowMs?: number;
}

/** The node's name when the pod configuration does not give one. */
const NODE_NAME = 'podvisor';
/** Usage key of the node itself (container IDs always have `://`). */
const NODE_USAGE_KEY = 'node';

/** Distinct events remembered for counting repeats (like the kubelet recorder's LRU cache). */
const EVENT_KEYS = 4096;
/** First delay before a failed background write of a pod is tried again; doubled per failed round. */
const RETRY_MIN_MS = 1000;
/** Longest delay between two attempts at a failed background write. */
const RETRY_MAX_MS = 30_000;

/**
 * A pod change a worker reported whose write failed: the newest one per pod, tried again until
 * it is stored. `put` with `publish` goes to watches (with a new resourceVersion) once stored.
 */
type Unsaved =
  | { op: 'put'; rec: PodRecord<PodState>; publish: boolean }
  | { op: 'remove'; rec: PodRecord<PodState> };

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const ts = formatTimestamp;

/** The {@link NodeApi} of `podvisor serve`. */
export class NodeAgent implements NodeApi {
  readonly supervisor: Supervisor;
  /** Prometheus metrics of every pod this agent supervises. */
  readonly metrics = new PodvisorMetrics();
  private readonly store: PodStore<PodState>;
  private readonly clock: Clock;
  private readonly runtime: ContainerRuntime;
  /** Where stored changes go (the server's watch caches). */
  private readonly sinks = new Set<ChangeSink>();
  /** The last event of each (object, type, reason, message), for counting repeats (bounded, oldest dropped). */
  private readonly lastEvents = new Map<string, EventObject>();
  /**
   * The stored record of every pod: what the API serves. It changes only after the store
   * wrote the change, so it never runs ahead of the disk.
   */
  private readonly records = new Map<string, PodRecord<PodState>>();
  /** Changes reported by workers whose write failed, by pod key (see {@link retryUnsaved}). */
  private readonly unsaved = new Map<string, Unsaved>();
  private retryTimer: Timer | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  private readonly log: NonNullable<NodeAgentOptions['log']>;
  /** Set by {@link stop}: nothing is persisted or published any more. */
  private stopped = false;
  /** CPU rates of containers and of the node, sampled on request (`kubectl top`). */
  private readonly usage: UsageRates;
  private readonly hostUsage: () => Promise<ContainerStats | undefined>;
  private readonly node: NodeInfo;

  constructor(o: NodeAgentOptions) {
    this.store = o.store;
    this.clock = o.clock;
    this.runtime = o.runtime;
    this.log = o.log ?? (() => {});
    this.hostUsage = o.hostUsage ?? readHostUsage;
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => this.clock.at(this.clock.now() + ms, resolve));
    this.usage = new UsageRates({ sleep, ...(o.usageWindowMs !== undefined ? { minWindowMs: o.usageWindowMs } : {}) });
    this.node = {
      name: o.config?.node.nodeName ?? NODE_NAME,
      since: o.clock.now(),
      addresses: o.config?.node.hostIPs ?? [],
      allocatable: { ...(o.config?.node.allocatable ?? {}) },
      runtime: o.runtime.name,
    };
    this.supervisor = new Supervisor({
      runtime: o.runtime,
      clock: o.clock,
      core: o.core,
      ...(o.gpus ? { gpus: o.gpus } : {}),
      ...(o.config ? { config: o.config } : {}),
      sinks: {
        onStatus: (pod, state) => this.onStatus(pod, state),
        onDeleted: (pod, state) => this.onDeleted(pod, state),
        onEvent: (e) => this.onEvent(e),
        onRestart: (n) => this.onRestart(n),
        onReplaced: (_oldUid, pod) => this.onReplaced(pod),
        log: (level, msg, fields) => this.log(level, msg, fields),
      },
    });
  }

  /** Loads the store and resumes every pod in it. */
  async start(): Promise<void> {
    // Sandboxes of pods that are gone are torn down; the others are re-attached (same IP).
    const reap = (this.runtime as { reapAllSandboxes?: (keep: Set<string>) => Promise<unknown> }).reapAllSandboxes;
    if (reap) await reap.call(this.runtime, new Set(this.store.allPods().map((r) => r.state.uid)));
    for (const rec of this.store.allPods()) {
      const key = this.key(rec.pod);
      this.records.set(key, rec);
      if (rec.state.finished && rec.pod.metadata.deletionTimestamp) {
        // Deletion had completed but the record was not removed yet.
        if (!this.tryRemove(key, rec)) this.scheduleRetry();
        continue;
      }
      try {
        const w = this.supervisor.add(this.specOnly(rec.pod), rec.state);
        if (rec.pod.metadata.deletionTimestamp && !rec.state.deletion) w.delete();
      } catch (err) {
        this.log('error', 'cannot resume pod', { pod: key, error: String(err) });
      }
    }
  }

  private key(p: Pod): string {
    return `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`;
  }

  /** The manifest part of a stored pod (what a worker runs). */
  private specOnly(p: Pod): Pod {
    const { status: _status, ...rest } = p;
    return structuredClone(rest) as Pod;
  }

  private bump(): string {
    return String(this.store.nextResourceVersion());
  }

  private emitPod(type: WatchEvent<Pod>['type'], pod: Pod): void {
    const e: WatchEvent<Pod> = { type, object: structuredClone(pod) };
    for (const s of [...this.sinks]) s.pod(e);
  }

  /** The newest record of a pod: a change still being written, else the stored one. */
  private latest(key: string): PodRecord<PodState> | undefined {
    const u = this.unsaved.get(key);
    return u?.op === 'put' ? u.rec : this.records.get(key);
  }

  /**
   * Makes `next` the pod's record: written durably first, then served and, with `publish`,
   * given a new resourceVersion and published to watches. Returns the stored record. Throws
   * {@link StorageFailedError} when the write fails; then nothing changed (the API keeps
   * serving what is on disk). `next` is not modified.
   */
  private commit(key: string, next: PodRecord<PodState>, publish: 'ADDED' | 'MODIFIED' | undefined, operation: string): PodRecord<PodState> {
    const rec: PodRecord<PodState> = publish ? { ...next, pod: { ...next.pod, metadata: { ...next.pod.metadata, resourceVersion: this.bump() } } } : next;
    if (this.stopped) return rec; // the daemon is exiting: nothing is stored or published any more (C4)
    try {
      this.store.putPod(rec);
    } catch (err) {
      throw new StorageFailedError(rec.pod.metadata.namespace ?? 'default', rec.pod.metadata.name ?? '', operation, errText(err));
    }
    this.records.set(key, rec);
    // `next` was built on the newest record, an unsaved change included: that one is stored
    // now. A pending removal stays due.
    if (this.unsaved.get(key)?.op === 'put') this.unsaved.delete(key);
    if (publish) this.emitPod(publish, rec.pod);
    return rec;
  }

  /**
   * Stores a change a worker reported. A worker cannot take a failed write back (its
   * containers run), so a failure is logged and the change kept and tried again (with
   * back-off) until it is stored; never thrown (it would end the worker's reconcile, or the
   * process).
   */
  private save(key: string, next: PodRecord<PodState>, publish: 'MODIFIED' | undefined): void {
    if (this.stopped) return;
    const pending = this.unsaved.get(key);
    if (pending?.op === 'remove') return; // the deletion completed: removing the record is what is due
    const pub = publish ?? (pending?.publish === true ? 'MODIFIED' : undefined);
    if (!this.tryPut(key, next, pub)) this.scheduleRetry();
  }

  /** One attempt at a worker's change; on failure the change is kept for {@link retryUnsaved}. */
  private tryPut(key: string, next: PodRecord<PodState>, publish: 'MODIFIED' | undefined): boolean {
    try {
      this.commit(key, next, publish, 'status');
      return true;
    } catch (err) {
      if (!this.unsaved.has(key)) this.log('error', 'cannot store pod; the change is kept and retried', { pod: key, error: errText(err) });
      this.unsaved.set(key, { op: 'put', rec: next, publish: publish !== undefined });
      return false;
    }
  }

  /**
   * Removes the record of a pod whose deletion completed, then publishes DELETED and forgets
   * its worker. On a failed write the pod stays (served as it is stored, with its
   * deletionTimestamp) and the removal is kept for {@link retryUnsaved}.
   */
  private tryRemove(key: string, final: PodRecord<PodState>): boolean {
    // The DELETED event's resourceVersion is taken first, so that the store's floor covers it.
    const rv = this.bump();
    try {
      this.store.removePod(final.pod.metadata.namespace ?? 'default', final.pod.metadata.name ?? '');
    } catch (err) {
      if (!this.unsaved.has(key)) this.log('error', 'cannot remove the record of a deleted pod; retried', { pod: key, error: errText(err) });
      this.unsaved.set(key, { op: 'remove', rec: final });
      return false;
    }
    this.unsaved.delete(key);
    this.records.delete(key);
    this.emitPod('DELETED', { ...final.pod, metadata: { ...final.pod.metadata, resourceVersion: String(rv) } });
    this.supervisor.remove(key);
    return true;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = this.clock.at(this.clock.now() + this.retryDelayMs, () => this.retryUnsaved());
  }

  /**
   * Tries every unsaved change again: 1 s after the first failure, then twice as long after
   * each round with a failure (30 s at most), back to 1 s once everything is stored.
   */
  private retryUnsaved(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    let failed = 0;
    for (const [key, u] of [...this.unsaved]) {
      const ok = u.op === 'remove' ? this.tryRemove(key, u.rec) : this.tryPut(key, u.rec, u.publish ? 'MODIFIED' : undefined);
      if (ok) this.log('info', 'pod stored after an earlier failure', { pod: key });
      else failed++;
    }
    if (failed === 0) {
      this.retryDelayMs = RETRY_MIN_MS;
      return;
    }
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    this.log('warn', 'pod changes still not stored; retrying', { pods: failed, retryInMs: this.retryDelayMs });
    this.scheduleRetry();
  }

  /** Deletion complete (§8.1 step 7): the final status is published with DELETED; the pod goes. */
  private onDeleted(pod: Pod, state: PodState): void {
    if (this.stopped) return;
    this.metrics.forgetPod(pod.metadata.uid ?? '');
    const key = this.key(pod);
    const rec = this.latest(key);
    if (!rec || rec.pod.metadata.uid !== pod.metadata.uid) return;
    if (!this.tryRemove(key, { ...rec, pod: { ...rec.pod, status: pod.status ?? {} }, state })) this.scheduleRetry();
  }

  private onStatus(pod: Pod, state: PodState): void {
    const key = this.key(pod);
    const rec = this.latest(key);
    if (!rec || rec.pod.metadata.uid !== pod.metadata.uid) return;
    this.metrics.observePod(pod);
    if (state.finished && rec.pod.metadata.deletionTimestamp) return; // onDeleted follows
    const next: PodRecord<PodState> = {
      ...rec,
      pod: { ...rec.pod, metadata: { ...rec.pod.metadata, labels: pod.metadata.labels ?? {}, annotations: pod.metadata.annotations ?? {} }, status: pod.status ?? {} },
      state,
    };
    if (!pod.metadata.labels) delete next.pod.metadata.labels;
    if (!pod.metadata.annotations) delete next.pod.metadata.annotations;
    this.save(key, next, 'MODIFIED');
  }

  private onRestart(n: RestartNotice): void {
    if (this.stopped) return;
    this.metrics.observeRestart(n);
    const key = `${n.namespace}/${n.pod}`;
    const rec = this.latest(key);
    if (!rec || rec.pod.metadata.uid !== n.podUid) return;
    this.save(key, { ...rec, restarts: [...rec.restarts, n].slice(-1000) }, undefined);
  }

  private onReplaced(pod: Pod): void {
    const key = this.key(pod);
    const old = this.latest(key);
    if (old?.pod.metadata.uid) this.metrics.forgetPod(old.pod.metadata.uid);
    const w = this.supervisor.get(key);
    const rec: PodRecord<PodState> = { pod: structuredClone(pod), state: w?.state ?? old?.state as PodState, restarts: old?.restarts ?? [] };
    this.save(key, rec, 'MODIFIED');
  }

  /**
   * Records an event. A repeat of the last identical one (same object, field path, type, reason
   * and message) updates that event's `count` and `lastTimestamp` instead of adding another, as
   * the kubelet's event recorder does (`kubectl describe` shows `(x5 over 10m)`).
   */
  private onEvent(e: RecordedEvent): void {
    if (this.stopped) return;
    this.metrics.observeEvent(e);
    const rv = this.bump();
    const ns = e.involvedObject.namespace;
    const key = JSON.stringify([ns, e.involvedObject.uid, e.involvedObject.fieldPath ?? '', e.type, e.reason, e.message]);
    const prev = this.lastEvents.get(key);
    if (prev && this.store.hasEvent(ns, prev.metadata.name)) {
      const updated: EventObject = {
        ...prev,
        metadata: { ...prev.metadata, resourceVersion: rv },
        count: (typeof prev['count'] === 'number' ? prev['count'] : 1) + e.count,
        lastTimestamp: ts(e.lastTimestamp),
      };
      this.lastEvents.delete(key);
      this.lastEvents.set(key, updated);
      this.recordEvent(updated, 'MODIFIED');
      return;
    }
    const name = `${e.involvedObject.name}.${e.firstTimestamp.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const obj: EventObject = {
      kind: 'Event',
      apiVersion: 'v1',
      metadata: { name, namespace: e.involvedObject.namespace, resourceVersion: rv, creationTimestamp: ts(e.firstTimestamp) } as EventObject['metadata'],
      involvedObject: { ...e.involvedObject, apiVersion: 'v1' } as EventObject['involvedObject'],
      reason: e.reason,
      message: e.message,
      type: e.type,
      count: e.count,
      firstTimestamp: ts(e.firstTimestamp),
      lastTimestamp: ts(e.lastTimestamp),
      source: { component: 'podvisor', host: 'podvisor' },
      reportingComponent: 'podvisor',
      reportingInstance: 'podvisor',
    };
    this.lastEvents.set(key, obj);
    if (this.lastEvents.size > EVENT_KEYS) {
      const oldest = this.lastEvents.keys().next().value;
      if (oldest !== undefined) this.lastEvents.delete(oldest);
    }
    this.recordEvent(obj, 'ADDED');
  }

  /**
   * Stores an event, then publishes it. An event that cannot be stored is logged and dropped
   * (never published, so watches and lists show what is stored), as the kubelet's recorder
   * drops events the API server does not take.
   */
  private recordEvent(obj: EventObject, type: 'ADDED' | 'MODIFIED'): void {
    try {
      this.store.appendEvent(obj);
    } catch (err) {
      this.log('error', 'cannot store event; dropped', { event: obj.metadata.name, reason: obj['reason'], error: errText(err) });
      return;
    }
    const we: WatchEvent<EventObject> = { type, object: obj };
    for (const s of [...this.sinks]) s.event(we);
  }

  // ------------------------------------------------------------------------------ NodeApi

  resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  listPods(namespace?: string): Pod[] {
    return [...this.records.values()].map((r) => r.pod).filter((p) => namespace === undefined || p.metadata.namespace === namespace).map((p) => structuredClone(p));
  }

  getPod(namespace: string, name: string): Pod | undefined {
    const r = this.records.get(`${namespace}/${name}`);
    return r ? structuredClone(r.pod) : undefined;
  }

  private mustGet(namespace: string, name: string): { rec: PodRecord<PodState>; worker: PodWorker } {
    const rec = this.latest(`${namespace}/${name}`);
    const worker = this.supervisor.get(`${namespace}/${name}`);
    if (!rec || !worker) throw new PodNotFoundError(namespace, name);
    return { rec, worker };
  }

  admit(pod: Pod): PodAdmission {
    let problems: string[] = [];
    try {
      this.supervisor.check(pod);
    } catch (err) {
      if (!(err instanceof PodRejectedError)) throw err;
      problems = err.problems;
    }
    return { problems, warnings: securityContextWarnings(pod, this.runtime.name) };
  }

  createPod(admitted: Pod): Pod {
    const pod = structuredClone(admitted);
    delete pod.status;
    const ns = pod.metadata.namespace ?? 'default';
    const key = this.key(pod);
    if (this.records.has(key)) throw new PodAlreadyExistsError(ns, pod.metadata.name ?? '');
    // Stored before anything runs: a create that cannot be stored leaves nothing behind.
    const fresh: PodRecord<PodState> = { pod: { ...pod, status: { phase: 'Pending' } }, state: newPodState(pod.metadata.uid ?? '', this.clock.now()), restarts: [] };
    const created = this.commit(key, fresh, 'ADDED', 'create');
    try {
      this.supervisor.add(pod);
    } catch (err) {
      // Not expected (the pod was admitted); the stored pod must not outlive the failure.
      this.log('error', 'cannot start a created pod; its record is removed', { pod: key, error: errText(err) });
      if (!this.tryRemove(key, created)) this.scheduleRetry();
      throw err;
    }
    return structuredClone(created.pod);
  }

  updatePod(namespace: string, name: string, next: Pod): Pod {
    const { rec, worker } = this.mustGet(namespace, name);
    const updated: PodRecord<PodState> = { ...rec, pod: { ...rec.pod, metadata: { ...rec.pod.metadata } } };
    if (next.metadata.labels) updated.pod.metadata.labels = next.metadata.labels;
    else delete updated.pod.metadata.labels;
    if (next.metadata.annotations) updated.pod.metadata.annotations = next.metadata.annotations;
    else delete updated.pod.metadata.annotations;
    // Who owns which field (the API's field manager); the agent stores it, never reads it.
    const managed = (next.metadata as { managedFields?: unknown[] }).managedFields;
    if (managed) (updated.pod.metadata as { managedFields?: unknown[] }).managedFields = managed;
    else delete (updated.pod.metadata as { managedFields?: unknown[] }).managedFields;
    // The spec as the API admitted it (images, activeDeadlineSeconds, added tolerations).
    const specChanged = JSON.stringify(next.spec) !== JSON.stringify(rec.pod.spec);
    if (specChanged) updated.pod.spec = structuredClone(next.spec);
    // Stored before the worker sees it: an update that cannot be stored changes nothing.
    const key = `${namespace}/${name}`;
    const stored = this.commit(key, updated, 'MODIFIED', 'update');
    worker.setMetadata(next.metadata.labels, next.metadata.annotations);
    if (specChanged) worker.setSpec(next.spec);
    return structuredClone(this.records.get(key)?.pod ?? stored.pod);
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Pod {
    const { rec, worker } = this.mustGet(namespace, name);
    const grace = gracePeriodSeconds ?? podGraceSeconds(rec.pod);
    let shown = rec.pod;
    if (!rec.pod.metadata.deletionTimestamp) {
      const deleting: PodRecord<PodState> = {
        ...rec, pod: { ...rec.pod, metadata: { ...rec.pod.metadata, deletionTimestamp: ts(this.clock.now() + grace * 1000), deletionGracePeriodSeconds: grace } },
      };
      // Stored before the worker is told: a deletion that cannot be stored does not start.
      shown = this.commit(`${namespace}/${name}`, deleting, 'MODIFIED', 'delete').pod;
    }
    worker.delete(grace);
    return structuredClone(shown);
  }

  restartPod(namespace: string, name: string, opts: { container?: string; requestedBy?: string }): Pod {
    const { rec, worker } = this.mustGet(namespace, name);
    const r = worker.restart(opts.container);
    if ('refused' in r) throw new RequestRefusedError(namespace, name, r.message);
    this.log('info', 'restart requested', { pod: `${namespace}/${name}`, container: opts.container, requestedBy: opts.requestedBy });
    return structuredClone(rec.pod);
  }

  recreatePod(namespace: string, name: string, opts: { requestedBy?: string }): Pod {
    const { rec, worker } = this.mustGet(namespace, name);
    const r = worker.recreate();
    if ('refused' in r) throw new RequestRefusedError(namespace, name, r.message);
    this.log('info', 're-create requested', { pod: `${namespace}/${name}`, requestedBy: opts.requestedBy });
    return structuredClone(rec.pod);
  }

  private containerName(rec: PodRecord<PodState>, container: string | undefined): string {
    const all = [...(rec.pod.spec.initContainers ?? []), ...rec.pod.spec.containers, ...(rec.pod.spec.ephemeralContainers ?? [])];
    if (container === undefined) {
      if (rec.pod.spec.containers.length === 1 && (rec.pod.spec.initContainers ?? []).length === 0) return rec.pod.spec.containers[0]?.name ?? '';
      throw new ContainerNotSpecifiedError(rec.pod.metadata.namespace ?? 'default', rec.pod.metadata.name ?? '', rec.pod.spec.containers.map((c) => c.name), (rec.pod.spec.initContainers ?? []).map((c) => c.name));
    }
    if (!all.some((c) => c.name === container)) throw new UnknownContainerError(rec.pod.metadata.namespace ?? 'default', rec.pod.metadata.name ?? '', container);
    return container;
  }

  logPath(namespace: string, name: string, container: string | undefined, previous: boolean): string | undefined {
    const { rec } = this.mustGet(namespace, name);
    const c = this.containerName(rec, container);
    return this.supervisor.get(`${namespace}/${name}`)?.logPath(c, previous);
  }

  containerRunning(namespace: string, name: string, container: string | undefined): boolean {
    const rec = this.latest(`${namespace}/${name}`);
    if (!rec) return false;
    const c = this.containerName(rec, container);
    const st = [...(rec.pod.status?.initContainerStatuses ?? []), ...(rec.pod.status?.containerStatuses ?? []), ...(rec.pod.status?.ephemeralContainerStatuses ?? [])].find((s) => s.name === c);
    return st?.state.running !== undefined;
  }

  async execStream(namespace: string, name: string, container: string | undefined, command: string[], opts: ExecStreamOptions): Promise<ExecStream> {
    const { rec } = this.mustGet(namespace, name);
    const c = this.containerName(rec, container);
    const id = this.supervisor.get(`${namespace}/${name}`)?.runningInstance(c);
    if (id === undefined) throw new ContainerNotRunningError(namespace, name, c);
    try {
      return await this.runtime.execStream(id, command, opts);
    } catch (err) {
      if (!(err instanceof RuntimeStreamUnavailable)) throw err;
      // The instance ended between the lookup and the start: as if it had not been running.
      if (this.supervisor.get(`${namespace}/${name}`)?.runningInstance(c) !== id) throw new ContainerNotRunningError(namespace, name, c);
      throw new StreamUnavailableError(namespace, name, err.message);
    }
  }

  async attachStream(namespace: string, name: string, container: string | undefined, opts: ExecStreamOptions): Promise<ExecStream> {
    const { rec } = this.mustGet(namespace, name);
    const c = this.containerName(rec, container);
    const id = this.supervisor.get(`${namespace}/${name}`)?.runningInstance(c);
    if (id === undefined) throw new ContainerNotRunningError(namespace, name, c);
    const spec = [...(rec.pod.spec.initContainers ?? []), ...rec.pod.spec.containers, ...(rec.pod.spec.ephemeralContainers ?? [])].find((x) => x.name === c);
    let a: AttachStream;
    try {
      // stdin only reaches a container that keeps one open (kubectl warns its user about the rest).
      a = await this.runtime.attach(id, { stdin: opts.stdin && spec?.stdin === true });
    } catch (err) {
      if (!(err instanceof RuntimeStreamUnavailable)) throw err;
      if (this.supervisor.get(`${namespace}/${name}`)?.runningInstance(c) !== id) throw new ContainerNotRunningError(namespace, name, c);
      throw new StreamUnavailableError(namespace, name, err.message);
    }
    if (opts.tty && opts.size) a.resize(opts.size);
    const ended = (s: NodeJS.ReadableStream | undefined): Promise<void> => new Promise((resolve) => {
      if (!s) return resolve();
      s.once('end', () => resolve());
      s.once('close', () => resolve());
    });
    return {
      ...(a.stdin ? { stdin: a.stdin } : {}),
      stdout: a.stdout,
      ...(a.stderr ? { stderr: a.stderr } : {}),
      resize: (size) => a.resize(size),
      kill: () => a.detach(),
      // An attach reports no exit code: the kubelet ends it with Success (kubectl run reads the code from the status).
      exited: Promise.all([ended(a.stdout), ended(a.stderr)]).then(() => ({ exitCode: 0 })),
    };
  }

  async portForward(namespace: string, name: string, port: number): Promise<Socket> {
    this.mustGet(namespace, name);
    const sandbox = this.supervisor.get(`${namespace}/${name}`)?.liveSandbox();
    if (sandbox === undefined) throw new StreamUnavailableError(namespace, name, 'the pod has no network yet (its sandbox is not ready)');
    return this.runtime.connect(sandbox, port);
  }

  listEvents(namespace?: string): EventObject[] {
    return this.store.listEvents(namespace) as EventObject[];
  }

  restartHistory(namespace: string, name: string): RestartNotice[] {
    this.mustGet(namespace, name);
    // What is stored, like every read of the API (a record still being retried is not).
    return [...(this.records.get(`${namespace}/${name}`)?.restarts ?? [])];
  }

  removeEvents(namespace: string): void {
    this.store.removeEvents(namespace);
    for (const [k, e] of this.lastEvents) if (e.metadata.namespace === namespace) this.lastEvents.delete(k);
  }

  configChanged(namespace: string): void {
    this.supervisor.configChanged(namespace);
  }

  subscribe(sink: ChangeSink): Unsubscribe {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /**
   * Usage of the running containers of every pod (of `namespace`) as published: those whose
   * status says running, by container ID, read from the runtime's cgroups (see
   * {@link UsageRates} for the window). Init containers that run (sidecars) count, as in the
   * kubelet's stats.
   */
  async podMetrics(namespace?: string): Promise<PodUsage[]> {
    const runtime = this.runtime;
    if (!runtime.stats) return [];
    const pods: { namespace: string; name: string; containers: { name: string; id: string }[] }[] = [];
    for (const rec of this.records.values()) {
      const p = rec.pod;
      const ns = p.metadata.namespace ?? 'default';
      if (namespace !== undefined && ns !== namespace) continue;
      const containers = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]
        .filter((c) => c.state.running !== undefined && c.containerID !== undefined && c.containerID !== '')
        .map((c) => ({ name: c.name, id: c.containerID as string }));
      if (containers.length > 0) pods.push({ namespace: ns, name: p.metadata.name ?? '', containers });
    }
    if (pods.length === 0) return [];
    const rates = await this.usage.rates(pods.flatMap((p) => p.containers.map((c) => c.id)), (id) => runtime.stats?.(id) ?? Promise.resolve(undefined));
    const out: PodUsage[] = [];
    for (const p of pods) {
      const containers: ContainerUsage[] = [];
      let timestamp = 0;
      let windowMs = 0;
      for (const c of p.containers) {
        const r = rates.get(c.id);
        if (!r) continue;
        containers.push({ name: c.name, cpuNanoCores: r.cpuNanoCores, memoryWorkingSetBytes: r.memoryWorkingSetBytes });
        timestamp = Math.max(timestamp, r.timestamp);
        windowMs = Math.max(windowMs, r.windowMs);
      }
      if (containers.length > 0) out.push({ namespace: p.namespace, name: p.name, timestamp, windowMs, containers });
    }
    return out;
  }

  async nodeMetrics(): Promise<NodeUsage | undefined> {
    const r = (await this.usage.rates([NODE_USAGE_KEY], () => this.hostUsage())).get(NODE_USAGE_KEY);
    if (!r) return undefined;
    return { name: this.node.name, timestamp: r.timestamp, windowMs: r.windowMs, cpuNanoCores: r.cpuNanoCores, memoryWorkingSetBytes: r.memoryWorkingSetBytes };
  }

  nodeInfo(): NodeInfo {
    return structuredClone(this.node);
  }

  /** Stops supervision without touching containers' records (the daemon is exiting). */
  dispose(): void {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.supervisor.dispose();
  }

  /**
   * Stops the agent because the daemon exits: never a pod event (spec C4, §2.4). From the call
   * on nothing is persisted, published to watches or recorded as an event, and every pod worker
   * is stopped ({@link Supervisor.stop}); each pod's stored record stays its last published
   * state, from which the next start resumes it. With `keepContainers` (the runtime's containers
   * outlive podvisor) no container is signalled: they keep running and the next start re-adopts
   * them; the caller then closes the runtime keeping them. Without it, resolves when the
   * containers the workers knew have exited (SIGTERM, SIGKILL at each pod's grace period); the
   * caller then closes the runtime, which stops what is left. Idempotent.
   */
  async stop(opts: { keepContainers?: boolean } = {}): Promise<void> {
    this.stopped = true;
    // Changes not stored by now are not: the next start resumes from what is on disk.
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    await this.supervisor.stop(opts);
  }
}
