/**
 * The node agent behind `podvisor serve`: admits pods through the API rules, supervises them,
 * persists every change (pod object, core state, restart records, events) before it becomes
 * visible, and feeds watches. After a crash it resumes every stored pod (§4.10).
 */
import { randomUUID } from 'node:crypto';
import { checkDecodedPod, decodePod, defaultPod, validatePod, IMMUTABLE_PODVISOR_ANNOTATIONS } from '../api/index.js';
import type { FieldError } from '../api/errors.js';
import type { EventObject, RecordedEvent, RestartNotice } from '../api/records.js';
import { podGraceSeconds } from '../api/defaults.js';
import { formatTimestamp } from '../api/time.js';
import type { Pod } from '../api/types.js';
import type { PodState } from '../core/model.js';
import type { CoreOptions } from '../core/plan/index.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { PodRecord, PodStore } from '../store/types.js';
import type { Clock } from './clock.js';
import {
  ContainerNotSpecifiedError, InvalidResourceVersionError, PodAlreadyExistsError, PodInvalidError, PodNotFoundError,
  RequestRefusedError, ResourceVersionExpiredError, StaleResourceVersionError, UnknownContainerError,
} from './errors.js';
import { PodvisorMetrics } from './metrics.js';
import type { NodeApi, Unsubscribe, WatchEvent } from './node-api.js';
import { PodRejectedError, Supervisor } from './supervisor.js';
import type { PodWorker } from './worker.js';

/** Options of the node agent, compiled once. */
export interface NodeAgentOptions {
  store: PodStore<PodState>;
  runtime: ContainerRuntime;
  clock: Clock;
  core: CoreOptions;
  /** GPU inventory of the node. */
  gpus?: string[];
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
}

/** Watch history kept for `resourceVersion` resumption; older versions get 410 Gone. */
const HISTORY = 2000;
/** Distinct events remembered for counting repeats (like the kubelet recorder's LRU cache). */
const EVENT_KEYS = 4096;

const ts = formatTimestamp;

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) o[k] = canon(x);
    }
    return o;
  }
  return v;
}

/** The {@link NodeApi} of `podvisor serve`. */
export class NodeAgent implements NodeApi {
  readonly supervisor: Supervisor;
  /** Prometheus metrics of every pod this agent supervises. */
  readonly metrics = new PodvisorMetrics();
  private readonly store: PodStore<PodState>;
  private readonly clock: Clock;
  private readonly runtime: ContainerRuntime;
  private readonly podWatchers = new Set<(e: WatchEvent<Pod>) => void>();
  private readonly eventWatchers = new Set<(e: WatchEvent<EventObject>) => void>();
  private readonly podHistory: { rv: number; e: WatchEvent<Pod> }[] = [];
  private readonly eventHistory: { rv: number; e: WatchEvent<EventObject> }[] = [];
  /** The last event of each (object, type, reason, message), for counting repeats (bounded, oldest dropped). */
  private readonly lastEvents = new Map<string, EventObject>();
  private readonly records = new Map<string, PodRecord<PodState>>();
  private readonly log: NonNullable<NodeAgentOptions['log']>;
  /** Set by {@link stop}: nothing is persisted or published any more. */
  private stopped = false;

