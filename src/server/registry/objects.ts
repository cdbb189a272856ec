/**
 * A resource whose objects the registry keeps itself, in the store (ConfigMaps, Secrets,
 * Namespaces): the API server's generic registry (`genericregistry.Store`) for any kind whose
 * rules fit a {@link Strategy}. Create: decode → name → admission (the namespace exists and
 * is not terminating) → defaults → validation → resourceVersion → stored → watch. Update: the
 * same with the stored object's server-set metadata carried over, the optimistic lock and the
 * kind's update rules. Delete: immediate (a strategy may defer it, see namespaces).
 *
 * Every write is durable before it is served or published; a failed write changes nothing.
 */
import type { FieldError } from '../../api/errors.js';
import type { ObjectStore, StoredObject } from '../../store/types.js';
import { alreadyExists, badRequest, HttpError, invalid, notFound } from '../status.js';
import { carryServerMeta, checkPreconditions, checkResourceVersion, generateName, immutableMetaErrors, retryGeneratedName, stampCreate, unconditional } from './meta.js';
import type { NamespaceGate } from './namespaces.js';
import type { ApiObject, DeleteOptions, KindDef, Resource, WriteOptions, Written } from './types.js';
import { WatchCache } from './watch-cache.js';

/** What differs between stored kinds: defaults and validation. */
export interface Strategy<T extends ApiObject> {
  /** Defaults and server-set fields of a new object (after its metadata was stamped). */
  prepareForCreate(obj: T): void;
  /** Validation of a new object: every error at once, and API warnings. */
  validate(obj: T): { errors: FieldError[]; warnings: string[] };
  /** Carries what an update of the main resource may not change (status) from the stored object. */
  prepareForUpdate(next: T, cur: T): void;
  /** Validation of an update (the new object's own rules and what may not change). */
  validateUpdate(next: T, cur: T): { errors: FieldError[]; warnings: string[] };
}

/** Options of {@link StoredResource}. */
export interface StoredResourceOptions<T extends ApiObject> {
  def: KindDef<T>;
  strategy: Strategy<T>;
  store: ObjectStore;
  /** Admission of namespaced creates (absent for cluster-scoped kinds). */
  namespaces?: NamespaceGate;
  now: () => number;
  /** Called after every stored change (ConfigMaps and Secrets: the pods that show them are told). */
  onChange?: (obj: T) => void;
}

/** A store-backed resource. */
export class StoredResource<T extends ApiObject> implements Resource<T> {
  readonly def: KindDef<T>;
  readonly cache: WatchCache<T>;
  protected readonly store: ObjectStore;
  protected readonly strategy: Strategy<T>;
  protected readonly now: () => number;
  private readonly namespaces: NamespaceGate | undefined;
  private readonly onChange: ((obj: T) => void) | undefined;

  constructor(o: StoredResourceOptions<T>) {
    this.onChange = o.onChange;
    this.def = o.def;
    this.strategy = o.strategy;
    this.store = o.store;
    this.namespaces = o.namespaces;
    this.now = o.now;
    this.cache = new WatchCache<T>(o.store.resourceVersion);
  }

  private scope(namespace: string | undefined): string | undefined {
    return this.def.namespaced ? (namespace ?? 'default') : undefined;
  }

  list(namespace?: string): T[] {
    const all = this.store.listObjects(this.def.resource) as unknown as T[];
    const some = namespace === undefined || !this.def.namespaced ? all : all.filter((o) => o.metadata.namespace === namespace);
    return some.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.getObject(this.def.resource, this.scope(namespace), name) as unknown as T | undefined;
  }

  protected mustGet(namespace: string | undefined, name: string): T {
    const cur = this.get(namespace, name);
    if (!cur) throw new HttpError(notFound(this.def.resource, name));
    return cur;
  }

  /** Decodes a body; type errors are a 422 with every one of them. */
  protected decode(body: Record<string, unknown>, opts: WriteOptions, name: string): T {
    const d = this.def.decode(body, opts.literals);
    if (d.errors.length > 0) throw new HttpError(invalid(this.def.kind, name, d.errors));
    return d.obj;
  }

