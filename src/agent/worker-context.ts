/**
 * What a pod worker's collaborators see of it: the resume after a podvisor restart
 * (worker-resume.ts), the execution of the core's actions (worker-actions.ts, worker-start.ts)
 * and the supervision of running instances (worker-instances.ts). The worker builds one such
 * view of itself; they read and record through it and never hold the worker. Values the worker
 * replaces over time are read through functions, at the moment they are needed.
 */
import type { Pod, PodStatus } from '../api/types.js';
import type { PodState } from '../core/model.js';
import type { ContainerHandle, ContainerRuntime, Sandbox } from '../runtime/types.js';
import type { Clock } from './clock.js';
import type { ConfigVolumes, PodConfig } from './pod-config.js';
import type { InstanceProber } from './prober.js';
import type { PodReporter, WorkerSinks } from './worker-report.js';

/** The members of a `PodWorker` its collaborators use. */
export interface WorkerContext {
  readonly runtime: ContainerRuntime;
  readonly clock: Clock;
  readonly sinks: WorkerSinks;
  /** ConfigMaps, Secrets, the volume writer and node facts (env and config volumes). */
  readonly config: PodConfig | undefined;
  /** Writes the pod's ConfigMap, Secret, downward API and projected volumes. */
  readonly volumes: ConfigVolumes | undefined;
  /** The instances supervised, by runtime ID. */
  readonly handles: Map<string, ContainerHandle>;
  /** The probes of those instances, by runtime ID. */
  readonly probers: Map<string, InstanceProber>;
  /** Wakes background kill tasks waiting for a SIGKILL deadline when the worker stops. */
  readonly onStop: Set<() => void>;
  /** Status, events, restart records and log lines for the owner. */
  readonly report: PodReporter;
  /** The pod as it is now (labels, annotations and spec may be replaced). */
  pod(): Pod;
  /** The pod's durable state. */
  state(): PodState;
  /** Records a new durable state (dropped once the worker stopped). */
  setState(s: PodState): void;
  /** The worker stopped: it acts on nothing any more. */
  stopped(): boolean;
  /** The status last published. */
  status(): PodStatus | undefined;
  /** GPU device IDs allocated to this pod instance. */
  gpus(): string[];
  sandbox(): Sandbox | undefined;
  setSandbox(sandbox: Sandbox): void;
  /** Aborted when the pod is deleted or re-created, or the worker stops, during an image pull. */
  pullAbort(): AbortController | undefined;
  setPullAbort(abort: AbortController | undefined): void;
  /** While a resume replays exits found: the exits seen live meanwhile, recorded after them. */
  heldExits(): (() => void)[] | undefined;
  setHeldExits(held: (() => void)[] | undefined): void;
  /** Keeps a background task (kill, hook) until it settles (see `PodWorker.drainBackground`). */
  track(p: Promise<unknown>): void;
  /** Schedules a reconcile. */
  wake(): void;
  /** Resolves once the worker has nothing queued. */
  whenIdle(): Promise<void>;
  /** The runtime ID of the container's instance while it runs, else undefined. */
  runningInstance(container: string): string | undefined;
}
