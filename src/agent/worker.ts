/**
 * One serialized worker per pod: the only place that turns plans into effects.
 *
 * It wakes on container exits, probe results, back-off timers, deletion and restart requests;
 * each wake runs the pure `reconcile` and executes its actions in order (kill, remove, sandbox,
 * init, sidecars, regular: the core lists them in that order). Exits are events (the runtime's
 * `exited` promise), never polled. Long operations (graceful kills, hooks) run in the
 * background and report back through facts + a wake.
 *
 * Its collaborators get a {@link WorkerContext}: worker-actions.ts and worker-start.ts carry out
 * actions, worker-instances.ts supervises instances, worker-resume.ts resumes after a podvisor
 * restart, worker-report.ts tells the owner (status, events, restart records, log lines).
 */
import type { Container, Pod, PodStatus } from '../api/types.js';
import { podGraceSeconds } from '../api/defaults.js';
import { recordDeletion } from '../core/facts.js';
import { newPodState, type PodState } from '../core/model.js';
import {
  reconcile, requestContainerRestart, requestPodRecreate, requestPodRestart, type CoreOptions, type RestartRefusal,
} from '../core/plan/index.js';
import type { ContainerHandle, ContainerRuntime, MountSpec, Sandbox } from '../runtime/types.js';
import type { Clock, Timer } from './clock.js';
import type { InstanceProber } from './prober.js';
import { resetNotice } from './restart-records.js';
import { ConfigVolumes, type PodConfig } from './pod-config.js';
import { mountsFor } from './container-spec.js';
import type { ExitWhileDown } from './adoption.js';
import { actionFailed, executeAction } from './worker-actions.js';
import type { WorkerContext } from './worker-context.js';
import { PodReporter, type WorkerSinks } from './worker-report.js';
import { adopt, replayExits } from './worker-resume.js';

export type { WorkerSinks } from './worker-report.js';

/** Construction options of a {@link PodWorker}, compiled once. */
export interface PodWorkerOptions {
  /** Defaulted, validated pod with `metadata.uid` set. */
  pod: Pod;
  runtime: ContainerRuntime;
  clock: Clock;
  core: CoreOptions;
  sinks: WorkerSinks;
  /** Durable state to resume from; a fresh one otherwise. */
  state?: PodState;
  /** ConfigMaps, Secrets, the volume writer and node facts (env and config volumes). */
  config?: PodConfig;
}

/** The worker of one pod. */
export class PodWorker {
  pod: Pod;
  status: PodStatus | undefined;
  private readonly runtime: ContainerRuntime;
  private readonly clock: Clock;
  private readonly core: CoreOptions;
  private readonly sinks: WorkerSinks;
  /** Writes the pod's ConfigMap, Secret, downward API and projected volumes. */
  private readonly volumes: ConfigVolumes | undefined;
  private sandbox: Sandbox | undefined;
  private readonly handles = new Map<string, ContainerHandle>();
  private readonly probers = new Map<string, InstanceProber>();
  private timer: Timer | undefined;
  private timerAt: number | undefined;
  private dirty = false;
  private running = false;
  private readonly idle: (() => void)[] = [];
  private readonly background = new Set<Promise<unknown>>();
  /** Backing field of {@link state}. */
  private current!: PodState;
  /** Set by {@link stop}: the worker acts on nothing any more. */
  private stopped = false;
  /** Aborted when the pod is deleted or re-created, or the worker stops, during an image pull. */
  private pullAbort: AbortController | undefined;
  /** Set while {@link resume} asks the runtime what is left: nothing is reconciled yet. */
  private resuming = false;
  /** While {@link resume} replays exits found: the exits seen live meanwhile, recorded after them. */
  private heldExits: (() => void)[] | undefined;
  /** Wakes background kill tasks waiting for a SIGKILL deadline when the worker stops. */
  private readonly onStop = new Set<() => void>();
  /** Status, events, restart records and log lines for the owner. */
  private readonly report: PodReporter;
  /** What the collaborators (actions, supervision of instances, resume) see of this worker. */
  private readonly cx: WorkerContext;
  /** GPU device IDs allocated to this pod instance (by the supervisor; durable with the state). */
  get gpus(): string[] {
    return this.state.gpus ?? [];
  }

