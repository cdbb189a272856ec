/**
 * The `metadata.managedFields` a write stores, decided by the field manager for the request
 * being served and stamped where the registry sets server-set metadata (`registry/meta.ts`:
 * `stampCreate`, `carryServerMeta`). A client's own `managedFields` are never stored: whatever
 * an object body says there is replaced by this decision, and a write outside any decision
 * (the system namespaces created at start) stores none.
 *
 * The decision is scoped to the synchronous call of the resource's `create` or `update` with
 * `AsyncLocalStorage`, so it cannot leak into another request. It is computed when the
 * object's `managedFields` are first read (validation, storing, encoding), not when they are
 * stamped: computing them costs about as much as decoding the object, and a write the
 * registry refuses first (a pod update that changes its spec) never needs them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ManagedFieldsEntry } from '../../api/types.js';

/** What a write stores as `metadata.managedFields` (undefined: none), computed at most once. */
export interface ManagedFieldsDecision {
  managedFields(): readonly ManagedFieldsEntry[] | undefined;
}

/** A decision computed by `compute` on first use. */
export function lazyDecision(compute: () => readonly ManagedFieldsEntry[] | undefined): ManagedFieldsDecision {
  let done = false;
  let value: readonly ManagedFieldsEntry[] | undefined;
  return {
    managedFields() {
      if (!done) {
        value = compute();
        done = true;
      }
      return value;
    },
  };
}

/** A decision already made. */
export function decided(managedFields: readonly ManagedFieldsEntry[] | undefined): ManagedFieldsDecision {
  return { managedFields: () => managedFields };
}

const current = new AsyncLocalStorage<ManagedFieldsDecision>();

/** Runs `write` (a resource's create or update) with `decision` in effect. */
export function withManagedFields<T>(decision: ManagedFieldsDecision, write: () => T): T {
  return current.run(decision, write);
}

/**
 * Sets `meta.managedFields` to the decision of the request being served (a fresh copy, read
 * lazily; assigning the field replaces it), or removes them when no decision is in effect.
 */
export function stampManagedFields(meta: { managedFields?: unknown }): void {
  const d = current.getStore();
  if (!d) {
    delete meta.managedFields;
    return;
  }
  let copy: ManagedFieldsEntry[] | undefined;
  let read = false;
  Object.defineProperty(meta, 'managedFields', {
    configurable: true,
    enumerable: true,
    get() {
      if (!read) {
        const v = d.managedFields();
        copy = v && v.length > 0 ? (structuredClone(v) as ManagedFieldsEntry[]) : undefined;
        read = true;
      }
      return copy;
    },
    set(v: unknown) {
      Object.defineProperty(meta, 'managedFields', { configurable: true, enumerable: true, writable: true, value: v });
    },
  });
}
