/**
 * Kubernetes `Status` objects for every error the HTTP API returns, with the API server's
 * reasons and messages (k8s.io/apimachinery `pkg/api/errors/errors.go`).
 */
import { FIELD_ERROR_TYPES, invalidStatus, renderErrorBody, type FieldError, type Status } from '../api/errors.js';
import { ApiError } from './backend.js';

/** A `Status` with `status: Failure`. `details` is left out when empty. */
export function failure(code: number, reason: string, message: string, details?: Status['details']): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details && Object.keys(details).length > 0) s.details = details;
  return s;
}

/** 404 `NotFound`: `<resource> "<name>" not found` (`errors.NewNotFound`). */
export function notFound(resource: string, name: string): Status {
  return failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

/** 404 for a path that names no resource the server serves. */
export function pathNotFound(): Status {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
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

/** 413 `RequestEntityTooLarge` (`errors.NewRequestEntityTooLargeError`). */
export function tooLarge(limit: number): Status {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** 401 `Unauthorized`, as the API server answers a request without valid credentials. */
export function unauthorized(): Status {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/** 422 `Invalid` for an arbitrary kind (`errors.NewInvalid`), `details.group` split from `kind` when qualified. */
export function invalid(kind: string, name: string, errors: readonly FieldError[]): Status {
  const s = invalidStatus(kind, name, errors);
  const dot = kind.indexOf('.');
  if (dot > 0 && s.details) {
    s.details.kind = kind.slice(0, dot);
    s.details.group = kind.slice(dot + 1);
  }
  return s;
}

/** 500 `InternalError` (`errors.NewInternalError`). */
export function internalError(message: string): Status {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: '', message, field: '' }] });
}

/**
 * The `Status` for an error thrown by the backend or the server: an {@link ApiError} keeps its
 * code, reason, message and details (an `Invalid` one with causes gets the shape of
 * `invalidStatus`); anything else is a 500.
 */
export function statusFromError(err: unknown, fallbackName = ''): Status {
  if (err instanceof ApiError) {
    if (err.code === 422 && err.causes.length > 0) {
      const s = invalidStatus(err.details.kind ?? 'Pod', err.details.name ?? fallbackName, err.causes);
      if (err.message !== '') s.message = err.message;
      s.reason = err.reason || 'Invalid';
      return s;
    }
    const details: NonNullable<Status['details']> = {};
    if (err.details.name !== undefined) details.name = err.details.name;
    if (err.details.kind !== undefined) details.kind = err.details.kind;
    if (err.causes.length > 0) {
      details.causes = err.causes.map((c) => ({ reason: FIELD_ERROR_TYPES[c.type].reason, message: renderErrorBody(c), field: c.field }));
    }
    return failure(err.code, err.reason, err.message, details);
  }
  return internalError(err instanceof Error ? err.message : String(err));
}