  set gpus(ids: string[]) {
    this.state = { ...this.state, gpus: ids };
  }

  /**
   * The pod's durable state. After {@link stop} it stays what it was at the stop: every later
   * write is dropped, so nothing observed afterwards (exits, probe results, completed starts,
   * requests) is recorded (spec C4: a podvisor stop is never a pod event).
   */
  get state(): PodState {
    return this.current;
  }

  set state(s: PodState) {
    if (!this.stopped) this.current = s;
  }

  constructor(o: PodWorkerOptions) {
    this.pod = o.pod;
    this.runtime = o.runtime;
    this.clock = o.clock;
    this.core = o.core;
    this.sinks = o.sinks;
    this.volumes = o.config ? new ConfigVolumes(o.config) : undefined;
    this.state = o.state ?? newPodState(o.pod.metadata.uid ?? '', o.clock.now());
    this.report = new PodReporter({
      sinks: o.sinks, clock: o.clock, config: o.config,
      ...(o.state !== undefined && o.pod.status?.podIP !== undefined ? { lastPodIp: o.pod.status.podIP } : {}),
      pod: {
        key: () => this.key, pod: () => this.pod, state: () => this.state, stopped: () => this.stopped, sandbox: () => this.sandbox,
        setStatus: (status) => { this.status = status; },
      },
    });
    this.cx = {
      runtime: o.runtime, clock: o.clock, sinks: o.sinks, config: o.config, volumes: this.volumes,
      handles: this.handles, probers: this.probers, onStop: this.onStop, report: this.report,
      pod: () => this.pod, status: () => this.status, gpus: () => this.gpus, stopped: () => this.stopped,
      state: () => this.state, setState: (s) => { this.state = s; },
      sandbox: () => this.sandbox, setSandbox: (sandbox) => { this.sandbox = sandbox; },
      pullAbort: () => this.pullAbort, setPullAbort: (abort) => { this.pullAbort = abort; },
      heldExits: () => this.heldExits, setHeldExits: (held) => { this.heldExits = held; },
      track: (p) => this.track(p), wake: () => this.wake(), whenIdle: () => this.whenIdle(),
      runningInstance: (container) => this.runningInstance(container),
    };
  }

  /** `namespace/name`. */
  get key(): string {
    return `${this.pod.metadata.namespace ?? 'default'}/${this.pod.metadata.name ?? ''}`;
  }

  /** The pod is terminal (or gone) and nothing of it runs any more. */
  get settled(): boolean {
    const phase = this.state.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed' || this.state.finished === true;
    return terminal && this.handles.size === 0 && !this.running;
  }

  /** Schedules a reconcile (coalesced; never re-entrant). */
  wake(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (!this.running && !this.resuming) void this.drain();
  }

