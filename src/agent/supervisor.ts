/**
 * The supervisor owns the pod workers of one podvisor process: it admits pods (UID,
 * creation time, mount feasibility), re-creates pods when a worker asks (§4.11), and shuts
 * everything down gracefully.
 */
import { randomUUID } from 'node:crypto';
import type { Pod } from '../api/types.js';
import type { PodState } from '../core/model.js';
import type { CoreOptions } from '../core/plan.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { Clock } from './clock.js';
import type { RecordedEvent, RestartNotice } from './events.js';
import { PodWorker } from './worker.js';

/** Callbacks of the supervisor's owner (CLI live view, store, metrics). */
export interface SupervisorSinks {
  onStatus?(pod: Pod, state: PodState): void;
  /** A pod's deletion completed. */
  onDeleted?(pod: Pod, state: PodState): void;
  onEvent?(e: RecordedEvent): void;
  onRestart?(n: RestartNotice): void;
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
}

/** A pod the supervisor refused (e.g. volumes that cannot be mounted). */
export class PodRejectedError extends Error {
  constructor(readonly pod: string, readonly problems: string[]) {
    super(`pod ${pod} cannot run here:\n  ${problems.join('\n  ')}`);
    this.name = 'PodRejectedError';
  }
}

function formatTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Owns the workers. */
export class Supervisor {
  private readonly workers = new Map<string, PodWorker>();
  private readonly settledWaiters: (() => void)[] = [];
  private shuttingDown = false;

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

  /** Forgets a worker (its pod was deleted and is gone). */
  remove(key: string): void {
    const w = this.workers.get(key);
    if (!w) return;
    w.dispose();
    this.workers.delete(key);
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
      sinks: {
        onStatus: (p, s) => {
          sinks.onStatus?.(p, s);
          this.checkSettled();
        },
        onEvent: (e) => sinks.onEvent?.(e),
        onDeleted: (p, s) => sinks.onDeleted?.(p, s),
        onRestart: (n) => sinks.onRestart?.(n),
        onRecreate: (p, n) => this.recreate(worker, p, n),
        onIdle: () => this.checkSettled(),
        log: (level, msg, fields) => sinks.log?.(level, msg, fields),
      },
    });
    this.workers.set(key, worker);
    if (state) void worker.resume();
    else worker.wake();
    return worker;
  }

  private recreate(old: PodWorker, pod: Pod, n: number): void {
    if (this.shuttingDown) return;
    const key = old.key;
    this.workers.delete(key);
    old.dispose();
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

  /** Stops timers and probes of every worker. */
  dispose(): void {
    for (const w of this.all) w.dispose();
  }
}
