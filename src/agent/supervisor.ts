/**
 * The supervisor owns the pod workers of one podvisor process: it admits pods (UID,
 * creation time, mount feasibility), re-creates pods when a worker asks (§4.11), and shuts
 * everything down gracefully.
 */
import { randomUUID } from 'node:crypto';
import type { Pod } from '../api/types.js';
import { recordScheduled, recordUnschedulable } from '../core/facts.js';
import type { PodState } from '../core/model.js';
import { parseQuantity } from '../api/quantity.js';
import { formatTimestamp } from '../api/time.js';
import type { CoreOptions } from '../core/plan/index.js';
import type { ContainerRuntime, PullProgress } from '../runtime/types.js';
import type { Clock } from './clock.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';
import { PodWorker } from './worker.js';
import type { PodConfig } from './pod-config.js';

/** Callbacks of the supervisor's owner (CLI live view, store, metrics). */
export interface SupervisorSinks {
  onStatus?(pod: Pod, state: PodState): void;
  /** A pod's deletion completed. */
  onDeleted?(pod: Pod, state: PodState): void;
  onEvent?(e: RecordedEvent): void;
  onRestart?(n: RestartNotice): void;
  /** Progress of a pull of a container's image (runtimes that run images). */
  onPullProgress?(pod: string, container: string, p: PullProgress): void;
  /** A pod instance was replaced by a re-created one. */
  onReplaced?(oldUid: string, pod: Pod): void;
  log?(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void;
}

/** Options, compiled once. */
export interface SupervisorOptions {
  runtime: ContainerRuntime;
  clock: Clock;
  core: CoreOptions;
  sinks?: SupervisorSinks;
  /** The node's GPU inventory (device IDs such as `0`, `1` or `GPU-<uuid>`), for `nvidia.com/gpu` limits. */
  gpus?: string[];
  /** ConfigMaps, Secrets, the volume writer and node facts, for every pod. */
  config?: PodConfig;
}

/** The extended resource name of NVIDIA GPUs. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * GPUs a pod needs, as the scheduler counts extended resources: the sum over regular
 * containers and sidecars, or the largest init container if that is more.
 */
export function gpuRequest(pod: Pod): number {
  const n = (c: { resources?: { limits?: Record<string, string | number> } }): number => {
    const v = c.resources?.limits?.[GPU_RESOURCE];
    if (v === undefined) return 0;
    const q = parseQuantity(v);
    return q.ok ? Math.ceil(q.value) : 0;
  };
  const inits = pod.spec.initContainers ?? [];
  const running = pod.spec.containers.reduce((a, c) => a + n(c), 0) + inits.filter((c) => c.restartPolicy === 'Always').reduce((a, c) => a + n(c), 0);
  const initMax = Math.max(0, ...inits.filter((c) => c.restartPolicy !== 'Always').map(n));
  return Math.max(running, initMax);
}

/** A pod the supervisor refused (e.g. volumes that cannot be mounted). */
export class PodRejectedError extends Error {
  constructor(readonly pod: string, readonly problems: string[]) {
    super(`pod ${pod} cannot run here:\n  ${problems.join('\n  ')}`);
    this.name = 'PodRejectedError';
  }
}

/** Owns the workers. */
export class Supervisor {
  private readonly workers = new Map<string, PodWorker>();
  /** GPU ID -> pod UID holding it. */
  private readonly gpuOwner = new Map<string, string>();
  /** Pods waiting for GPUs, in arrival order (keys). */
  private readonly waiting: string[] = [];
  private readonly settledWaiters: (() => void)[] = [];
  private shuttingDown = false;
  /** Set by {@link stop}: podvisor is exiting; workers act on nothing any more. */
  private stopped = false;

  constructor(private readonly o: SupervisorOptions) {}

  /** Workers by `namespace/name`. */
  get all(): PodWorker[] {
    return [...this.workers.values()];
  }

  get(key: string): PodWorker | undefined {
    return this.workers.get(key);
  }

