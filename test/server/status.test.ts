/**
 * The one mapping from the agent's domain errors to Kubernetes `Status` bodies: code, reason,
 * message and details exactly as the API server words them (kubectl and client-go read them).
 */
import { describe, expect, it } from 'vitest';
import {
  ContainerNotSpecifiedError, PodAlreadyExistsError, PodNotFoundError, RequestRefusedError, StorageFailedError, UnknownContainerError, type AgentError,
} from '../../src/agent/errors.js';
import type { FieldError } from '../../src/api/errors.js';
import { conflict, expired, forbidden, invalid, OPTIMISTIC_LOCK_MESSAGE, statusFromError } from '../../src/server/status.js';

const base = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure' };
const causes: FieldError[] = [
  { type: 'Forbidden', field: 'spec', detail: 'pod updates may not change fields' },
  { type: 'Invalid', field: 'metadata.name', value: 'A', detail: 'must be lowercase' },
];

const cases: [string, AgentError, unknown][] = [
  ['not found', new PodNotFoundError('default', 'web'),
    { ...base, message: 'pods "web" not found', reason: 'NotFound', details: { name: 'web', kind: 'pods' }, code: 404 }],
  ['already exists', new PodAlreadyExistsError('default', 'web'),
    { ...base, message: 'pods "web" already exists', reason: 'AlreadyExists', details: { name: 'web', kind: 'pods' }, code: 409 }],
  ['refused restart', new RequestRefusedError('default', 'web', 'pod default/web cannot be restarted: Succeeded'),
    { ...base, message: 'pod default/web cannot be restarted: Succeeded', reason: 'Conflict', details: { name: 'web', kind: 'pods' }, code: 409 }],
  ['container not specified', new ContainerNotSpecifiedError('default', 'web', ['a', 'b'], ['init']),
    { ...base, message: 'a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [init]', reason: 'BadRequest', code: 400 }],
  ['unknown container', new UnknownContainerError('default', 'web', 'x'),
    { ...base, message: 'container x is not valid for pod web', reason: 'BadRequest', code: 400 }],
];

describe('the registry\'s statuses', () => {
  it('a stale resourceVersion is the API server\'s conflict', () => {
    expect(JSON.stringify(conflict('pods', 'web', OPTIMISTIC_LOCK_MESSAGE))).toBe(JSON.stringify(
      { ...base, message: 'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again', reason: 'Conflict', details: { name: 'web', kind: 'pods' }, code: 409 }));
  });
  it('an invalid object lists every cause', () => {
    expect(JSON.stringify(invalid('Pod', 'web', causes))).toBe(JSON.stringify(
      { ...base, message: 'Pod "web" is invalid: [spec: Forbidden: pod updates may not change fields, metadata.name: Invalid value: "A": must be lowercase]', reason: 'Invalid',
        details: { name: 'web', kind: 'Pod', causes: [
          { reason: 'FieldValueForbidden', message: 'Forbidden: pod updates may not change fields', field: 'spec' },
          { reason: 'FieldValueInvalid', message: 'Invalid value: "A": must be lowercase', field: 'metadata.name' },
        ] }, code: 422 }));
  });
  it('an expired resourceVersion is 410', () => {
    expect(JSON.stringify(expired('too old resource version: 5 (4000)'))).toBe(JSON.stringify({ ...base, message: 'too old resource version: 5 (4000)', reason: 'Expired', code: 410 }));
  });
  it('a create in a terminating namespace is 403 with the NamespaceTerminating cause', () => {
    const s = forbidden('configmaps', 'c', 'unable to create new content in namespace x because it is being terminated', [{ reason: 'NamespaceTerminating', message: 'namespace x is being terminated', field: 'metadata.namespace' }]);
    expect(s).toMatchObject({ code: 403, reason: 'Forbidden', message: 'configmaps "c" is forbidden: unable to create new content in namespace x because it is being terminated', details: { name: 'c', kind: 'configmaps' } });
  });
});

describe('statusFromError', () => {
  for (const [what, err, want] of cases) {
    // Compared as JSON text: key order is part of the response bytes.
    it(`${what} -> ${(want as { code: number }).code}`, () => expect(JSON.stringify(statusFromError(err))).toBe(JSON.stringify(want)));
  }

  it('anything else is a 500 InternalError', () => {
    expect(JSON.stringify(statusFromError(new Error('disk full')))).toBe(JSON.stringify({
      ...base, message: 'Internal error occurred: disk full', reason: 'InternalError',
      details: { causes: [{ message: 'disk full' }] }, code: 500,
    }));
  });

  it('a store write that failed is a 500 InternalError in the API server\'s shape', () => {
    const err = new StorageFailedError('default', 'web', 'create', 'ENOSPC: no space left on device, write');
    const message = 'cannot store the create of pod default/web: ENOSPC: no space left on device, write';
    expect(JSON.stringify(statusFromError(err))).toBe(JSON.stringify({
      ...base, message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500,
    }));
  });
});
