/**
 * The agent's interface: what the HTTP API (or any other front end) may ask of the node agent.
 * The server translates Kubernetes REST calls into these calls and their results back into
 * Kubernetes objects. `podvisor serve` implements it with `NodeAgent` (`agent/node.ts`), the
 * server's tests with a small fake agent.
 *
 * It is defined here, on the agent's side, so that the server depends on the agent's contract
 * and the agent depends on nothing of the server's. Refusals are the domain errors of
 * `agent/errors.ts`, never HTTP errors.
 */
import type { Socket } from 'node:net';
import type { EventObject, RestartNotice } from '../api/records.js';
import type { Pod } from '../api/types.js';
import type { ExecStream, ExecStreamOptions } from '../runtime/types.js';

export type { ExecStream, ExecStreamExit, ExecStreamOptions, TerminalSize } from '../runtime/types.js';

/** A change to watch (`ADDED`, `MODIFIED`, `DELETED`), with the object at that resourceVersion. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
}

/** Unsubscribes a watch. */
export type Unsubscribe = () => void;

/** Where the agent's stored changes go, in resourceVersion order (the server's watch caches). */
export interface ChangeSink {
  /** A pod was stored (ADDED, MODIFIED) or removed (DELETED, with the version of its removal). */
  pod(e: WatchEvent<Pod>): void;
  /** An event was stored (ADDED) or counted again (MODIFIED). */
  event(e: WatchEvent<EventObject>): void;
}

/** What the node says about a pod before it is created (admission). */
export interface PodAdmission {
  /** Why this node cannot run the pod (volumes it cannot provide); refused as `spec.volumes: Forbidden`. */
  problems: string[];
  /** Settings the runtime does not apply (API warnings). */
  warnings: string[];
}

/** One container's resource usage over a window (metrics.k8s.io `ContainerMetrics`). */
export interface ContainerUsage {
  name: string;
  /** Average CPU use over the window, in billionths of a core (`usage.cpu` in `n`). */
  cpuNanoCores: number;
  /** Memory working set at the window's end, bytes (usage minus inactive file cache). */
  memoryWorkingSetBytes: number;
}

/**
 * A running pod's resource usage (metrics.k8s.io `PodMetrics`): its running containers that
 * have usage, measured over the interval [timestamp - window, timestamp].
 */
export interface PodUsage {
  namespace: string;
  name: string;
  /** End of the window, epoch ms. */
  timestamp: number;
  /** Length of the window, ms. */
  windowMs: number;
  /** At least one. */
  containers: ContainerUsage[];
}

/** The node's resource usage (metrics.k8s.io `NodeMetrics`), measured like {@link PodUsage}. */
export interface NodeUsage {
  /** The node's name (`podvisor`). */
  name: string;
  timestamp: number;
  windowMs: number;
  cpuNanoCores: number;
  memoryWorkingSetBytes: number;
}

/** The one node podvisor is, as a core/v1 Node shows it. */
export interface NodeInfo {
  name: string;
  /** When this agent started, epoch ms (the Node's creationTimestamp). */
  since: number;
  /** The node's IPs. */
  addresses: string[];
  /** Capacity and allocatable (`cpu`, `memory`, `pods`), as quantities. */
  allocatable: Record<string, string>;
  /** The container runtime's name (`host`, `sandbox`, `oci`). */
  runtime: string;
}

/**
 * The agent as the API server sees it: pod lifecycle only. Decoding, defaulting, validation,
 * immutability and watch history are the server's registry's; what reaches the agent is an
 * admitted pod. Every returned Pod has metadata.uid and resourceVersion.
 */
