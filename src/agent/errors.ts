/**
 * The agent's domain errors: why a request about a pod was refused, as facts with fields. The
 * agent never speaks HTTP (no codes, no `Status` reasons, no API server wording); the API
 * server maps every one of these to a Kubernetes `Status` in one place
 * (`server/status.ts` `statusFromError`), and anything that is not an {@link AgentError} is a
 * broken invariant or an I/O failure (500).
 *
 * Each class carries a literal `kind`, so that a `switch` over {@link AgentError} is checked for
 * exhaustiveness: a new refusal cannot be added without deciding how it is rendered.
 */
import type { FieldError } from '../api/errors.js';
import { podInvalidMessage } from '../api/load.js';

/** Common base, so that `isAgentError` is one `instanceof` check. Not exported: use {@link AgentError}. */
abstract class AgentErrorBase extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The pod does not exist (or is being torn down and has no worker any more). */
export class PodNotFoundError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'PodNotFound' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
  ) {
    super(`pod ${namespace}/${podName} not found`);
  }
}

/** A pod of that namespace and name exists already (create). */
export class PodAlreadyExistsError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'PodAlreadyExists' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
  ) {
    super(`pod ${namespace}/${podName} already exists`);
  }
}

/** An update named a `metadata.resourceVersion` that is not the stored one (optimistic concurrency). */
export class StaleResourceVersionError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'StaleResourceVersion' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    /** The resourceVersion the request was based on. */
    readonly given: string,
    /** The stored resourceVersion. */
    readonly current: string,
  ) {
    super(`pod ${namespace}/${podName} was modified: resourceVersion ${given} is not the current ${current}`);
  }
}

/**
 * A restart or re-create request the pod's state refuses (finished, being deleted, an init
 * container, ...). `explanation` is core's sentence naming the pod and the reason, shown to
 * the user as is.
 */
export class RequestRefusedError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'RequestRefused' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    readonly explanation: string,
  ) {
    super(explanation);
  }
}

/**
 * The pod (a create, an update, or a pod the node cannot run) breaks the API rules. `causes`
 * holds every field error, never empty.
 */
export class PodInvalidError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'PodInvalid' as const;
  constructor(
    readonly namespace: string,
    /** The pod's name (for a create without one, its `generateName`). */
    readonly podName: string,
    readonly causes: readonly FieldError[],
  ) {
    super(podInvalidMessage(podName, causes));
  }
}

/** A container-scoped request named no container, and the pod has more than one to choose from. */
export class ContainerNotSpecifiedError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'ContainerNotSpecified' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    /** Names of the regular containers, in spec order. */
    readonly containers: readonly string[],
    /** Names of the init containers, in spec order. */
    readonly initContainers: readonly string[],
  ) {
    super(`pod ${namespace}/${podName}: a container name must be specified`);
  }
}

/** A container-scoped request named a container the pod does not have. */
export class UnknownContainerError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'UnknownContainer' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    readonly container: string,
  ) {
    super(`pod ${namespace}/${podName} has no container ${container}`);
  }
}

/** A watch asked to start from a resourceVersion that is not a number. */
export class InvalidResourceVersionError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'InvalidResourceVersion' as const;
  constructor(readonly resourceVersion: string) {
    super(`invalid resourceVersion ${JSON.stringify(resourceVersion)}`);
  }
}

/** A watch asked to resume from a resourceVersion older than the kept history (the client must list again). */
export class ResourceVersionExpiredError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'ResourceVersionExpired' as const;
  constructor(
    readonly requested: number,
    /** The store's newest resourceVersion. */
    readonly current: number,
  ) {
    super(`resourceVersion ${requested} is older than the kept history (current ${current})`);
  }
}

/**
 * A change to a pod could not be stored durably (an I/O failure of the store: disk full,
 * read-only, a directory gone). Nothing of the change took effect: the agent serves and runs
 * what is on disk, as before the request.
 */
export class StorageFailedError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'StorageFailed' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    /** What could not be stored, in words (`create`, `update`, `delete`). */
    readonly operation: string,
    /** The I/O error's text. */
    readonly reason: string,
  ) {
    super(`cannot store the ${operation} of pod ${namespace}/${podName}: ${reason}`);
  }
}

/** Every domain error the agent raises; switch on `kind`. */
export type AgentError =
  | PodNotFoundError
  | PodAlreadyExistsError
  | StaleResourceVersionError
  | RequestRefusedError
  | PodInvalidError
  | ContainerNotSpecifiedError
  | UnknownContainerError
  | InvalidResourceVersionError
  | ResourceVersionExpiredError
  | StorageFailedError;

/** True for a domain error of the agent (a refusal to render), false for anything else (a bug or an I/O failure). */
export function isAgentError(err: unknown): err is AgentError {
  return err instanceof AgentErrorBase;
}
