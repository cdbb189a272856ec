/**
 * The agent's interface: what the HTTP API (or any other front end) may ask of the node agent.
 * The server translates Kubernetes REST calls into these calls and their results back into
 * Kubernetes objects; it holds no pod state of its own. `podvisor serve` implements it with
 * `NodeAgent` (`agent/node.ts`), the server's tests with a fake.
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

/** The agent as the API server sees it. Every returned Pod has metadata.uid and resourceVersion. */
export interface NodeApi {
  /** Current resourceVersion of the whole store (for lists). */
  resourceVersion(): string;
  /** Every pod, or those of one namespace (copies). */
  listPods(namespace?: string): Pod[];
  /** One pod (a copy), or undefined. */
  getPod(namespace: string, name: string): Pod | undefined;
  /**
   * Validates (API server rules), defaults, stores and starts a pod. Throws PodInvalidError
   * (with every field error) or PodAlreadyExistsError. Returns the stored pod and API warnings.
   */
  createPod(pod: unknown, opts: { dryRun?: boolean }): { pod: Pod; warnings: string[] };
  /**
   * Replaces the mutable metadata (labels, annotations other than podvisor's immutable ones)
   * of a pod. `next` is the complete desired object (after the server applied a patch or PUT).
   * Any other change is refused with PodInvalidError naming the field (as the API server does,
   * `spec: Forbidden: pod updates may not change fields other than ...`). A stale
   * `metadata.resourceVersion` in `next` gives StaleResourceVersionError; an unknown pod
   * PodNotFoundError.
   */
  updatePod(namespace: string, name: string, next: Pod): { pod: Pod; warnings: string[] };
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
  /** Restart records of a pod (newest last). Throws PodNotFoundError. */
  restartHistory(namespace: string, name: string): RestartNotice[];
  /**
   * Watches pods from `resourceVersion` (exclusive; undefined or "0" = from now after the
   * current state as ADDED events). Throws ResourceVersionExpiredError when that version is
   * older than the kept history, InvalidResourceVersionError when it is not a number.
   */
  watchPods(resourceVersion: string | undefined, onEvent: (e: WatchEvent<Pod>) => void): Unsubscribe;
  /** Watches events, with the resourceVersion rules of {@link NodeApi.watchPods}. */
  watchEvents(resourceVersion: string | undefined, onEvent: (e: WatchEvent<EventObject>) => void): Unsubscribe;
}