  /** Checks the pod can run on this runtime; throws {@link PodRejectedError} otherwise. */
  check(pod: Pod): void {
    const problems: string[] = [];
    const probe = new PodWorker({ pod, runtime: this.o.runtime, clock: this.o.clock, core: this.o.core, sinks: { onStatus() {}, onEvent() {} } });
    const mounts = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) =>
      probe.mountsFor(c).length > 0 ? probe.mountsFor(c) : (c.volumeMounts ?? []).map((m) => ({ volume: m.name, hostPath: '/', mountPath: m.mountPath, readOnly: m.readOnly === true })),
    );
    problems.push(...this.o.runtime.checkMounts(mounts));
    if (problems.length > 0) throw new PodRejectedError(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`, problems);
  }

  /** A ConfigMap or Secret of `namespace` changed: every pod of it is told (see {@link PodWorker.configChanged}). */
  configChanged(namespace: string): void {
    for (const w of this.workers.values()) if ((w.pod.metadata.namespace ?? 'default') === namespace) w.configChanged();
  }

  /** Forgets a worker (its pod was deleted and is gone) and frees what it held. */
  remove(key: string): void {
    const w = this.workers.get(key);
    if (!w) return;
    w.dispose();
    this.workers.delete(key);
    this.releaseGpus(w);
  }

  /** Free GPUs right now. */
  get freeGpus(): string[] {
    return (this.o.gpus ?? []).filter((g) => !this.gpuOwner.has(g));
  }

  /** Tries to give `w` its GPUs; marks it unschedulable (§1.4) when there are not enough. */
  private placeGpus(w: PodWorker): boolean {
    const need = gpuRequest(w.pod);
    if (need === 0) return true;
    const held = w.gpus.filter((g) => (this.o.gpus ?? []).includes(g) && !this.gpuOwner.has(g));
    if (held.length === need) {
      // Resumed after a podvisor restart: the pod keeps the devices it had.
      for (const g of held) this.gpuOwner.set(g, w.state.uid);
      return true;
    }
    const free = this.freeGpus;
    if (free.length < need) {
      const msg = `0/1 nodes are available: 1 Insufficient ${GPU_RESOURCE} (requested ${need}, free ${free.length} of ${(this.o.gpus ?? []).length}).`;
      if (w.state.unschedulable?.message !== msg) w.state = recordUnschedulable(w.state, msg);
      if (!this.waiting.includes(w.key)) this.waiting.push(w.key);
      return false;
    }
    w.gpus = free.slice(0, need);
    for (const g of w.gpus) this.gpuOwner.set(g, w.state.uid);
    if (w.state.unschedulable) w.state = recordScheduled(w.state);
    const i = this.waiting.indexOf(w.key);
    if (i >= 0) this.waiting.splice(i, 1);
    return true;
  }

  private releaseGpus(w: PodWorker): void {
    if (w.gpus.length === 0) return;
    for (const g of w.gpus) if (this.gpuOwner.get(g) === w.state.uid) this.gpuOwner.delete(g);
    w.gpus = [];
    for (const key of [...this.waiting]) {
      const p = this.workers.get(key);
      if (!p) {
        this.waiting.splice(this.waiting.indexOf(key), 1);
        continue;
      }
      if (this.placeGpus(p)) p.wake();
    }
  }

  /**
   * Admits and starts a pod (defaulted and valid). Assigns UID and creation time. With
   * `state` (a pod recovered from the store) the worker resumes instead of starting fresh.
   */
  add(input: Pod, state?: PodState): PodWorker {
    const pod: Pod = structuredClone(input);
    pod.metadata.uid ??= randomUUID();
    pod.metadata.creationTimestamp ??= formatTimestamp(this.o.clock.now());
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
    if (this.workers.has(key)) throw new Error(`pod ${key} already exists`);
    this.check(pod);
    const sinks = this.o.sinks ?? {};
    const worker: PodWorker = new PodWorker({
      pod, runtime: this.o.runtime, clock: this.o.clock, core: this.o.core,
      ...(state ? { state } : {}),
      ...(this.o.config ? { config: this.o.config } : {}),
      sinks: {
        onStatus: (p, s) => {
          sinks.onStatus?.(p, s);
          // Terminal pods free their GPUs (as the scheduler stops counting them).
          if ((s.phase === 'Succeeded' || s.phase === 'Failed') && worker.gpus.length > 0) this.releaseGpus(worker);
          this.checkSettled();
        },
        onEvent: (e) => sinks.onEvent?.(e),
        onDeleted: (p, s) => sinks.onDeleted?.(p, s),
        onRestart: (n) => sinks.onRestart?.(n),
        ...(sinks.onPullProgress ? { onPullProgress: (c: string, pr: PullProgress) => sinks.onPullProgress?.(pod.metadata.name ?? '', c, pr) } : {}),
        onRecreate: (p, n) => this.recreate(worker, p, n),
        onIdle: () => this.checkSettled(),
        log: (level, msg, fields) => sinks.log?.(level, msg, fields),
      },
    });
    this.workers.set(key, worker);
    if (this.stopped) {
      // podvisor is exiting: the pod is not started (and nothing of it is recorded).
      void worker.stop();
      return worker;
    }
    if (!state || !state.finished) this.placeGpus(worker);
    if (state) void worker.resume();
    else worker.wake();
    return worker;
  }

  private recreate(old: PodWorker, pod: Pod, n: number): void {
    if (this.shuttingDown) return;
    const key = old.key;
    this.workers.delete(key);
    old.dispose();
    this.releaseGpus(old);
    const fresh: Pod = structuredClone(pod);
    delete fresh.metadata.uid;
    delete fresh.metadata.creationTimestamp;
    delete fresh.status;
    const w = this.add(fresh);
    this.o.sinks?.onReplaced?.(old.state.uid, w.pod);
    this.o.sinks?.onEvent?.({
      firstTimestamp: this.o.clock.now(), lastTimestamp: this.o.clock.now(), count: 1, type: 'Normal', reason: 'Recreated',
      message: `Pod re-created as ${w.state.uid} (re-creation ${n})`,
      involvedObject: { kind: 'Pod', name: w.pod.metadata.name ?? '', namespace: w.pod.metadata.namespace ?? 'default', uid: w.state.uid },
    });
  }

  private checkSettled(): void {
    if (this.settledWaiters.length === 0) return;
    if (this.all.every((w) => w.settled)) {
      for (const r of this.settledWaiters.splice(0)) r();
    }
  }

  /** Resolves when every pod is terminal and nothing runs. */
  async whenAllSettled(): Promise<void> {
    for (;;) {
      if (this.all.every((w) => w.settled)) {
        await Promise.all(this.all.map((w) => w.whenIdle()));
        if (this.all.every((w) => w.settled)) return;
      }
      await new Promise<void>((r) => this.settledWaiters.push(r));
    }
  }

  /** Gracefully terminates every pod (deletion semantics, §8.1) and waits for it. */
  async terminateAll(graceSeconds?: number): Promise<void> {
    this.shuttingDown = true;
    for (const w of this.all) {
      if (!w.state.finished && w.state.phase !== 'Succeeded' && w.state.phase !== 'Failed') w.delete(graceSeconds);
      else if (!w.settled) w.delete(graceSeconds);
    }
    await this.whenAllSettled();
    await Promise.all(this.all.map((w) => w.drainBackground()));
  }

  /**
   * Stops every worker because podvisor itself stops ({@link PodWorker.stop}): not a pod
   * event, nothing is recorded or re-created from the call on, and a pod added later is not
   * started. Every worker is frozen in one synchronous pass, so no exit caused by the stop can
   * reach any of them (exits arrive asynchronously). With `keepContainers` no container gets a
   * signal (they outlive podvisor; the next start re-adopts them) and this resolves at once;
   * otherwise it resolves when the containers the workers knew have exited (each pod's grace
   * period at most).
   */
  async stop(opts: { keepContainers?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.shuttingDown = true;
    await Promise.all(this.all.map((w) => w.stop(opts)));
  }

  /** Stops timers and probes of every worker. */
  dispose(): void {
    for (const w of this.all) w.dispose();
  }
}
