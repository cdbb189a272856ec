/**
 * A small fake of the agent's pod lifecycle for the server's in-process tests. The registry in
 * front of it is the real one (admission, defaulting, validation, update rules, watch caches);
 * this fake only stores what it is given, shows every pod as running at once (scripted
 * status), finishes a deletion after `deleteDelayMs`, keeps log files and events the tests
 * write, answers podvisor's restart verbs with whatever refusal a test scripted, and reports the
 * resource usage a test scripted. It holds no rule of the agent's: what the agent decides is
 * tested against the agent (test/agent).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ContainerStatus, Pod } from '../../src/api/types.js';
import { formatTimestamp } from '../../src/api/time.js';
import { podGraceSeconds } from '../../src/api/defaults.js';
import type { EventObject, RestartNotice } from '../../src/api/records.js';
import { PodAlreadyExistsError, PodNotFoundError, RequestRefusedError, StreamUnavailableError } from '../../src/agent/errors.js';
import type { ChangeSink, ExecStream, ExecStreamOptions, NodeApi, NodeInfo, NodeUsage, PodAdmission, PodUsage, Unsubscribe, WatchEvent } from '../../src/agent/node-api.js';
import type { FileStore } from '../../src/store/file-store.js';

/** The fake agent. Public fields and helpers let tests arrange state. */
export class FakeAgent implements NodeApi {
  private seq = 0;
  readonly pods = new Map<string, Pod>();
  readonly events: EventObject[] = [];
  private readonly sinks = new Set<ChangeSink>();
  private readonly logFiles = new Map<string, string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Every call, for assertions: `[method, ...args]`. */
  readonly calls: unknown[][] = [];
  /** Delay between a delete request and the removal of the pod (DELETED). */
  deleteDelayMs = 50;
  /** The refusal the next restart or re-create answers with (scripted by a test). */
  refusal: string | undefined;
  /** What admission says about every pod (scripted by a test). */
  admission: PodAdmission = { problems: [], warnings: [] };
  /** The pods' usage `podMetrics` answers with, whatever runs (scripted by a test). */
  podUsage: PodUsage[] = [];
  /** The node's usage (scripted by a test). */
  nodeUsage: NodeUsage | undefined;
  /** The node. */
  node: NodeInfo = { name: 'podvisor', since: Date.parse('2026-01-01T00:00:00Z'), addresses: ['127.0.0.1'], allocatable: { cpu: '2', memory: '4Gi', pods: '110' }, runtime: 'host' };

  constructor(private readonly store: FileStore, private readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
  }