export interface NodeApi {
  /** Current resourceVersion of the whole store (for lists). */
  resourceVersion(): string;
  /** Every pod, or those of one namespace (copies), as stored. */
  listPods(namespace?: string): Pod[];
  /** One pod (a copy), or undefined. */
  getPod(namespace: string, name: string): Pod | undefined;
  /** What this node says about running `pod` (no effect). */
  admit(pod: Pod): PodAdmission;
  /**
   * Stores and starts an admitted pod (named, defaulted, validated, with uid and
   * creationTimestamp). Throws PodAlreadyExistsError, or StorageFailedError (then nothing runs).
   * Returns the stored pod (status Pending, a new resourceVersion).
   */
  createPod(pod: Pod): Pod;
  /**
   * Applies an admitted update of a pod: its labels and annotations, and what the API server
   * lets change in its spec (container images: the container is restarted from the new
   * definition; `activeDeadlineSeconds`; added tolerations). The API validated that nothing
   * else changed. Throws PodNotFoundError or StorageFailedError.
   */
  updatePod(namespace: string, name: string, next: Pod): Pod;
  /** Starts graceful deletion (§8.1). Returns the pod as it is now (with deletionTimestamp), or throws PodNotFoundError. */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Pod;
  /**
   * podvisor's restart verb: one container, or the whole pod in place. Throws PodNotFoundError,
   * or RequestRefusedError when the pod's state refuses it.
   */
  restartPod(namespace: string, name: string, opts: { container?: string; requestedBy?: string }): Pod;
  /** Re-creates the pod (fresh sandbox, new UID). Throws PodNotFoundError or RequestRefusedError. */
  recreatePod(namespace: string, name: string, opts: { requestedBy?: string }): Pod;
  /**
   * Log file of a container instance (current or previous), or undefined. Throws
   * PodNotFoundError, ContainerNotSpecifiedError or UnknownContainerError.
   */
  logPath(namespace: string, name: string, container: string | undefined, previous: boolean): string | undefined;
  /** True while the container's current instance runs (for `follow`). */
  containerRunning(namespace: string, name: string, container: string | undefined): boolean;
  /**
   * Starts `command` in the running container (`kubectl exec`): not a container instance, never
   * counted, never seen by restart decisions. Throws PodNotFoundError,
   * ContainerNotSpecifiedError, UnknownContainerError, ContainerNotRunningError, or
   * StreamUnavailableError (the runtime lacks what the options need).
   */
  execStream(namespace: string, name: string, container: string | undefined, command: string[], opts: ExecStreamOptions): Promise<ExecStream>;
  /**
   * Attaches to the running container's own stdio (`kubectl attach`, `run -it`, `debug -it`):
   * its output from now on, and with `stdin` what the client writes reaches the container's
   * stdin (a container started with `stdin: true`). The returned stream's `kill` detaches (the
   * container keeps running) and its `exited` resolves, with code 0, when the attach ended (the
   * container exited, or it was detached). Throws like {@link execStream}.
   */
  attachStream(namespace: string, name: string, container: string | undefined, opts: ExecStreamOptions): Promise<ExecStream>;
  /**
   * Opens a TCP connection to `port` on the pod's network (`kubectl port-forward`). Throws
   * PodNotFoundError, StreamUnavailableError (no sandbox yet); rejects with the connect error
   * (`ECONNREFUSED`) when nothing listens there.
   */
  portForward(namespace: string, name: string, port: number): Promise<Socket>;
  /** Every kept event, or those of one namespace. */
  listEvents(namespace?: string): EventObject[];
  /** Forgets every event of a namespace (its deletion). */
  removeEvents(namespace: string): void;
  /** Restart records of a pod (newest last). Throws PodNotFoundError. */
  restartHistory(namespace: string, name: string): RestartNotice[];
  /**
   * A ConfigMap or Secret of `namespace` was stored or removed: the pods of the namespace write
   * their config volumes again and retry a container waiting for one.
   */
  configChanged(namespace: string): void;
  /** Subscribes to every stored change of pods and events from now on. */
  subscribe(sink: ChangeSink): Unsubscribe;
  /**
   * Resource usage of every running pod, or those of one namespace, read now from the
   * runtime's cgroups: CPU as a rate over the time since the previous request (the first
   * request, or one too soon or too long after the last, measures a short fresh window), memory
   * working set now. Pods none of whose containers has usage (a runtime without cgroups) are
   * left out. Never rejects.
   */
  podMetrics(namespace?: string): Promise<PodUsage[]>;
  /** The node's usage, measured like {@link podMetrics}; undefined where the host does not say it. */
  nodeMetrics(): Promise<NodeUsage | undefined>;
  /** The node (name, start, addresses, allocatable resources, runtime). */
  nodeInfo(): NodeInfo;
}
