/**
 * One serialized worker per pod: the only place that turns plans into effects.
 *
 * It wakes on container exits, probe results, back-off timers, deletion and restart requests;
 * each wake runs the pure `reconcile` and executes its actions in order (kill, remove, sandbox,
 * init, sidecars, regular: the core lists them in that order). Exits are events (the runtime's
 * `exited` promise), never polled. Long operations (graceful kills, hooks) run in the
 * background and report back through facts + a wake.
 */
import type { Container, Pod, PodStatus } from '../api/types.js';
import { ANN_RECREATIONS, readPodvisorSettings } from '../api/annotations.js';
import { podGraceSeconds } from '../api/defaults.js';
import { restartTriggerLabel } from '../api/restart-trigger.js';
import {
  recordCreated, recordDeletion, recordExited, recordKillFailed, recordPostStartFailed, recordProbe, recordSandboxFailed, recordSandboxReady,
  recordStarted, recordStartFailed,
} from '../core/facts.js';
import { newPodState, type PodState } from '../core/model.js';
import {
  reconcile, requestContainerRestart, requestPodRecreate, requestPodRestart, type Action, type ClosedReset, type CoreOptions,
  type PodEvent, type RestartRefusal,
} from '../core/plan/index.js';
import { StartError, type PulledImage, type PullProgress, type ContainerHandle, type ContainerRuntime, type ExitInfo, type MountSpec, type Sandbox, type SandboxSpec } from '../runtime/types.js';
import type { Clock, Timer } from './clock.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';
import { InstanceProber, type ProbeKind } from './prober.js';
import { containerRestartNotice, endedRun, resetNotice } from './restart-records.js';
import { ConfigVolumes, imagePullSecrets, NO_OBJECTS, type PodConfig } from './pod-config.js';
import { allContainers, containerStartSpec, mountsFor } from './container-spec.js';
import { ensureImage } from './images.js';
import { adoptionOf, findInstances, type ExitWhileDown } from './adoption.js';

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

/** The exit as the core records it (D10). */
function exitFact(exit: ExitInfo): { exitCode: number; finishedAt: number; oomKilled?: boolean; message?: string } {
  const e: { exitCode: number; finishedAt: number; oomKilled?: boolean; message?: string } = { exitCode: exit.exitCode, finishedAt: exit.finishedAt };
  if (exit.oomKilled) e.oomKilled = true;
  if (exit.message !== undefined && exit.message !== '') e.message = exit.message;
  return e;
}

const PROBE_TITLE: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

