/**
 * Namespaces as the API server keeps them: `default`, `kube-system`, `kube-public` and
 * `kube-node-lease` always exist (and may not be deleted); a create in a namespace that does
 * not exist is refused with 404, in one being deleted with 403 (the `NamespaceLifecycle`
 * admission plugin). Deleting a namespace marks it `Terminating`, deletes its content (pods
 * gracefully through the agent, ConfigMaps, Secrets, events), and removes it once its last
 * pod is gone and no finalizer is left, as the namespace controller does. A daemon restart
 * during a deletion resumes it.
 */
import type { Namespace } from '../../api/namespace.js';
import { formatTimestamp } from '../../api/time.js';
import type { ObjectStore } from '../../store/types.js';
import { NAMESPACE_KIND, NAMESPACE_STRATEGY } from '../kinds/namespaces.js';
import { forbidden, HttpError, notFound } from '../status.js';
import { checkPreconditions, stampCreate } from './meta.js';
import { StoredResource } from './objects.js';
import type { DeleteOptions } from './types.js';

/** The namespaces that always exist. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** Namespaces that may not be deleted (the API server's immortal namespaces). */
const IMMORTAL = new Set(['default', 'kube-system', 'kube-public']);

/** Admission of creates in a namespace. */
export interface NamespaceGate {
  /** Throws 404 when `namespace` does not exist, 403 when it is being deleted. */
  admit(namespace: string, resource: string, name: string): void;
}

/** What a namespace's deletion deletes. */
export interface NamespaceContent {
  /** Starts the deletion of everything in the namespace; idempotent. */
  deleteContent(namespace: string): void;
  /** Whether anything that must go before the namespace (a pod still terminating) is left. */
  hasContent(namespace: string): boolean;
}

/** The namespaces resource, with the namespace lifecycle. */
export class NamespaceResource extends StoredResource<Namespace> implements NamespaceGate {
  private content: NamespaceContent | undefined;

  constructor(store: ObjectStore, now: () => number) {
    super({ def: NAMESPACE_KIND, strategy: NAMESPACE_STRATEGY, store, now });
  }

  /**
   * Creates the system namespaces and those the given pods live in (a store from before
   * namespaces were objects) where missing, and resumes interrupted deletions.
   */
  start(content: NamespaceContent, inUse: Iterable<string>): void {
    this.content = content;
    for (const name of new Set([...SYSTEM_NAMESPACES, ...inUse])) {
      if (this.get(undefined, name)) continue;
      const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {}, status: {} };
      stampCreate(ns.metadata, this.now());
      NAMESPACE_STRATEGY.prepareForCreate(ns);
      this.put(ns, 'ADDED');
    }
    for (const ns of this.list()) if (ns.metadata.deletionTimestamp) this.finalize(ns.metadata.name ?? '');
  }

  admit(namespace: string, resource: string, name: string): void {
    const ns = this.get(undefined, namespace);
    if (!ns) throw new HttpError(notFound('namespaces', namespace));
    if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
      const why = `unable to create new content in namespace ${namespace} because it is being terminated`;
      throw new HttpError(forbidden(resource, name, why, [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }]));
    }
  }

  override delete(_namespace: string | undefined, name: string, opts: DeleteOptions): Namespace {
    const cur = this.mustGet(undefined, name);
    checkPreconditions(cur, 'namespaces', name, opts);
    if (IMMORTAL.has(name)) throw new HttpError(forbidden('namespaces', name, 'this namespace may not be deleted'));
    if (opts.dryRun || cur.metadata.deletionTimestamp) return cur;
    const terminating: Namespace = {
      ...cur,
      metadata: { ...cur.metadata, deletionTimestamp: formatTimestamp(this.now()), deletionGracePeriodSeconds: 0 },
      status: { ...cur.status, phase: 'Terminating' },
    };
    const stored = this.put(terminating, 'MODIFIED');
    this.finalize(name);
    return this.get(undefined, name) ?? stored;
  }

  protected override afterUpdate(obj: Namespace): void {
    if (obj.metadata.deletionTimestamp) this.finalize(obj.metadata.name ?? '');
  }

  /**
   * Deletes the content of a terminating namespace and removes it when nothing is left. Called
   * on its deletion, after each change that may have emptied it (a pod gone, a finalizer
   * removed), and at start.
   */
  finalize(name: string): void {
    const ns = this.get(undefined, name);
    if (!ns?.metadata.deletionTimestamp || !this.content) return;
    this.content.deleteContent(name);
    if (this.content.hasContent(name)) return;
    if ((ns.metadata.finalizers ?? []).length > 0) return;
    this.remove(ns);
  }
}
