/**
 * An in-memory {@link NodeApi} standing in for the node agent in the server's unit tests:
 * a map of pods, a resourceVersion counter, watch listeners with a short history, events and
 * log files in a temporary directory. It mimics the agent's contract: real validation
 * (`src/api`), only labels and annotations mutable, graceful deletion that removes the pod
 * shortly after (then DELETED), restart/recreate refusals as the agent's domain errors.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePod } from '../../src/api/decode.js';
import { defaultPod } from '../../src/api/defaults.js';
import type { FieldError } from '../../src/api/errors.js';
import type { ContainerStatus, Pod } from '../../src/api/types.js';
import { formatTimestamp } from '../../src/api/time.js';
import { validatePod } from '../../src/api/validation.js';
import type { EventObject, RestartNotice } from '../../src/api/records.js';
import {
  InvalidResourceVersionError, PodAlreadyExistsError, PodInvalidError, PodNotFoundError, RequestRefusedError,
  ResourceVersionExpiredError, StaleResourceVersionError, UnknownContainerError,
} from '../../src/agent/errors.js';
import type { NodeApi, Unsubscribe, WatchEvent } from '../../src/agent/node-api.js';

const HISTORY = 1000;

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

/** Options of {@link FakeBackend}. */
export interface FakeBackendOptions {
  /** Directory for log files. */
  logDir: string;
  /** Delay between a delete request and the removal of the pod (DELETED). */
  deleteDelayMs?: number;
}

/** The fake agent. Public fields and helpers let tests arrange state. */
export class FakeBackend implements NodeApi {
  private rv = 0;
  private seq = 0;
  readonly pods = new Map<string, Pod>();
  readonly events: EventObject[] = [];
  private readonly podHistory: { rv: number; e: WatchEvent<Pod> }[] = [];
  private readonly eventHistory: { rv: number; e: WatchEvent<EventObject> }[] = [];
  private readonly podWatchers = new Set<(e: WatchEvent<Pod>) => void>();
  private readonly eventWatchers = new Set<(e: WatchEvent<EventObject>) => void>();
  private readonly logFiles = new Map<string, string>();
  private readonly restarts = new Map<string, RestartNotice[]>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Every call, for assertions: `[method, ...args]`. */
  readonly calls: unknown[][] = [];
  deleteDelayMs: number;

  constructor(private readonly opts: FakeBackendOptions) {
    this.deleteDelayMs = opts.deleteDelayMs ?? 50;
    mkdirSync(opts.logDir, { recursive: true });
  }

  /** Number of open watches (pods + events). */
  get watcherCount(): number {
    return this.podWatchers.size + this.eventWatchers.size;
  }

