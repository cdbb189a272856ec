/**
 * Kubernetes `Status` objects for every error the HTTP API returns, with the API server's
 * reasons and messages (k8s.io/apimachinery `pkg/api/errors/errors.go`). The one place where
 * the agent's domain errors become HTTP: {@link statusFromError}.
 */
import { invalidStatus, type FieldError, type Status } from '../api/errors.js';
import { isAgentError, type AgentError } from '../agent/errors.js';

/** A response decided while handling a request (a `Status`, plus headers such as `Allow`); the handler renders it. */
export class HttpError extends Error {
  constructor(
    readonly status: Status,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
}

/**
 * A `Status` with `status: Failure`, its keys in the API server's order (`details` before
 * `code`, as in the Go struct). `details` is left out when empty.
 */
export function failure(code: number, reason: string, message: string, details?: Status['details']): Status {
  if (details && Object.keys(details).length > 0) return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** 404 `NotFound`: `<resource> "<name>" not found` (`errors.NewNotFound`). */
export function notFound(resource: string, name: string): Status {
  return failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

/**
 * 403 `Forbidden` (`errors.NewForbidden`): `<resource> "<name>" is forbidden: <why>`, with
 * the causes the API server attaches (e.g. `NamespaceTerminating`).
 */
export function forbidden(resource: string, name: string, why: string, causes?: { reason?: string; message: string; field?: string }[]): Status {
  const what = name === '' ? resource : `${resource} "${name}"`;
  return failure(403, 'Forbidden', `${what} is forbidden: ${why}`, causes ? { name, kind: resource, causes } : { name, kind: resource });
}

/** 404 for a path that names no resource the server serves. */
export function pathNotFound(): Status {
  // `details` is present though empty, as the API server sends it: kubectl reads
  // `details.name` of a 404 (`kubectl debug` dereferenced a missing one and crashed).
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 };
}

/** 400 `BadRequest` (`errors.NewBadRequest`). */
export function badRequest(message: string): Status {
  return failure(400, 'BadRequest', message);
}

/** 405 `MethodNotAllowed` (`errors.NewMethodNotSupported`). */
export function methodNotAllowed(): Status {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

/** 415 `UnsupportedMediaType` for a PATCH body type the server does not know. */
export function unsupportedMediaType(contentType: string, accepted: readonly string[]): Status {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    contentType === '' ? {} : { kind: contentType },
  );
}

/** 413 `RequestEntityTooLarge` (`errors.NewRequestEntityTooLargeError`): `Request entity too large: <message>`. */
export function entityTooLarge(message: string): Status {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);
}

/** 413 for a body (or a patched object) larger than `limit` bytes. */
export function tooLarge(limit: number): Status {
  return entityTooLarge(`limit is ${limit}`);
}

/** 429 `TooManyRequests` (`errors.NewTooManyRequests`), with `Retry-After` in `details.retryAfterSeconds`. */
export function tooManyRequests(message: string, retryAfterSeconds: number): Status {
  return failure(429, 'TooManyRequests', message, { retryAfterSeconds });
}

/** 401 `Unauthorized`, as the API server answers a request without valid credentials. */
export function unauthorized(): Status {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/**
 * At most this many field errors are returned in one `Invalid` status: a body of 60,000 bad
 * containers made a 46 MB answer of 1.7 MB of request. The first ones are what users fix first.
 */
export const MAX_STATUS_CAUSES = 1000;

/**
 * 422 `Invalid` for an arbitrary kind (`errors.NewInvalid`), `details.group` split from `kind`
 * when qualified; the first {@link MAX_STATUS_CAUSES} errors.
 */
export function invalid(kind: string, name: string, errors: readonly FieldError[]): Status {
  const s = invalidStatus(kind, name, errors.length > MAX_STATUS_CAUSES ? errors.slice(0, MAX_STATUS_CAUSES) : errors);
  const dot = kind.indexOf('.');
  if (dot > 0 && s.details) {
    s.details.kind = kind.slice(0, dot);
    s.details.group = kind.slice(dot + 1);
  }
  return s;
}

/**
 * 500 `InternalError` (`errors.NewInternalError`): one cause with only its message (upstream's
 * `reason` and `field` are empty and omitted from the JSON).
 */
export function internalError(message: string): Status {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** 409 `AlreadyExists`: `<resource> "<name>" already exists` (`errors.NewAlreadyExists`). */
export function alreadyExists(resource: string, name: string): Status {
  return failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
}

/** The API server's text for a stale resourceVersion (apiserver `OptimisticLockErrorMsg`). */
export const OPTIMISTIC_LOCK_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

/** 409 `Conflict`: `Operation cannot be fulfilled on <resource> "<name>": <why>` (`errors.NewConflict`). */
export function conflict(resource: string, name: string, why: string): Status {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, { name, kind: resource });
}

/** 410 `Expired` for a watch from a resourceVersion older than the kept history (`errors.NewResourceExpired`). */
export function expired(message: string): Status {
  return failure(410, 'Expired', message);
}

/**
 * The `Status` of each domain error of the agent. Exhaustive over {@link AgentError}: a new
 * refusal does not compile until it is given its code, reason and message here.
 */
export function statusOfAgentError(err: AgentError): Status {
  switch (err.kind) {
    case 'PodNotFound':
      return notFound('pods', err.podName);
    case 'PodAlreadyExists':
      return alreadyExists('pods', err.podName);
    case 'RequestRefused':
      // podvisor's own verbs: core's explanation is the whole message (no apiserver wording to mirror).
      return failure(409, 'Conflict', err.explanation, { name: err.podName, kind: 'pods' });
    case 'ContainerNotSpecified':
      return badRequest(`a container name must be specified for pod ${err.podName}, choose one of: [${err.containers.join(' ')}] or one of the init containers: [${err.initContainers.join(' ')}]`);
    case 'UnknownContainer':
      return badRequest(`container ${err.container} is not valid for pod ${err.podName}`);
    case 'ContainerNotRunning':
      // The kubelet's words when it finds no running container of that name.
      return badRequest(`container not found (${JSON.stringify(err.container)})`);
    case 'StreamUnavailable':
      return internalError(err.reason);
    case 'StorageFailed':
      return internalError(err.message);
    default: {
      const never: never = err;
      return internalError(`unmapped agent error ${String(never)}`);
    }
  }
}

/**
 * The `Status` for an error thrown while handling a request: a domain error of the agent gets
 * its own (see {@link statusOfAgentError}); anything else is a bug or an I/O failure: 500.
 */
export function statusFromError(err: unknown): Status {
  if (isAgentError(err)) return statusOfAgentError(err);
  return internalError(err instanceof Error ? err.message : String(err));
}
