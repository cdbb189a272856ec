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

/**
 * A stream into a container (exec, attach) named a container that has no running instance
 * now (waiting, terminated, or not started yet): the kubelet finds no running container.
 */
export class ContainerNotRunningError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'ContainerNotRunning' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    readonly container: string,
  ) {
    super(`container ${container} of pod ${namespace}/${podName} is not running`);
  }
}

/**
 * A stream into a pod could not be opened for a reason of the node (a tool the runtime needs is
 * missing, the pod has no network yet): `reason` says what, and what to do.
 */
export class StreamUnavailableError extends AgentErrorBase {
  /** Discriminant of {@link AgentError}. */
  readonly kind = 'StreamUnavailable' as const;
  constructor(
    readonly namespace: string,
    readonly podName: string,
    readonly reason: string,
  ) {
    super(`pod ${namespace}/${podName}: ${reason}`);
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
  | RequestRefusedError
  | ContainerNotSpecifiedError
  | UnknownContainerError
  | ContainerNotRunningError
  | StreamUnavailableError
  | StorageFailedError;

/** True for a domain error of the agent (a refusal to render), false for anything else (a bug or an I/O failure). */
export function isAgentError(err: unknown): err is AgentError {
  return err instanceof AgentErrorBase;
}