  constructor(o: NodeAgentOptions) {
    this.store = o.store;
    this.clock = o.clock;
    this.runtime = o.runtime;
    this.log = o.log ?? (() => {});
    this.supervisor = new Supervisor({
      runtime: o.runtime,
      clock: o.clock,
      core: o.core,
      ...(o.gpus ? { gpus: o.gpus } : {}),
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
      if (rec.state.finished && rec.pod.metadata.deletionTimestamp) {
        // Deletion had completed but the record was not removed yet.
        this.store.removePod(rec.pod.metadata.namespace ?? 'default', rec.pod.metadata.name ?? '');
        continue;
      }
      this.records.set(key, rec);
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
    const rv = Number(pod.metadata.resourceVersion);
    const e: WatchEvent<Pod> = { type, object: structuredClone(pod) };
    this.podHistory.push({ rv, e });
    if (this.podHistory.length > HISTORY) this.podHistory.shift();
    for (const w of this.podWatchers) w(e);
  }

  private persist(key: string, rec: PodRecord<PodState>, type: 'ADDED' | 'MODIFIED'): void {
    if (this.stopped) return;
    rec.pod.metadata.resourceVersion = this.bump();
    this.records.set(key, rec);
    this.store.putPod(rec);
    this.emitPod(type, rec.pod);
  }

  /** Deletion complete (§8.1 step 7): the final status is published with DELETED; the pod goes. */
  private onDeleted(pod: Pod, state: PodState): void {
    if (this.stopped) return;
    this.metrics.forgetPod(pod.metadata.uid ?? '');
    const key = this.key(pod);
    const rec = this.records.get(key);
    if (!rec || rec.pod.metadata.uid !== pod.metadata.uid) return;
    rec.pod = { ...rec.pod, status: pod.status ?? {} };
    rec.state = state;
    this.records.delete(key);
    this.store.removePod(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    rec.pod.metadata.resourceVersion = this.bump();
    this.emitPod('DELETED', rec.pod);
    this.supervisor.remove(key);
  }

  private onStatus(pod: Pod, state: PodState): void {
    const key = this.key(pod);
    const rec = this.records.get(key);
    if (!rec || rec.pod.metadata.uid !== pod.metadata.uid) return;
    this.metrics.observePod(pod);
    if (state.finished && rec.pod.metadata.deletionTimestamp) return; // onDeleted follows
    rec.pod = { ...rec.pod, metadata: { ...rec.pod.metadata, labels: pod.metadata.labels ?? {}, annotations: pod.metadata.annotations ?? {} }, status: pod.status ?? {} };
    if (!pod.metadata.labels) delete rec.pod.metadata.labels;
    if (!pod.metadata.annotations) delete rec.pod.metadata.annotations;
    rec.state = state;
    this.persist(key, rec, rec.pod.metadata.resourceVersion === undefined ? 'ADDED' : 'MODIFIED');
  }

  private onRestart(n: RestartNotice): void {
    if (this.stopped) return;
    this.metrics.observeRestart(n);
    const rec = this.records.get(`${n.namespace}/${n.pod}`);
    if (!rec || rec.pod.metadata.uid !== n.podUid) return;
    rec.restarts.push(n);
    if (rec.restarts.length > 1000) rec.restarts.splice(0, rec.restarts.length - 1000);
    this.store.putPod(rec);
  }

  private onReplaced(pod: Pod): void {
    const key = this.key(pod);
    const old = this.records.get(key);
    if (old?.pod.metadata.uid) this.metrics.forgetPod(old.pod.metadata.uid);
    const w = this.supervisor.get(key);
    const rec: PodRecord<PodState> = { pod: structuredClone(pod), state: w?.state ?? old?.state as PodState, restarts: old?.restarts ?? [] };
    this.persist(key, rec, 'MODIFIED');
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

  private recordEvent(obj: EventObject, type: 'ADDED' | 'MODIFIED'): void {
    try {
      this.store.appendEvent(obj);
    } catch (err) {
      this.log('error', 'cannot persist event', { error: String(err) });
    }
    const we: WatchEvent<EventObject> = { type, object: obj };
    this.eventHistory.push({ rv: Number(obj.metadata.resourceVersion), e: we });
    if (this.eventHistory.length > HISTORY) this.eventHistory.shift();
    for (const w of this.eventWatchers) w(we);
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
    const rec = this.records.get(`${namespace}/${name}`);
    const worker = this.supervisor.get(`${namespace}/${name}`);
    if (!rec || !worker) throw new PodNotFoundError(namespace, name);
    return { rec, worker };
  }

  createPod(body: unknown, opts: { dryRun?: boolean }): { pod: Pod; warnings: string[] } {
    const { pod, errors, warnings } = checkDecodedPod(decodePod(body), { create: true });
    const name = pod.metadata.name ?? pod.metadata.generateName ?? '';
    if (errors.length > 0) throw new PodInvalidError(pod.metadata.namespace ?? 'default', name, errors);
    if (!pod.metadata.name && pod.metadata.generateName) {
      pod.metadata.name = `${pod.metadata.generateName}${randomUUID().slice(0, 5)}`;
    }
    const key = this.key(pod);
    if (this.records.has(key)) throw new PodAlreadyExistsError(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    pod.metadata.uid = randomUUID();
    pod.metadata.creationTimestamp = ts(this.clock.now());
    delete pod.status;
    try {
      this.supervisor.check(pod);
    } catch (err) {
      if (err instanceof PodRejectedError) {
        const causes: FieldError[] = err.problems.map((p) => ({ type: 'Forbidden', field: 'spec.volumes', detail: p }));
        throw new PodInvalidError(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', causes);
      }
      throw err;
    }
    if (opts.dryRun) return { pod: { ...pod, status: { phase: 'Pending' } }, warnings };
    const rec: PodRecord<PodState> = { pod: { ...pod, status: { phase: 'Pending' } }, state: undefined as unknown as PodState, restarts: [] };
    this.records.set(key, rec);
    const w = this.supervisor.add(pod);
    if (rec.pod.metadata.resourceVersion === undefined) {
      rec.state = w.state;
      this.persist(key, rec, 'ADDED');
    }
    return { pod: structuredClone(rec.pod), warnings };
  }

  updatePod(namespace: string, name: string, next: Pod): { pod: Pod; warnings: string[] } {
    const { rec, worker } = this.mustGet(namespace, name);
    const cur = rec.pod;
    if (next.metadata?.resourceVersion && next.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new StaleResourceVersionError(namespace, name, next.metadata.resourceVersion, cur.metadata.resourceVersion ?? '');
    }
    const errors: FieldError[] = [];
    const fixed = ['name', 'namespace', 'uid', 'generateName', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;
    for (const f of fixed) {
      const a = (next.metadata as Record<string, unknown>)[f];
      if (a !== undefined && !deepEqual(a, (cur.metadata as Record<string, unknown>)[f])) {
        errors.push({ type: 'Invalid', field: `metadata.${f}`, value: a, detail: 'field is immutable' });
      }
    }
    const nextAnn = next.metadata?.annotations ?? {};
    const curAnn = cur.metadata.annotations ?? {};
    for (const k of [...IMMUTABLE_PODVISOR_ANNOTATIONS, 'podvisor.io/recreations']) {
      if (nextAnn[k] !== curAnn[k]) errors.push({ type: 'Invalid', field: `metadata.annotations[${k}]`, value: nextAnn[k] ?? '', detail: 'field is immutable' });
    }
    if (next.spec !== undefined && !deepEqual(defaultPod({ ...next, metadata: cur.metadata }).spec, cur.spec)) {
      errors.push({
        type: 'Forbidden',
        field: 'spec',
        detail: 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      });
    }
    if (errors.length > 0) throw new PodInvalidError(namespace, name, errors);
    const v = validatePod({ ...cur, metadata: { ...cur.metadata, labels: next.metadata?.labels ?? {}, annotations: nextAnn } }, { create: false, allowManaged: true });
    if (v.errors.length > 0) throw new PodInvalidError(namespace, name, v.errors);
    worker.setMetadata(next.metadata?.labels, next.metadata?.annotations);
    rec.pod = { ...rec.pod, metadata: { ...rec.pod.metadata } };
    if (next.metadata?.labels) rec.pod.metadata.labels = next.metadata.labels;
    else delete rec.pod.metadata.labels;
    if (next.metadata?.annotations) rec.pod.metadata.annotations = next.metadata.annotations;
    else delete rec.pod.metadata.annotations;
    this.persist(`${namespace}/${name}`, rec, 'MODIFIED');
    return { pod: structuredClone(rec.pod), warnings: v.warnings };
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Pod {
    const { rec, worker } = this.mustGet(namespace, name);
    const grace = gracePeriodSeconds ?? podGraceSeconds(rec.pod);
    if (!rec.pod.metadata.deletionTimestamp) {
      rec.pod.metadata.deletionTimestamp = ts(this.clock.now() + grace * 1000);
      rec.pod.metadata.deletionGracePeriodSeconds = grace;
      this.persist(`${namespace}/${name}`, rec, 'MODIFIED');
    }
    worker.delete(grace);
    return structuredClone(rec.pod);
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
    const all = [...(rec.pod.spec.initContainers ?? []), ...rec.pod.spec.containers];
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
    const rec = this.records.get(`${namespace}/${name}`);
    if (!rec) return false;
    const c = this.containerName(rec, container);
    const st = [...(rec.pod.status?.initContainerStatuses ?? []), ...(rec.pod.status?.containerStatuses ?? [])].find((s) => s.name === c);
    return st?.state.running !== undefined;
  }

  listEvents(namespace?: string): EventObject[] {
    return this.store.listEvents(namespace) as EventObject[];
  }

  restartHistory(namespace: string, name: string): RestartNotice[] {
    return [...this.mustGet(namespace, name).rec.restarts];
  }

  private watch<T>(history: { rv: number; e: WatchEvent<T> }[], watchers: Set<(e: WatchEvent<T>) => void>, initial: () => T[], resourceVersion: string | undefined, onEvent: (e: WatchEvent<T>) => void): Unsubscribe {
    const rv = resourceVersion === undefined || resourceVersion === '' ? 0 : Number(resourceVersion);
    if (!Number.isFinite(rv)) throw new InvalidResourceVersionError(String(resourceVersion));
    if (rv === 0) {
      for (const o of initial()) onEvent({ type: 'ADDED', object: o });
    } else {
      const oldest = history[0]?.rv;
      if (rv < this.store.resourceVersion && (oldest === undefined || rv < oldest - 1)) {
        throw new ResourceVersionExpiredError(rv, this.store.resourceVersion);
      }
      for (const h of history) if (h.rv > rv) onEvent(h.e);
    }
    watchers.add(onEvent);
    return () => watchers.delete(onEvent);
  }

  watchPods(resourceVersion: string | undefined, onEvent: (e: WatchEvent<Pod>) => void): Unsubscribe {
    return this.watch(this.podHistory, this.podWatchers, () => this.listPods(), resourceVersion, onEvent);
  }

  watchEvents(resourceVersion: string | undefined, onEvent: (e: WatchEvent<EventObject>) => void): Unsubscribe {
    return this.watch(this.eventHistory, this.eventWatchers, () => this.listEvents(), resourceVersion, onEvent);
  }

  /** Stops supervision without touching containers' records (the daemon is exiting). */
  dispose(): void {
    this.supervisor.dispose();
  }

  /**
   * Stops the agent because the daemon exits: never a pod event (spec C4, §2.4). From the call
   * on nothing is persisted, published to watches or recorded as an event, and every pod worker
   * is stopped ({@link Supervisor.stop}); each pod's stored record stays its last published
   * state, from which the next start resumes it as after a crash. Resolves when the containers
   * the workers knew have exited (SIGTERM, SIGKILL at each pod's grace period); the caller then
   * closes the runtime, which stops what is left. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.supervisor.stop();
  }
}