/** The worker of one pod. */
export class PodWorker {
  pod: Pod;
  status: PodStatus | undefined;
  private readonly runtime: ContainerRuntime;
  private readonly clock: Clock;
  private readonly core: CoreOptions;
  private readonly sinks: WorkerSinks;
  private readonly config: PodConfig | undefined;
  /** Writes the pod's ConfigMap, Secret, downward API and projected volumes. */
  private readonly volumes: ConfigVolumes | undefined;
  private sandbox: Sandbox | undefined;
  private readonly handles = new Map<string, ContainerHandle>();
  private readonly probers = new Map<string, InstanceProber>();
  private timer: Timer | undefined;
  private timerAt: number | undefined;
  private dirty = false;
  private running = false;
  private lastStatusJson = '';
  /** The pod IP while it last ran: a terminal pod keeps publishing it. */
  private lastPodIp: string | undefined;
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
    this.config = o.config;
    this.volumes = o.config ? new ConfigVolumes(o.config) : undefined;
    this.state = o.state ?? newPodState(o.pod.metadata.uid ?? '', o.clock.now());
    if (o.state !== undefined && o.pod.status?.podIP !== undefined) this.lastPodIp = o.pod.status.podIP;
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
   * runtime still finds of its instances ({@link findInstances}); nothing is reconciled before
   * that is known (requests that arrive meanwhile are recorded and wait).
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
      exits = await this.adopt();
    } finally {
      this.resuming = false;
    }
    if (this.stopped) return;
    if (exits) await this.replayExits(exits);
  }

  /**
   * The first part of {@link resume}: adopts what the runtime finds, reaps the rest, re-attaches
   * the sandbox. Returns the exits found, oldest first (undefined once stopped).
   */
  private async adopt(): Promise<readonly ExitWhileDown[] | undefined> {
    const now = this.clock.now();
    const found = await findInstances(this.runtime, this.state);
    if (this.stopped) return undefined;
    const adopted = new Set(found.flatMap((f) => (f.found.state === 'running' ? [f.found.handle.id] : [])));
    const reaped = (await this.runtime.reapOrphans?.(this.state.uid, adopted)) ?? 0;
    if (this.stopped) return undefined;
    let sandbox: Sandbox | undefined;
    if (this.state.sandbox.state === 'ready' || this.state.sandbox.state === 'creating') {
      sandbox = await this.runtime.createSandbox(this.sandboxSpec(this.state.uid));
      if (this.stopped) return undefined;
      this.sandbox = sandbox;
    }
    // Recorded on the state as it is now: requests that arrived meanwhile are kept.
    const adoption = adoptionOf(this.state, this.pod, found, now);
    this.state = sandbox ? recordSandboxReady(adoption.state, now) : adoption.state;
    // Exits of adopted instances seen from now on happened after those found: they wait for
    // the replay (an exit already reported by the runtime is delivered after this call too).
    if (adoption.exited.length > 0) this.heldExits = [];
    const specs = allContainers(this.pod);
    for (const { container, handle } of adoption.running) {
      const spec = specs.find((c) => c.name === container);
      if (spec) this.watch(container, spec, handle, this.state.containers[container]?.instance?.started === true);
    }
    this.log('info', 'pod resumed after a podvisor restart', {
      adopted: adoption.running.length, exitedWhileDown: adoption.exited.length, lost: adoption.lost, leftoverContainers: reaped,
    });
    return adoption.exited;
  }

  /**
   * Records exits that happened while podvisor was down, in order, each followed by a full
   * reconcile (see {@link resume}); exits seen live meanwhile are held until the end.
   */
  private async replayExits(exits: readonly ExitWhileDown[]): Promise<void> {
    if (exits.length === 0) {
      this.wake();
      return;
    }
    try {
      for (const { container, instanceId, exit } of exits) {
        if (this.stopped) return;
        this.state = recordExited(this.state, container, instanceId, exitFact(exit));
        this.log('info', 'container exited while podvisor was down', {
          container, containerID: instanceId, exitCode: exit.exitCode, finishedAt: new Date(exit.finishedAt).toISOString(),
        });
        this.wake();
        await this.whenIdle();
      }
    } finally {
      const held = this.heldExits ?? [];
      this.heldExits = undefined;
      for (const record of held) record();
    }
  }

  /** What the runtime needs to build (or re-attach) this pod's sandbox. */
  private sandboxSpec(podUid: string): SandboxSpec {
    const spec: SandboxSpec = {
      podUid, podName: this.pod.metadata.name ?? '', namespace: this.pod.metadata.namespace ?? 'default',
      emptyDirs: (this.pod.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name),
      shareProcessNamespace: this.pod.spec.shareProcessNamespace === true,
    };
    const init = readPodvisorSettings(this.pod.metadata.annotations).containerInit;
    if (init !== undefined) spec.containerInit = init;
    const fsGroup = this.pod.spec.securityContext?.fsGroup;
    if (fsGroup !== undefined) spec.fsGroup = fsGroup;
    return spec;
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
    this.lastStatusJson = '';
    if (this.status) this.publish(this.status);
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
        if (failed && !this.stopped) this.emit({ type: 'Warning', reason: 'FailedMount', message: failed.message });
      },
      (err: unknown) => this.log('warn', 'cannot update a config volume', { error: err instanceof Error ? err.message : String(err) }),
    );
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Restart API (§2.8, §4.1 T2): one container, or the whole pod in place. */
  restart(container?: string): RestartRefusal | { ok: true } {
    const now = this.clock.now();
    if (container === undefined) {
      const r = requestPodRestart(this.pod, this.state, now);
      if ('refused' in r) return r;
      this.state = r.state;
      for (const e of r.events) this.emit(e);
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
        for (const e of r.events) this.emit(e);
        if (r.resetClosed) this.recordReset(r.resetClosed);
        this.publish(r.status);
        this.arm(r.wakeAt);
        for (const a of r.actions) {
          // After stop() the rest of the plan is dropped: the next start resumes from the state.
          if (this.stopped) break;
          try {
            await this.execute(a);
          } catch (err) {
            if (!this.stopped) this.actionFailed(a, err);
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

  /** The restart record of an in-place restart, once its record closed (§4.6). */
  private recordReset(closed: ClosedReset): void {
    this.notice(resetNotice(closed, this.clock.now()));
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

  private publish(status: PodStatus): void {
    if (this.stopped) return;
    const full: PodStatus = { ...status };
    full.hostIP = this.config?.node.hostIPs[0] ?? '127.0.0.1';
    full.hostIPs = (this.config?.node.hostIPs ?? ['127.0.0.1']).map((ip) => ({ ip }));
    const live = this.sandbox?.ip ?? (this.state.sandbox.state === 'ready' ? '127.0.0.1' : undefined);
    const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
    if (live !== undefined && !terminal) this.lastPodIp = live;
    // A terminal pod keeps the IP it last had, as on Kubernetes (kubernetes#125370).
    const ip = terminal ? this.lastPodIp : live;
    if (ip !== undefined) {
      full.podIP = ip;
      full.podIPs = [{ ip }];
    }
    const json = JSON.stringify(full);
    this.status = full;
    if (json === this.lastStatusJson) return;
    this.lastStatusJson = json;
    this.sinks.onStatus({ ...this.pod, status: full }, this.state);
  }

  private emit(e: PodEvent): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const ev: RecordedEvent = {
      firstTimestamp: now, lastTimestamp: now, count: 1, type: e.type, reason: e.reason, message: e.message,
      involvedObject: {
        kind: 'Pod', name: this.pod.metadata.name ?? '', namespace: this.pod.metadata.namespace ?? 'default', uid: this.state.uid,
      },
    };
    if (e.fieldPath !== undefined) ev.involvedObject.fieldPath = e.fieldPath;
    if (e.container !== undefined) ev.container = e.container;
    if (e.escalation !== undefined) ev.escalation = e.escalation;
    this.sinks.onEvent(ev);
  }

  private containerEvent(name: string, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const isInit = (this.pod.spec.initContainers ?? []).some((c) => c.name === name);
    const isEph = (this.pod.spec.ephemeralContainers ?? []).some((c) => c.name === name);
    const list = isInit ? 'initContainers' : isEph ? 'ephemeralContainers' : 'containers';
    this.emit({ type, reason, message, container: name, fieldPath: `spec.${list}{${name}}` });
  }

  private notice(n: Omit<RestartNotice, 'time' | 'pod' | 'namespace' | 'podUid'>): void {
    if (this.stopped) return;
    this.sinks.onRestart?.({
      time: this.clock.now(), pod: this.pod.metadata.name ?? '', namespace: this.pod.metadata.namespace ?? 'default', podUid: this.state.uid, ...n,
    });
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    this.sinks.log?.(level, msg, { pod: this.key, podUid: this.state.uid, ...fields });
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** The mounts of a container: volumeMounts resolved against the sandbox. */
  mountsFor(c: Container): MountSpec[] {
    return mountsFor(this.pod, c, this.sandbox);
  }

  private async execute(a: Action): Promise<void> {
    switch (a.type) {
      case 'createSandbox': {
        let sandbox: Sandbox;
        try {
          sandbox = await this.runtime.createSandbox(this.sandboxSpec(this.state.uid));
        } catch (err) {
          if (this.stopped) return;
          // FailedCreatePodSandBox: the core records the event and retries with back-off.
          const message = err instanceof Error ? err.message : String(err);
          this.state = recordSandboxFailed(this.state, message, this.clock.now());
          this.log('warn', 'sandbox creation failed', { attempt: a.attempt, error: message });
          return;
        }
        if (this.stopped) return;
        this.sandbox = sandbox;
        this.state = recordSandboxReady(this.state, this.clock.now());
        return;
      }
      case 'releaseSandbox': {
        for (const p of this.probers.values()) p.stop();
        if (this.sandbox) await this.runtime.releaseSandbox(this.sandbox, { deleteData: this.state.finished === true });
        return;
      }
      case 'start':
        return this.start(a);
      case 'kill':
        return this.kill(a);
      case 'preStop': {
        const spec = allContainers(this.pod).find((c) => c.name === a.container);
        if (spec?.lifecycle?.preStop?.exec) this.track(this.runHook(a.container, a.instanceId, 'preStop', this.clock.now() + podGraceSeconds(this.pod) * 1000));
        return;
      }
      case 'remove': {
        this.probers.get(a.instanceId)?.stop();
        this.probers.delete(a.instanceId);
        this.handles.delete(a.instanceId);
        if (a.instanceId !== '') await this.runtime.removeContainer(a.instanceId);
        return;
      }
      case 'recreatePod': {
        // Also when this process has no sandbox object (released before a podvisor restart).
        await this.runtime.releaseSandbox(this.sandbox ?? { podUid: this.state.uid }, { deleteData: true });
        if (this.stopped) return; // the next start re-creates it from the stored state
        // The stop record says what asked for the re-creation (the API or the budget ladder).
        const trigger = this.state.stopping?.trigger ?? { kind: 'api' };
        const removed = Object.values(this.state.containers).map((r) => endedRun(r, undefined)).filter((x) => x !== undefined);
        const stopAt = this.state.stopping?.at;
        const source = this.state.stopping?.source;
        this.notice({
          level: 'recreate', trigger: restartTriggerLabel(trigger, 'recreate'), cause: trigger, description: this.state.stopping?.message ?? 're-created', removed,
          ...(source !== undefined ? { container: source } : {}),
          ...(stopAt !== undefined ? { latencyMs: Math.max(0, this.clock.now() - stopAt) } : {}),
        });
        const pod: Pod = structuredClone(this.pod);
        pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [ANN_RECREATIONS]: String(a.recreations) };
        this.sinks.onRecreate?.(pod, a.recreations);
        return;
      }
      case 'deletePod': {
        await this.runtime.releaseSandbox(this.sandbox ?? { podUid: this.state.uid }, { deleteData: true });
        if (this.stopped) return; // the next start completes the deletion from the stored state
        this.sinks.onDeleted?.({ ...this.pod, status: this.status ?? {} }, this.state);
        return;
      }
    }
  }

  /**
   * An action the runtime could not carry out is never silent: a Warning event names it, and
   * what must be retried is recorded as a fact the core retries (sandbox creation and kills;
   * start errors are recorded by `start` itself).
   */
  private actionFailed(a: Action, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.log('error', 'action failed', { action: a.type, error: message });
    switch (a.type) {
      case 'kill':
        this.killFailed(a, message);
        return;
      case 'remove':
        this.containerEvent(a.container, 'Warning', 'Failed', `Error: cannot remove container ${a.container}: ${message}`);
        return;
      case 'releaseSandbox':
      case 'deletePod':
      case 'recreatePod':
        this.emit({ type: 'Warning', reason: 'FailedKillPod', message: `error killing pod: ${message}` });
        return;
      default:
        this.emit({ type: 'Warning', reason: 'FailedSync', message: `error executing ${a.type}: ${message}` });
    }
  }

  /** A kill failed: `FailedKillPod`, and the core orders it again after a short delay. */
  private killFailed(a: Extract<Action, { type: 'kill' }>, message: string): void {
    this.containerEvent(a.container, 'Warning', 'FailedKillPod', `error killing container ${a.container}: ${message}`);
    this.state = recordKillFailed(this.state, a.container, a.instanceId, this.clock.now());
    this.wake();
  }

  private async start(a: Extract<Action, { type: 'start' }>): Promise<void> {
    const spec = allContainers(this.pod).find((c) => c.name === a.container);
    if (!spec || !this.sandbox) return;
    if (a.replaces) {
      this.probers.get(a.replaces)?.stop();
      this.probers.delete(a.replaces);
      this.handles.delete(a.replaces);
      await this.runtime.removeContainer(a.replaces);
      if (this.stopped) return;
    }
    const rc = this.state.containers[a.container]?.restartCount ?? 0;
    const notice = containerRestartNotice(a.cause, a.container, rc);
    const ended = notice ? endedRun(this.state.containers[a.container], a.replaces) : undefined;
    if (notice && ended) notice.ended = ended;
    let image: PulledImage | undefined;
    if (this.runtime.images) {
      const abort = new AbortController();
      this.pullAbort = abort;
      const secrets = imagePullSecrets(this.pod, this.config?.lookups ?? NO_OBJECTS);
      if (secrets.missing.length > 0) {
        this.emit({ type: 'Warning', reason: 'FailedToRetrieveImagePullSecret', message: `Unable to retrieve some image pull secrets (${secrets.missing.join(', ')}); attempting to pull the image may not succeed.` });
      }
      const found = await ensureImage(this.runtime.images, spec, {
        pullSecrets: secrets.texts,
        signal: abort.signal,
        now: () => this.clock.now(),
        event: (e) => this.containerEvent(a.container, e.type, e.reason, e.message),
        ...(this.sinks.onPullProgress ? { onProgress: (p: PullProgress) => this.sinks.onPullProgress?.(a.container, p) } : {}),
      }).finally(() => {
        if (this.pullAbort === abort) this.pullAbort = undefined;
      });
      if (this.stopped) return;
      if (!found.ok && 'abandoned' in found) {
        // Deleted or re-created meanwhile: the next reconcile acts on that; the start never happened.
        this.state = recordStartFailed(this.state, a.container, 'CreateContainerError', 'the image pull was abandoned', this.clock.now());
        return;
      }
      if (!found.ok) {
        this.state = recordStartFailed(this.state, a.container, found.reason, found.message, this.clock.now());
        this.containerEvent(a.container, 'Warning', 'Failed', `Error: ${found.reason}`);
        if (notice) this.notice(notice);
        return;
      }
      image = found.image;
    }
    // The volumes it mounts are written first; one that cannot be set up keeps it waiting in
    // ContainerCreating (FailedMount), retried with back-off and on every change of its objects.
    if (this.volumes) {
      const failed = await this.volumes.write(this.pod, this.sandbox, spec);
      if (this.stopped) return;
      if (failed) {
        this.state = recordStartFailed(this.state, a.container, 'ContainerCreating', failed.message, this.clock.now());
        this.emit({ type: 'Warning', reason: 'FailedMount', message: failed.message });
        if (notice) this.notice(notice);
        return;
      }
    }
    const built = containerStartSpec(this.pod, spec, this.sandbox, {
      restartCount: rc, podRestartCount: this.state.resetCount ?? 0, gpus: this.gpus, ...(this.config ? { config: this.config } : {}),
      runningInstance: (name) => this.runningInstance(name),
    }, image);
    if ('configError' in built) {
      this.state = recordStartFailed(this.state, a.container, 'CreateContainerConfigError', built.configError, this.clock.now());
      this.containerEvent(a.container, 'Warning', 'Failed', `Error: ${built.configError}`);
      if (notice) this.notice(notice);
      return;
    }
    const startSpec = built.spec;
    let handle: ContainerHandle;
    try {
      handle = await this.runtime.startContainer(startSpec);
    } catch (err) {
      if (this.stopped) return; // a start failing because podvisor stops is no start error
      const reason = err instanceof StartError ? err.reason : 'RunContainerError';
      const msg = err instanceof Error ? err.message : String(err);
      this.state = recordStartFailed(this.state, a.container, reason, msg, this.clock.now());
      this.containerEvent(a.container, 'Warning', 'Failed', `Error: ${msg}`);
      this.log('warn', 'container start failed', { container: a.container, error: msg });
      if (notice) this.notice(notice);
      return;
    }
    // Started after stop(): not recorded and not watched; the runtime's close stops it.
    if (this.stopped) return;
    const id = handle.id;
    this.state = recordCreated(this.state, a.container, id, handle.startedAt, image ? { name: image.name, imageID: image.imageID } : undefined, spec.image ?? '');
    this.containerEvent(a.container, 'Normal', 'Created', `Created container: ${a.container}`);
    this.state = recordStarted(this.state, a.container, id, handle.startedAt, spec.startupProbe !== undefined, spec.readinessProbe !== undefined);
    this.containerEvent(a.container, 'Normal', 'Started', `Started container ${a.container}`);
    if (notice) {
      if (a.cause.finishedAt !== undefined) notice.latencyMs = Math.max(0, handle.startedAt - a.cause.finishedAt);
      this.notice(notice);
    }
    this.log('info', 'container started', { container: a.container, containerID: id, pid: handle.pid, restartCount: rc });
    this.watch(a.container, spec, handle);
    // postStart must finish before the next container of the pass starts (§3.3).
    if (spec.lifecycle?.postStart?.exec) {
      const ok = await this.runHook(a.container, id, 'postStart', this.clock.now() + podGraceSeconds(this.pod) * 1000);
      if (!ok && this.handles.has(id) && !this.stopped) {
        this.state = recordPostStartFailed(this.state, a.container, id, 'PostStartHook failed', this.clock.now());
        await this.runtime.killAll(id);
      }
    }
  }

  /**
   * Supervises a running instance: a freshly started one, or one re-adopted after a podvisor
   * restart (the same code for both, so an adopted instance is watched exactly as a started
   * one). Its exit is recorded and wakes the worker; its probes start. `started`: the instance
   * already passed its startup probe (an adopted one), so liveness and readiness start at once.
   */
  private watch(container: string, spec: Container, handle: ContainerHandle, started = false): void {
    const id = handle.id;
    this.handles.set(id, handle);
    void handle.exited.then((exit) => {
      if (this.stopped) return; // stopped by podvisor itself (or after it stopped): no pod event
      this.probers.get(id)?.stop();
      this.probers.delete(id);
      this.handles.delete(id);
      const record = (): void => {
        this.state = recordExited(this.state, container, id, exitFact(exit));
        this.log('info', 'container exited', { container, containerID: id, exitCode: exit.exitCode });
        this.wake();
      };
      if (this.heldExits) this.heldExits.push(record);
      else record();
    });
    const prober = new InstanceProber({
      runtime: this.runtime, clock: this.clock, container: spec, instanceId: id, host: this.sandbox?.ip ?? '127.0.0.1',
      onResult: (kind, result) => {
        if (this.stopped) return;
        this.state = recordProbe(this.state, container, id, kind, result);
        this.wake();
      },
      onFailure: (kind, output) => {
        if (this.stopped || this.state.deletion) return;
        this.containerEvent(container, 'Warning', 'Unhealthy', `${PROBE_TITLE[kind]} probe failed: ${output}`);
      },
    });
    if (prober.start({ started })) this.probers.set(id, prober);
  }

  /** Runs an exec lifecycle hook; returns false (and records the event) on failure. */
  private async runHook(container: string, id: string, hook: 'postStart' | 'preStop', deadline: number): Promise<boolean> {
    const spec = allContainers(this.pod).find((c) => c.name === container);
    const cmd = spec?.lifecycle?.[hook]?.exec?.command;
    if (!cmd || cmd.length === 0) return true;
    const r = await this.runtime.exec(id, cmd, { timeoutMs: Math.max(1000, deadline - this.clock.now()) });
    if (r.exitCode === 0 && !r.timedOut) return true;
    if (hook === 'postStart') this.containerEvent(container, 'Warning', 'FailedPostStartHook', 'PostStartHook failed');
    else this.containerEvent(container, 'Warning', 'FailedPreStopHook', 'PreStopHook failed');
    this.log('warn', 'lifecycle hook failed', { container, hook, exitCode: r.exitCode, output: r.output.slice(0, 500) });
    return false;
  }

  private kill(a: Extract<Action, { type: 'kill' }>): void {
    const handle = this.handles.get(a.instanceId);
    this.probers.get(a.instanceId)?.stop();
    if (!handle) return;
    const task = (async () => {
      let exited = false;
      const exitP = handle.exited.then(() => {
        exited = true;
      });
      if (a.preStop) await this.runHook(a.container, a.instanceId, 'preStop', a.sigkillAt);
      // After stop() the kill is the stop's business (PodWorker.stop): this task ends.
      if (exited || this.stopped) return;
      if (!a.sigterm) {
        await this.runtime.killAll(a.instanceId);
        return;
      }
      this.runtime.signal(a.instanceId, 'SIGTERM');
      let t: Timer | undefined;
      let end!: () => void;
      const deadline = new Promise<void>((resolve) => {
        end = resolve;
        t = this.clock.at(a.sigkillAt, resolve);
      });
      this.onStop.add(end);
      await Promise.race([exitP, deadline]);
      this.onStop.delete(end);
      t?.cancel();
      if (!exited && !this.stopped) await this.runtime.killAll(a.instanceId);
    })().catch((err: unknown) => {
      if (!this.stopped) this.actionFailed(a, err);
    });
    this.track(task);
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