  create(namespace: string | undefined, body: Record<string, unknown>, opts: WriteOptions): Written<T> {
    const ns = this.scope(namespace);
    const obj = this.decode(body, opts, String((body.metadata as { name?: unknown } | undefined)?.name ?? ''));
    const again = generateName(obj.metadata);
    if (ns !== undefined) obj.metadata.namespace = ns;
    else delete obj.metadata.namespace;
    if (!obj.metadata.name && !obj.metadata.generateName) {
      throw new HttpError(invalid(this.def.kind, '', [{ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' }]));
    }
    if (ns !== undefined) this.namespaces?.admit(ns, this.def.resource, obj.metadata.name ?? '');
    retryGeneratedName(obj.metadata, again, (n) => this.get(ns, n) !== undefined);
    stampCreate(obj.metadata, this.now());
    this.strategy.prepareForCreate(obj);
    const v = this.strategy.validate(obj);
    if (v.errors.length > 0) throw new HttpError(invalid(this.def.kind, obj.metadata.name ?? '', v.errors));
    if (this.get(ns, obj.metadata.name ?? '')) throw new HttpError(alreadyExists(this.def.resource, obj.metadata.name ?? ''));
    if (opts.dryRun) return { obj, warnings: v.warnings };
    return { obj: this.put(obj, 'ADDED'), warnings: v.warnings };
  }

  update(namespace: string | undefined, name: string, body: Record<string, unknown>, opts: WriteOptions): Written<T> {
    const ns = this.scope(namespace);
    const cur = this.mustGet(ns, name);
    const next = this.decode(body, opts, name);
    carryServerMeta(next.metadata, cur.metadata);
    checkResourceVersion(next.metadata, cur.metadata, this.def.resource, name);
    unconditional(next.metadata, cur.metadata);
    if (ns !== undefined && next.metadata.namespace === undefined) next.metadata.namespace = ns;
    const metaErrors = immutableMetaErrors(next.metadata, cur.metadata);
    this.strategy.prepareForUpdate(next, cur);
    const v = this.strategy.validateUpdate(next, cur);
    const errors = [...metaErrors, ...v.errors];
    if (errors.length > 0) throw new HttpError(invalid(this.def.kind, name, errors));
    if (opts.dryRun) return { obj: next, warnings: v.warnings };
    const stored = this.put(next, 'MODIFIED');
    this.afterUpdate(stored, cur);
    return { obj: stored, warnings: v.warnings };
  }

  /** Called after an update was stored (a namespace whose finalizers went may complete its deletion). */
  protected afterUpdate(_obj: T, _cur: T): void {}

  delete(namespace: string | undefined, name: string, opts: DeleteOptions): T {
    const ns = this.scope(namespace);
    const cur = this.mustGet(ns, name);
    checkPreconditions(cur, this.def.resource, name, opts);
    if (opts.dryRun) return cur;
    return this.remove(cur);
  }

  /** Gives `obj` a new resourceVersion, stores it durably, then publishes it. Returns the stored object. */
  protected put(obj: T, type: 'ADDED' | 'MODIFIED'): T {
    if (!obj.metadata.name) throw new HttpError(badRequest('metadata.name is required'));
    const rv = this.store.nextResourceVersion();
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } } as T;
    this.store.putObject(this.def.resource, stored as unknown as StoredObject);
    this.cache.publish(type, stored, rv);
    this.onChange?.(stored);
    return stored;
  }

  /** Removes an object durably, then publishes DELETED with the version of its removal. Returns it as it was. */
  protected remove(cur: T): T {
    const rv = this.store.nextResourceVersion();
    this.store.removeObject(this.def.resource, cur.metadata.namespace, cur.metadata.name ?? '');
    this.cache.publish('DELETED', { ...cur, metadata: { ...cur.metadata, resourceVersion: String(rv) } } as T, rv);
    this.onChange?.(cur);
    return cur;
  }

  /** Removes every object of a namespace (its deletion). */
  removeNamespace(namespace: string): void {
    for (const o of this.list(namespace)) this.remove(o);
  }
}