  /** Cancels pending deletions. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private bump(): string {
    return String(++this.rv);
  }

  private now(): string {
    return new Date().toISOString();
  }

  private emitPod(type: WatchEvent<Pod>['type'], pod: Pod): void {
    const e: WatchEvent<Pod> = { type, object: structuredClone(pod) };
    this.podHistory.push({ rv: Number(pod.metadata.resourceVersion), e });
    if (this.podHistory.length > HISTORY) this.podHistory.shift();
    for (const w of [...this.podWatchers]) w(structuredClone(e));
  }

  /** Records an event on a pod (a container event when `container` is given). */
  recordEvent(pod: Pod, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal', container?: string): EventObject {
    const rv = this.bump();
    const ts = this.now();
    const name = `${pod.metadata.name ?? ''}.${(Date.now() * 1000 + this.seq++).toString(16)}`;
    const io: Record<string, unknown> = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '', apiVersion: 'v1' };
    if (container !== undefined) io['fieldPath'] = `spec.containers{${container}}`;
    const obj: EventObject = {
      kind: 'Event',
      apiVersion: 'v1',
      metadata: { name, namespace: pod.metadata.namespace ?? 'default', resourceVersion: rv, creationTimestamp: ts } as EventObject['metadata'],
      involvedObject: io as unknown as EventObject['involvedObject'],
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      source: { component: 'podvisor', host: 'podvisor' },
      reportingComponent: 'podvisor',
      reportingInstance: 'podvisor',
    };
    this.events.push(obj);
    const e: WatchEvent<EventObject> = { type: 'ADDED', object: obj };
    this.eventHistory.push({ rv: Number(rv), e });
    if (this.eventHistory.length > HISTORY) this.eventHistory.shift();
    for (const w of [...this.eventWatchers]) w(structuredClone(e));
    return obj;
  }

  private mustGet(namespace: string, name: string): Pod {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) throw new PodNotFoundError(namespace, name);
    return p;
  }

  /** Stores a changed pod: new resourceVersion, MODIFIED. */
  touch(pod: Pod): Pod {
    pod.metadata.resourceVersion = this.bump();
    this.emitPod('MODIFIED', pod);
    return structuredClone(pod);
  }

  // ------------------------------------------------------------------ NodeApi

  resourceVersion(): string {
    return String(this.rv);
  }

  listPods(namespace?: string): Pod[] {
    return [...this.pods.values()].filter((p) => namespace === undefined || p.metadata.namespace === namespace).map((p) => structuredClone(p));
  }

  getPod(namespace: string, name: string): Pod | undefined {
    const p = this.pods.get(`${namespace}/${name}`);
    return p ? structuredClone(p) : undefined;
  }

  createPod(body: unknown, opts: { dryRun?: boolean }): { pod: Pod; warnings: string[] } {
    this.calls.push(['createPod', body, opts]);
    const decoded = decodePod(body);
    const pod = defaultPod(decoded.pod);
    const warnings = [...decoded.warnings];
    let errors: FieldError[] = decoded.errors;
    if (errors.length === 0) {
      const v = validatePod(pod, { create: true });
      errors = v.errors;
      warnings.push(...v.warnings);
    }
    const name = pod.metadata.name || pod.metadata.generateName || '';
    if (errors.length > 0) throw new PodInvalidError(pod.metadata.namespace ?? 'default', name, errors);
    if (!pod.metadata.name) pod.metadata.name = `${pod.metadata.generateName ?? ''}${randomUUID().slice(0, 5)}`;
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    if (this.pods.has(key)) throw new PodAlreadyExistsError(pod.metadata.namespace ?? 'default', pod.metadata.name);
    const now = this.now();
    pod.metadata.uid = randomUUID();
    pod.metadata.creationTimestamp = now;
    const status = (c: { name: string; image?: string }): ContainerStatus => ({
      name: c.name, image: c.image ?? '', imageID: '', containerID: `podvisor://${randomUUID()}`, ready: true, started: true, restartCount: 0,
      state: { running: { startedAt: now } }, lastState: {},
    });
    pod.status = {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True' as const, lastProbeTime: null, lastTransitionTime: now })),
      hostIP: '127.0.0.1',
      podIP: `10.244.0.${10 + this.pods.size}`,
      podIPs: [{ ip: `10.244.0.${10 + this.pods.size}` }],
      startTime: now,
      initContainerStatuses: (pod.spec.initContainers ?? []).map((c) => ({ ...status(c), ready: false, started: false, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } } })),
      containerStatuses: pod.spec.containers.map(status),
    };
    if ((pod.spec.initContainers ?? []).length === 0) delete pod.status.initContainerStatuses;
    if (opts.dryRun) return { pod, warnings };
    pod.metadata.resourceVersion = this.bump();
    this.pods.set(key, pod);
    this.emitPod('ADDED', pod);
    this.recordEvent(pod, 'Scheduled', `Successfully assigned ${key} to podvisor`);
    for (const c of pod.spec.containers) {
      this.recordEvent(pod, 'Created', `Created container: ${c.name}`, 'Normal', c.name);
      this.recordEvent(pod, 'Started', `Started container ${c.name}`, 'Normal', c.name);
    }
    return { pod: structuredClone(pod), warnings };
  }

  updatePod(namespace: string, name: string, next: Pod): { pod: Pod; warnings: string[] } {
    this.calls.push(['updatePod', namespace, name, next]);
    const cur = this.mustGet(namespace, name);
    if (next.metadata?.resourceVersion && next.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new StaleResourceVersionError(namespace, name, next.metadata.resourceVersion, cur.metadata.resourceVersion ?? '');
    }
    const errors: FieldError[] = [];
    for (const f of ['name', 'namespace', 'uid'] as const) {
      const a = next.metadata?.[f];
      if (a !== undefined && a !== cur.metadata[f]) errors.push({ type: 'Invalid', field: `metadata.${f}`, value: a, detail: 'field is immutable' });
    }
    if (next.spec !== undefined && !jsonEqual(defaultPod({ ...next, metadata: cur.metadata }).spec, cur.spec)) {
      errors.push({ type: 'Forbidden', field: 'spec', detail: 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)' });
    }
    if (errors.length > 0) throw new PodInvalidError(namespace, name, errors);
    const v = validatePod({ ...cur, metadata: { ...cur.metadata, labels: next.metadata?.labels ?? {}, annotations: next.metadata?.annotations ?? {} } }, { create: false, allowManaged: true });
    if (v.errors.length > 0) throw new PodInvalidError(namespace, name, v.errors);
    if (next.metadata?.labels) cur.metadata.labels = next.metadata.labels;
    else delete cur.metadata.labels;
    if (next.metadata?.annotations) cur.metadata.annotations = next.metadata.annotations;
    else delete cur.metadata.annotations;
    return { pod: this.touch(cur), warnings: v.warnings };
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Pod {
    this.calls.push(['deletePod', namespace, name, gracePeriodSeconds]);
    const pod = this.mustGet(namespace, name);
    if (pod.metadata.deletionTimestamp) return structuredClone(pod);
    const grace = gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    pod.metadata.deletionTimestamp = formatTimestamp(Date.now() + grace * 1000);
    pod.metadata.deletionGracePeriodSeconds = grace;
    const out = this.touch(pod);
    for (const c of pod.spec.containers) this.recordEvent(pod, 'Killing', `Stopping container ${c.name}`, 'Normal', c.name);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pods.delete(`${namespace}/${name}`);
      pod.metadata.resourceVersion = this.bump();
      this.emitPod('DELETED', pod);
    }, this.deleteDelayMs);
    this.timers.add(t);
    return out;
  }

  private refusal(pod: Pod): string | undefined {
    if (pod.metadata.deletionTimestamp) return 'being deleted';
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return pod.status.phase;
    return undefined;
  }

  restartPod(namespace: string, name: string, opts: { container?: string; requestedBy?: string }): Pod {
    this.calls.push(['restartPod', namespace, name, opts]);
    const pod = this.mustGet(namespace, name);
    const state = this.refusal(pod);
    const now = this.now();
    const bumpRestart = (s: ContainerStatus): void => {
      s.lastState = { terminated: { exitCode: 143, reason: 'Error', startedAt: s.state.running?.startedAt ?? now, finishedAt: now } };
      s.state = { running: { startedAt: now } };
      s.restartCount++;
    };
    if (opts.container !== undefined) {
      if ((pod.spec.initContainers ?? []).some((c) => c.name === opts.container && c.restartPolicy !== 'Always')) {
        throw new RequestRefusedError(namespace, name, `pod ${name} cannot restart container ${opts.container}: init container`);
      }
      const s = pod.status?.containerStatuses?.find((c) => c.name === opts.container);
      if (!s) throw new UnknownContainerError(namespace, name, opts.container);
      if (state) throw new RequestRefusedError(namespace, name, `pod ${name} cannot restart container ${opts.container}: ${state}`);
      this.recordEvent(pod, 'Killing', `Stopping container ${opts.container} to restart it on request`, 'Normal', opts.container);
      bumpRestart(s);
    } else {
      if (state) throw new RequestRefusedError(namespace, name, `pod ${name} cannot be restarted: ${state}`);
      this.recordEvent(pod, 'RestartingAllContainers', 'Restarting all containers in place: pod restart requested through the podvisor API');
      for (const s of pod.status?.containerStatuses ?? []) bumpRestart(s);
    }
    const list = this.restarts.get(`${namespace}/${name}`) ?? [];
    const notice: RestartNotice = { time: Date.now(), pod: name, namespace, podUid: pod.metadata.uid ?? '', level: opts.container ? 'container' : 'pod', trigger: 'api', description: 'requested' };
    if (opts.container !== undefined) notice.container = opts.container;
    list.push(notice);
    this.restarts.set(`${namespace}/${name}`, list);
    return this.touch(pod);
  }

  recreatePod(namespace: string, name: string, opts: { requestedBy?: string }): Pod {
    this.calls.push(['recreatePod', namespace, name, opts]);
    const pod = this.mustGet(namespace, name);
    const state = this.refusal(pod);
    if (state) throw new RequestRefusedError(namespace, name, `pod ${name} cannot be re-created: ${state}`);
    const n = Number(pod.metadata.annotations?.['podvisor.io/recreations'] ?? '0') + 1;
    pod.metadata.uid = randomUUID();
    pod.metadata.creationTimestamp = this.now();
    pod.metadata.annotations = { ...pod.metadata.annotations, 'podvisor.io/recreations': String(n) };
    for (const s of pod.status?.containerStatuses ?? []) {
      s.restartCount = 0;
      s.lastState = {};
      s.state = { running: { startedAt: this.now() } };
    }
    this.recordEvent(pod, 'Recreated', `Pod re-created as ${pod.metadata.uid} (re-creation ${n})`);
    return this.touch(pod);
  }

  logPath(namespace: string, name: string, container: string | undefined, previous: boolean): string | undefined {
    this.calls.push(['logPath', namespace, name, container, previous]);
    const pod = this.mustGet(namespace, name);
    const c = container ?? pod.spec.containers[0]?.name ?? '';
    return this.logFiles.get(`${namespace}/${name}/${c}/${previous ? 'previous' : 'current'}`);
  }

  containerRunning(namespace: string, name: string, container: string | undefined): boolean {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return false;
    const c = container ?? pod.spec.containers[0]?.name ?? '';
    return pod.status?.containerStatuses?.find((s) => s.name === c)?.state.running !== undefined;
  }

  listEvents(namespace?: string): EventObject[] {
    return this.events.filter((e) => namespace === undefined || e.metadata.namespace === namespace).map((e) => structuredClone(e));
  }

  restartHistory(namespace: string, name: string): RestartNotice[] {
    this.mustGet(namespace, name);
    return [...(this.restarts.get(`${namespace}/${name}`) ?? [])];
  }

  private watch<T>(history: { rv: number; e: WatchEvent<T> }[], watchers: Set<(e: WatchEvent<T>) => void>, initial: () => T[], resourceVersion: string | undefined, onEvent: (e: WatchEvent<T>) => void): Unsubscribe {
    const rv = resourceVersion === undefined || resourceVersion === '' ? 0 : Number(resourceVersion);
    if (!Number.isFinite(rv)) throw new InvalidResourceVersionError(String(resourceVersion));
    if (rv === 0) {
      for (const o of initial()) onEvent({ type: 'ADDED', object: o });
    } else {
      const oldest = history[0]?.rv;
      if (rv < this.rv && (oldest === undefined || rv < oldest - 1)) throw new ResourceVersionExpiredError(rv, this.rv);
      for (const h of history) if (h.rv > rv) onEvent(structuredClone(h.e));
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

  // ------------------------------------------------------------------ test helpers

  /** Writes (replaces) a container's current or previous log file; another `instance` gives another file. */
  writeLog(namespace: string, name: string, container: string, content: string, previous = false, instance = ''): string {
    const file = join(this.opts.logDir, `${namespace}_${name}_${container}_${previous ? 'previous' : 'current'}${instance}.log`);
    writeFileSync(file, content);
    this.logFiles.set(`${namespace}/${name}/${container}/${previous ? 'previous' : 'current'}`, file);
    return file;
  }

  /** Appends to a container's current log file. */
  appendLog(namespace: string, name: string, container: string, content: string): void {
    const file = this.logFiles.get(`${namespace}/${name}/${container}/current`);
    if (!file) throw new Error('no log');
    appendFileSync(file, content);
  }

  /** Marks a container as exited with `exitCode` (MODIFIED). */
  stopContainer(namespace: string, name: string, container: string, exitCode = 0): void {
    const pod = this.mustGet(namespace, name);
    const s = pod.status?.containerStatuses?.find((c) => c.name === container);
    if (!s) throw new Error('no such container');
    const now = this.now();
    s.state = { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: s.state.running?.startedAt ?? now, finishedAt: now } };
    s.ready = false;
    this.touch(pod);
  }
}
