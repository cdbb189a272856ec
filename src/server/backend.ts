/**
 * What the HTTP API needs from the node agent. The server translates Kubernetes REST calls
 * into these calls and their results back into Kubernetes objects; it holds no pod state of
 * its own. `podvisor serve` implements it with the durable store and the supervisor.
 */
import type { Pod } from '../api/types.js';
import type { FieldError } from '../api/errors.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';

/** A domain refusal the server renders as a Kubernetes `Status`. */
export class ApiError extends Error {
  constructor(
    /** HTTP code: 400, 404, 409, 410, 413, 422, 500. */
    readonly code: number,
    /** Status reason: `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, `Gone`, ... */
    readonly reason: string,
    message: string,
    /** For `Invalid`: every field error (→ `details.causes`). */
    readonly causes: FieldError[] = [],
    /** `details.name` / `details.kind`. */
    readonly details: { name?: string; kind?: string } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A change to watch (`ADDED`, `MODIFIED`, `DELETED`), with the object at that resourceVersion. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
}

/** An event as a core/v1 Event object (metadata.name, resourceVersion, involvedObject, ...). */
export type EventObject = Record<string, unknown> & { metadata: { name: string; namespace: string; resourceVersion: string }; involvedObject: RecordedEvent['involvedObject'] };

/** Unsubscribes a watch. */
export type Unsubscribe = () => void;

/** The agent as the API server sees it. Every returned Pod has metadata.uid and resourceVersion. */
export interface ServerBackend {
  /** Current resourceVersion of the whole store (for lists). */
  resourceVersion(): string;
  listPods(namespace?: string): Pod[];
  getPod(namespace: string, name: string): Pod | undefined;
  /**
   * Validates (API server rules), defaults, stores and starts a pod. Throws ApiError 422
   * (Invalid, with causes) or 409 (AlreadyExists). Returns the stored pod and API warnings.
   */
  createPod(pod: unknown, opts: { dryRun?: boolean }): { pod: Pod; warnings: string[] };
  /**
   * Replaces the mutable metadata (labels, annotations other than podvisor's immutable ones)
   * of a pod. `next` is the complete desired object (after the server applied a patch or PUT).
   * Any other change is refused with ApiError 422 naming the field (as the API server does,
   * `spec: Forbidden: pod updates may not change fields other than ...`). A stale
   * `metadata.resourceVersion` in `next` gives 409 Conflict.
   */
  updatePod(namespace: string, name: string, next: Pod): { pod: Pod; warnings: string[] };
  /** Starts graceful deletion (§8.1). Returns the pod as it is now (with deletionTimestamp), or throws 404. */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Pod;
  /** podvisor's restart verb: one container, or the whole pod in place. Throws 404/409. */
  restartPod(namespace: string, name: string, opts: { container?: string; requestedBy?: string }): Pod;
  /** Re-creates the pod (fresh sandbox, new UID). Throws 404/409. */
  recreatePod(namespace: string, name: string, opts: { requestedBy?: string }): Pod;
  /** Log file of a container instance (current or previous), or undefined. Throws 404 for an unknown pod/container. */
  logPath(namespace: string, name: string, container: string | undefined, previous: boolean): string | undefined;
  /** True while the container's current instance runs (for `follow`). */
  containerRunning(namespace: string, name: string, container: string | undefined): boolean;
  listEvents(namespace?: string): EventObject[];
  /** Restart records of a pod (newest last). */
  restartHistory(namespace: string, name: string): RestartNotice[];
  /**
   * Watches pods from `resourceVersion` (exclusive; undefined or "0" = from now after the
   * current state as ADDED events). Throws ApiError 410 Gone when that version is too old.
   */
  watchPods(resourceVersion: string | undefined, onEvent: (e: WatchEvent<Pod>) => void): Unsubscribe;
  watchEvents(resourceVersion: string | undefined, onEvent: (e: WatchEvent<EventObject>) => void): Unsubscribe;
}