  /** Resolves once the worker has nothing queued (used by tests and shutdown). */
  whenIdle(): Promise<void> {
    if (!this.running && !this.dirty) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Starts deletion (§8.1). */
  delete(graceSeconds?: number): void {
    this.pullAbort?.abort();
    const grace = graceSeconds ?? podGraceSeconds(this.pod);
    this.state = recordDeletion(this.state, this.clock.now(), grace);
    this.wake();
  }

  /**
   * Resumes a pod after a podvisor restart (§4.10, §2.4), from its stored state and what the
   * runtime still finds of its instances (`findInstances`, adoption.ts); nothing is reconciled
   * before that is known (requests that arrive meanwhile are recorded and wait).
   *
   * - An instance found running is re-adopted: same ID, restartCount and start time, no event;
   *   it is supervised exactly as a freshly started one (its exit is recorded, its probes run).
   * - An instance that exited while podvisor was down is an ordinary exit: after the sandbox is
   *   re-attached, such exits are recorded one at a time, oldest `finishedAt` first, each
   *   followed by a full reconcile, so each is decided by the normal rules as if it had been
   *   seen live (policy and rules, CrashLoopBackOff from the real `finishedAt`, resets, phase).
   *   Exits of running instances seen meanwhile are recorded after them (they are later).
   * - An instance the runtime cannot find (`unknown`: a runtime without monitors answers that
   *   for every instance) becomes `ContainerStatusUnknown` and starts again without rule
   *   evaluation.
   *
   * What the earlier process left that was not adopted is killed by the runtime
   * ({@link ContainerRuntime.reapOrphans}) before the sandbox is re-attached. Reset targets stay
   * targets, kills of a deletion complete, back-off timers are re-armed from the stored
   * entries. Resolves once the exits found have been replayed.
   */
  async resume(): Promise<void> {
    this.resuming = true;
    let exits: readonly ExitWhileDown[] | undefined;
    try {
      // Adopts what the runtime finds, reaps the rest, re-attaches the sandbox (worker-resume.ts).
      exits = await adopt(this.cx);
    } finally {
      this.resuming = false;
    }
    if (this.stopped) return;
    if (exits) await replayExits(this.cx, exits);
  }

  /** Current (or previous) log file of a container. */
  /** The runtime ID of the container's instance while it runs (exec, attach), else undefined. */
  runningInstance(container: string): string | undefined {
    const inst = this.state.containers[container]?.instance;
    return inst?.phase === 'running' && inst.id !== '' ? inst.id : undefined;
  }

  /** The pod's sandbox while it exists (port-forward), else undefined. */
  liveSandbox(): Sandbox | undefined {
    return this.state.sandbox.state === 'ready' ? this.sandbox : undefined;
  }

  logPath(container: string, previous: boolean): string | undefined {
    return this.runtime.logPath(this.state.uid, container, previous);
  }

  /** Re-create through the API (§4.11). */
  recreate(): RestartRefusal | { ok: true } {
    const r = requestPodRecreate(this.pod, this.state, this.clock.now());
    if ('refused' in r) return r;
    this.pullAbort?.abort();
    this.state = r.state;
    this.wake();
    return { ok: true };
  }

  /** Replaces labels and annotations (the only mutable pod fields) and republishes. */
  setMetadata(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): void {
    this.pod = { ...this.pod, metadata: { ...this.pod.metadata } };
    if (labels) this.pod.metadata.labels = labels;
    else delete this.pod.metadata.labels;
    if (annotations) this.pod.metadata.annotations = annotations;
    else delete this.pod.metadata.annotations;
    this.report.forgetPublished();
    if (this.status) this.report.publish(this.status);
    this.refreshVolumes(); // downward API files show labels and annotations
  }

  /**
   * The pod's spec was updated through the API (container images, `activeDeadlineSeconds`,
   * added tolerations: what the API server lets change): the next reconcile restarts a running
   * container whose image changed (§2.4 definition change) and applies the new deadline.
   */
  setSpec(spec: Pod['spec']): void {
    if (this.stopped) return;
    this.pod = { ...this.pod, spec: structuredClone(spec) };
    this.wake();
  }

  /**
   * A ConfigMap or Secret of the pod's namespace changed: the config volumes of a pod with a
   * sandbox are written again (atomically; a running container sees the new files), and a
   * container waiting for a missing object or key is tried again (its back-off still applies).
   */
  configChanged(): void {
    if (this.stopped) return;
    this.refreshVolumes();
    this.wake();
  }

  private refreshVolumes(): void {
    const sandbox = this.sandbox;
    if (this.stopped || !sandbox || !this.volumes?.has(this.pod)) return;
    const p = this.volumes.write(this.pod, sandbox).then(
      (failed) => {
        if (failed && !this.stopped) this.report.emit({ type: 'Warning', reason: 'FailedMount', message: failed.message });
      },
      (err: unknown) => this.report.log('warn', 'cannot update a config volume', { error: err instanceof Error ? err.message : String(err) }),
    );
    this.track(p);
  }

  /** Restart API (§2.8, §4.1 T2): one container, or the whole pod in place. */
  restart(container?: string): RestartRefusal | { ok: true } {
    const now = this.clock.now();
    if (container === undefined) {
      const r = requestPodRestart(this.pod, this.state, now);
      if ('refused' in r) return r;
      this.state = r.state;
      for (const e of r.events) this.report.emit(e);
    } else {
      const r = requestContainerRestart(this.pod, this.state, container, now);
      if ('refused' in r) return r;
      this.state = r.state;
    }
    this.wake();
    return { ok: true };
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let guard = 0; this.dirty && guard < 10_000; guard++) {
        this.dirty = false;
        const r = reconcile({ pod: this.pod, state: this.state, now: this.clock.now(), options: this.core });
        this.state = r.state;
        for (const e of r.events) this.report.emit(e);
        // The restart record of an in-place restart, once its record closed (§4.6).
        if (r.resetClosed) this.report.notice(resetNotice(r.resetClosed, this.clock.now()));
        this.report.publish(r.status);
        this.arm(r.wakeAt);
        for (const a of r.actions) {
          // After stop() the rest of the plan is dropped: the next start resumes from the state.
          if (this.stopped) break;
          try {
            await executeAction(this.cx, a);
          } catch (err) {
            if (!this.stopped) actionFailed(this.cx, a, err);
          }
        }
        if (this.stopped) break;
        if (r.actions.length > 0 || r.requeue) this.dirty = true;
      }
    } finally {
      this.running = false;
    }
    if (this.dirty) return this.drain();
    const waiters = this.idle.splice(0);
    for (const w of waiters) w();
    this.sinks.onIdle?.();
  }

  private arm(at: number | undefined): void {
    if (at === this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = at === undefined ? undefined : this.clock.at(at, () => {
      this.timerAt = undefined;
      this.wake();
    });
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** The mounts of a container: volumeMounts resolved against the sandbox. */
  mountsFor(c: Container): MountSpec[] {
    return mountsFor(this.pod, c, this.sandbox);
  }

  /** Waits for background kills and hooks (bounded by their own deadlines). */
  async drainBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /**
   * Stops supervising the pod because podvisor itself stops: never a pod event (spec C4, §2.4).
   *
   * At the call, synchronously: the reconcile timer, the probes and the background kills are
   * cancelled and the state is frozen. From then on nothing is reconciled, started, restarted,
   * recorded or published (so the owner persists nothing more): an action in flight that
   * completes later records nothing and the rest of its plan is dropped; exits, probe results
   * and requests that arrive later are ignored. The stored state stays the last one published,
   * and the next podvisor process resumes from it ({@link resume}, §4.10, §2.4).
   *
   * With `keepContainers` (the runtime's containers outlive podvisor) no signal is sent: the
   * containers keep running under their monitors and the next start re-adopts them; resolves
   * at once. Without it, the instances the worker knows get SIGTERM (main process) and, when
   * they still run at the pod's grace period (`terminationGracePeriodSeconds`, default 30 s),
   * SIGKILL; no preStop hook runs. Resolves once they have exited. An instance whose start
   * completes after the stop is not known here: the runtime's `close` stops (or keeps) it.
   * Idempotent: only the first call acts.
   */
  async stop(opts: { keepContainers?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pullAbort?.abort();
    this.dirty = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = undefined;
    for (const p of this.probers.values()) p.stop();
    this.probers.clear();
    for (const end of this.onStop) end();
    this.onStop.clear();
    if (opts.keepContainers) return;
    const live = [...this.handles.values()];
    if (live.length === 0) return;
    const exited = Promise.all(live.map((h) => h.exited.then(() => undefined, () => undefined)));
    for (const h of live) this.runtime.signal(h.id, 'SIGTERM');
    let t: Timer | undefined;
    const grace = new Promise<void>((resolve) => {
      t = this.clock.at(this.clock.now() + podGraceSeconds(this.pod) * 1000, resolve);
    });
    await Promise.race([exited, grace]);
    t?.cancel();
    // killAll is a no-op for an instance that has exited.
    await Promise.all(live.map((h) => this.runtime.killAll(h.id)));
  }

  /** Stops probes and timers (the runtime's close stops or keeps what is left). */
  dispose(): void {
    this.timer?.cancel();
    for (const p of this.probers.values()) p.stop();
    this.probers.clear();
  }
}