  /** Cancels pending deletions. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private bump(): string {
    return String(this.store.nextResourceVersion());
  }

  private emitPod(type: WatchEvent<Pod>['type'], pod: Pod): void {
    const e: WatchEvent<Pod> = { type, object: structuredClone(pod) };
    for (const s of [...this.sinks]) s.pod(e);
  }

  /** Records an event on a pod (a container event when `container` is given). */
  recordEvent(pod: Pod, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal', container?: string): EventObject {
    const rv = this.bump();
    const ts = new Date().toISOString();
    const name = `${pod.metadata.name ?? ''}.${(Date.now() * 1000 + this.seq++).toString(16)}`;
    const io: Record<string, unknown> = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '', apiVersion: 'v1' };
    if (container !== undefined) io['fieldPath'] = `spec.containers{${container}}`;
    const obj: EventObject = {
      kind: 'Event', apiVersion: 'v1',
      metadata: { name, namespace: pod.metadata.namespace ?? 'default', resourceVersion: rv, creationTimestamp: ts } as EventObject['metadata'],
      involvedObject: io as unknown as EventObject['involvedObject'],
      reason, message, type, count: 1, firstTimestamp: ts, lastTimestamp: ts,
      source: { component: 'podvisor', host: 'podvisor' }, reportingComponent: 'podvisor', reportingInstance: 'podvisor',
    };
    this.events.push(obj);
    for (const s of [...this.sinks]) s.event({ type: 'ADDED', object: obj });
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
    return String(this.store.resourceVersion);
  }

  listPods(namespace?: string): Pod[] {
    return [...this.pods.values()].filter((p) => namespace === undefined || p.metadata.namespace === namespace).map((p) => structuredClone(p));
  }

  getPod(namespace: string, name: string): Pod | undefined {
    const p = this.pods.get(`${namespace}/${name}`);
    return p ? structuredClone(p) : undefined;
  }

  admit(pod: Pod): PodAdmission {
    this.calls.push(['admit', pod]);
    return this.admission;
  }

  createPod(admitted: Pod): Pod {
    this.calls.push(['createPod', admitted]);
    const pod = structuredClone(admitted);
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
    if (this.pods.has(key)) throw new PodAlreadyExistsError(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    const now = formatTimestamp(Date.now());
    const ip = `10.244.0.${10 + this.pods.size}`;
    const status = (c: { name: string; image?: string }): ContainerStatus => ({
      name: c.name, image: c.image ?? '', imageID: '', containerID: `podvisor://${randomUUID()}`, ready: true, started: true, restartCount: 0,
      state: { running: { startedAt: now } }, lastState: {},
    });
    pod.status = {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True' as const, lastProbeTime: null, lastTransitionTime: now })),
      hostIP: '127.0.0.1', podIP: ip, podIPs: [{ ip }], startTime: now,
      containerStatuses: pod.spec.containers.map(status),
    };
    pod.metadata.resourceVersion = this.bump();
    this.pods.set(key, pod);
    this.emitPod('ADDED', pod);
    this.recordEvent(pod, 'Scheduled', `Successfully assigned ${key} to podvisor`);
    for (const c of pod.spec.containers) {
      this.recordEvent(pod, 'Created', `Created container: ${c.name}`, 'Normal', c.name);
      this.recordEvent(pod, 'Started', `Started container ${c.name}`, 'Normal', c.name);
    }
    return structuredClone(pod);
  }

  updatePod(namespace: string, name: string, next: Pod): Pod {
    this.calls.push(['updatePod', namespace, name, next]);
    const cur = this.mustGet(namespace, name);
    if (next.metadata.labels) cur.metadata.labels = next.metadata.labels;
    else delete cur.metadata.labels;
    if (next.metadata.annotations) cur.metadata.annotations = next.metadata.annotations;
    else delete cur.metadata.annotations;
    const managed = (next.metadata as { managedFields?: unknown[] }).managedFields;
    if (managed) (cur.metadata as { managedFields?: unknown[] }).managedFields = managed;
    else delete (cur.metadata as { managedFields?: unknown[] }).managedFields;
    cur.spec = structuredClone(next.spec);
    return this.touch(cur);
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Pod {
    this.calls.push(['deletePod', namespace, name, gracePeriodSeconds]);
    const pod = this.mustGet(namespace, name);
    if (pod.metadata.deletionTimestamp) return structuredClone(pod);
    const grace = gracePeriodSeconds ?? podGraceSeconds(pod);
    pod.metadata.deletionTimestamp = formatTimestamp(Date.now() + grace * 1000);
    pod.metadata.deletionGracePeriodSeconds = grace;
    const out = this.touch(pod);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pods.delete(`${namespace}/${name}`);
      pod.metadata.resourceVersion = this.bump();
      this.emitPod('DELETED', pod);
    }, this.deleteDelayMs);
    this.timers.add(t);
    return out;
  }

  restartPod(namespace: string, name: string, opts: { container?: string; requestedBy?: string }): Pod {
    this.calls.push(['restartPod', namespace, name, opts]);
    const pod = this.mustGet(namespace, name);
    if (this.refusal !== undefined) throw new RequestRefusedError(namespace, name, this.refusal);
    const now = formatTimestamp(Date.now());
    for (const s of pod.status?.containerStatuses ?? []) {
      if (opts.container !== undefined && s.name !== opts.container) continue;
      this.recordEvent(pod, 'Killing', `Stopping container ${s.name} to restart it on request`, 'Normal', s.name);
      s.lastState = { terminated: { exitCode: 143, reason: 'Error', startedAt: s.state.running?.startedAt ?? now, finishedAt: now } };
      s.restartCount++;
    }
    return this.touch(pod);
  }

  recreatePod(namespace: string, name: string, opts: { requestedBy?: string }): Pod {
    this.calls.push(['recreatePod', namespace, name, opts]);
    const pod = this.mustGet(namespace, name);
    if (this.refusal !== undefined) throw new RequestRefusedError(namespace, name, this.refusal);
    pod.metadata.uid = randomUUID();
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

  /** What `execStream` starts (scripted by a test: e.g. a real child process); default: refused. */
  exec: ((command: string[], opts: ExecStreamOptions) => ExecStream) | undefined;

  execStream(namespace: string, name: string, container: string | undefined, command: string[], opts: ExecStreamOptions): Promise<ExecStream> {
    this.calls.push(['execStream', namespace, name, container, command, opts]);
    this.mustGet(namespace, name);
    if (!this.exec) return Promise.reject(new StreamUnavailableError(namespace, name, 'no exec scripted'));
    return Promise.resolve(this.exec(command, opts));
  }

  /** What `attachStream` attaches to (scripted by a test); default: refused. */
  attach: ((opts: ExecStreamOptions) => ExecStream) | undefined;

  attachStream(namespace: string, name: string, container: string | undefined, opts: ExecStreamOptions): Promise<ExecStream> {
    this.calls.push(['attachStream', namespace, name, container, opts]);
    this.mustGet(namespace, name);
    if (!this.attach) return Promise.reject(new StreamUnavailableError(namespace, name, 'no attach scripted'));
    return Promise.resolve(this.attach(opts));
  }

  /** Port-forward reaches 127.0.0.1 (the host runtime's network), or the port a test maps it to. */
  portMap = new Map<number, number>();

  portForward(namespace: string, name: string, port: number): Promise<Socket> {
    this.calls.push(['portForward', namespace, name, port]);
    this.mustGet(namespace, name);
    return new Promise((resolve, reject) => {
      const s = connect(this.portMap.get(port) ?? port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  listEvents(namespace?: string): EventObject[] {
    return this.events.filter((e) => namespace === undefined || e.metadata.namespace === namespace).map((e) => structuredClone(e));
  }

  removeEvents(namespace: string): void {
    this.calls.push(['removeEvents', namespace]);
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]?.metadata.namespace === namespace) this.events.splice(i, 1);
  }

  restartHistory(namespace: string, name: string): RestartNotice[] {
    this.mustGet(namespace, name);
    return [];
  }

  configChanged(namespace: string): void {
    this.calls.push(['configChanged', namespace]);
  }

  subscribe(sink: ChangeSink): Unsubscribe {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  podMetrics(namespace?: string): Promise<PodUsage[]> {
    this.calls.push(['podMetrics', namespace]);
    return Promise.resolve(structuredClone(this.podUsage.filter((u) => namespace === undefined || u.namespace === namespace)));
  }

  nodeMetrics(): Promise<NodeUsage | undefined> {
    this.calls.push(['nodeMetrics']);
    return Promise.resolve(structuredClone(this.nodeUsage));
  }

  nodeInfo(): NodeInfo {
    return structuredClone(this.node);
  }

  // ------------------------------------------------------------------ test helpers

  /** Writes (replaces) a container's current or previous log file; another `instance` gives another file. */
  writeLog(namespace: string, name: string, container: string, content: string, previous = false, instance = ''): string {
    const file = join(this.logDir, `${namespace}_${name}_${container}_${previous ? 'previous' : 'current'}${instance}.log`);
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
    const now = new Date().toISOString();
    s.state = { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: s.state.running?.startedAt ?? now, finishedAt: now } };
    s.ready = false;
    this.touch(pod);
  }
}
