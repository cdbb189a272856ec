/**
 * What the API server does to every object's metadata, whatever its kind (apiserver
 * `rest.BeforeCreate` / `rest.BeforeUpdate` and `ValidateObjectMetaUpdate`): names generated
 * from `generateName`, uid and creationTimestamp set on create, server-set fields carried over
 * on update (a client's `creationTimestamp` is ignored whatever its spelling: `…000Z` from
 * JavaScript, `+00:00` from Python), the optimistic lock on `resourceVersion`, and the fields
 * an update may not change.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { FieldError } from '../../api/errors.js';
import { GENERATE_NAME_ATTEMPTS, generateNameFrom } from '../../api/names.js';
import { formatTimestamp } from '../../api/time.js';
import { stampManagedFields } from '../apply/write-context.js';
import { badRequest, conflict, HttpError, OPTIMISTIC_LOCK_MESSAGE } from '../status.js';
import type { DeleteOptions, Meta } from './types.js';

/**
 * Names an object from its `generateName` when it has no name (the API server's
 * `BeforeCreate`, before validation, so the generated name is validated like any other).
 * Returns a function that picks another name after a collision (`RetryGenerateName`), or
 * undefined when the name was given.
 */
export function generateName(meta: Meta): (() => void) | undefined {
  const base = meta.generateName;
  if (meta.name || typeof base !== 'string' || base === '') return undefined;
  const pick = (): void => {
    meta.name = generateNameFrom(base, (n) => randomInt(n));
  };
  pick();
  return pick;
}

/** Picks generated names until one is free (at most the API server's attempts); the last one is kept either way. */
export function retryGeneratedName(meta: Meta, again: (() => void) | undefined, taken: (name: string) => boolean): void {
  for (let attempt = 1; again && taken(meta.name ?? '') && attempt < GENERATE_NAME_ATTEMPTS; attempt++) again();
}

/**
 * The server-set metadata of a new object: uid and creationTimestamp, and the managed fields
 * the field manager decided; what a client may not set is cleared.
 */
export function stampCreate(meta: Meta, now: number): void {
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
    throw new HttpError(badRequest('resourceVersion should not be set on objects to be created'));
  }
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  stampManagedFields(meta);
  meta.uid = randomUUID();
  meta.creationTimestamp = formatTimestamp(now);
}

/**
 * Carries the server-set metadata of the stored object into an update (`BeforeUpdate`):
 * creationTimestamp always (a client's is ignored), uid when the client sent none,
 * deletionTimestamp and its grace period once set, generation. `managedFields` are not kept
 * from a client: they are the field manager's decision for the request (none outside one).
 */
export function carryServerMeta(next: Meta, cur: Meta): void {
  if (cur.creationTimestamp !== undefined) next.creationTimestamp = cur.creationTimestamp;
  else delete next.creationTimestamp;
  if (!next.uid && cur.uid !== undefined) next.uid = cur.uid;
  if (cur.deletionTimestamp !== undefined) next.deletionTimestamp = cur.deletionTimestamp;
  else delete next.deletionTimestamp;
  if (cur.deletionGracePeriodSeconds !== undefined) next.deletionGracePeriodSeconds = cur.deletionGracePeriodSeconds;
  else delete next.deletionGracePeriodSeconds;
  if (cur.generation !== undefined) next.generation = cur.generation;
  else delete next.generation;
  stampManagedFields(next);
}

/**
 * An update without a resourceVersion is unconditional (every kind podvisor serves allows it,
 * as `AllowUnconditionalUpdate` does): it is taken as based on the stored version. Call after
 * {@link checkResourceVersion}.
 */
export function unconditional(next: Meta, cur: Meta): void {
  if (!next.resourceVersion && cur.resourceVersion !== undefined) next.resourceVersion = cur.resourceVersion;
}

/**
 * The optimistic lock: an update that names a resourceVersion other than the stored one is a
 * 409 Conflict with the API server's message. No resourceVersion: an unconditional update.
 */
export function checkResourceVersion(next: Meta, cur: Meta, resource: string, name: string): void {
  if (next.resourceVersion && next.resourceVersion !== cur.resourceVersion) {
    throw new HttpError(conflict(resource, name, OPTIMISTIC_LOCK_MESSAGE));
  }
}

/** `ValidateObjectMetaUpdate`: name, namespace and uid may not change (the rest is carried over). */
export function immutableMetaErrors(next: Meta, cur: Meta): FieldError[] {
  const errors: FieldError[] = [];
  for (const f of ['name', 'namespace', 'uid'] as const) {
    const a = next[f];
    if (a !== undefined && a !== cur[f]) errors.push({ type: 'Invalid', field: `metadata.${f}`, value: a, detail: 'field is immutable' });
  }
  return errors;
}

/** Delete preconditions (`uid`, `resourceVersion`): 409 Conflict with the API server's message. */
export function checkPreconditions(cur: { metadata: { uid?: string; resourceVersion?: string } }, resource: string, name: string, opts: DeleteOptions): void {
  const pre = opts.preconditions ?? {};
  if (pre.uid !== undefined && pre.uid !== cur.metadata.uid) {
    throw new HttpError(conflict(resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`));
  }
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion) {
    throw new HttpError(conflict(resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`));
  }
}
