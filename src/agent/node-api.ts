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
import type { EventObject, RestartNotice } from '../api/records.js';
import type { Pod } from '../api/types.js';

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
}
