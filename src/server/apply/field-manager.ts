/**
 * The API server's field manager for one kind (apimachinery `util/managedfields`), the layers
 * of `NewDefaultFieldManager` in one place, outermost first:
 *
 * 1. the applied object's `apiVersion`/`kind` must be the endpoint's (400);
 * 2. `kubectl`'s migration from client-side apply: when the manager `kubectl` applies to an
 *    object with a `last-applied-configuration` annotation, conflicts on fields whose live
 *    value still is the last-applied one are forced, and the annotation is rewritten from the
 *    applied configuration;
 * 3. an object without managed fields: an update does not start tracking them (only a create
 *    does); an apply first gives its existing fields to `before-first-apply`;
 * 4. at most 10 update managers: the oldest are merged into `ancient-changes`;
 * 5. the manager's identity (name, operation, API version of an update);
 * 6. an update's fields are added to what its manager owned before, with the time of the
 *    change; an apply's time is set when it changed the object;
 * 7. `apiVersion`, `kind` and the server-set metadata are owned by nobody;
 * 8. the structured merge itself (`updater.ts`), on typed values (`typed.ts`).
 *
 * Objects are plain JSON here; `writes.ts` turns requests into calls of this class.
 *
 * Where podvisor differs from the API server, on purpose:
 *
 * - a client never sets `managedFields` (the API server takes a valid, non-empty list from the
 *   body of an update). Only the documented reset, `managedFields: [{}]`, is honoured (the
 *   object then has none, and updates do not track it again until an apply). kubectl's
 *   migration of client-side apply managers (`csaupgrade`, a JSON patch of `managedFields` sent
 *   after `apply --server-side`) therefore changes nothing: `kubectl-client-side-apply` keeps
 *   the fields it set, co-owned with `kubectl` where the values agree, so a later apply that
 *   leaves one of them out does not prune it;
 * - a pod's status is written by the agent, not through the API: no `kubelet` entry with
 *   subresource `status` is recorded, and status changes never touch `managedFields` (the API
 *   server shows one such entry, its time moved at each status write). The main resource's
 *   managers never own `status` either way (it is a reset field);
 * - the Go zero values of the API types are modelled only where they show in managed fields:
 *   the zero object a create starts from, and a container's `resources: {}`.
 */
import { formatTimestamp } from '../../api/time.js';
import type { ManagedFieldsEntry } from '../../api/types.js';
import { FieldSet, goJson, pe, valuesEqual, type Json } from './fieldpath.js';
import { kindFields, type KindFields } from './kinds.js';
import { copyManaged, decodeManagedFields, emptyManaged, encodeManagedFields, managerKey, type Managed } from './managed-fields.js';
import { kindSchema, type KindSchema } from './schema.js';
import { compareTyped, dropUndeclared, toFieldSet, validateTyped, type TypedProblem } from './typed.js';
import { ApplyConflicts, Updater, type ManagedSets, type VersionedSet } from './updater.js';

type Obj = { [k: string]: Json };

/** Upstream's cap on update managers (`DefaultMaxUpdateManagers`). */
export const MAX_UPDATE_MANAGERS = 10;
/** The manager old update managers are merged into. */
export const ANCIENT_CHANGES = 'ancient-changes';
/** The manager an object's fields are given to when it is first applied to without managed fields. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';
/** kubectl's client-side apply annotation. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** The manager whose applies may take over from client-side apply. */
const KUBECTL = 'kubectl';
/** Upstream's limit on the size of all annotations (`TotalAnnotationSizeLimitB`). */
const ANNOTATIONS_LIMIT = 256 * 1024;
const SELF = 'current-operation';

/** The fields of an object nobody owns (upstream's `stripMetaManager`). */
const STRIPPED = FieldSet.of([
  [pe.field('apiVersion')],
  [pe.field('kind')],
  [pe.field('metadata')],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => [pe.field('metadata'), pe.field(f)]),
]);

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function metaOf(o: Obj): Obj {
  return isObject(o.metadata) ? o.metadata : {};
}

/** An applied configuration the field manager refuses. */
export class ApplyRefused extends Error {
  constructor(
    message: string,
    /** `badRequest` (400) or `invalid` (422, with `problems`). */
    readonly kind: 'badRequest' | 'invalid',
    readonly problems: readonly TypedProblem[] = [],
  ) {
    super(message);
    this.name = 'ApplyRefused';
  }
}

/** The result of an apply: the object to store and its managed fields. */
export interface Applied {
  /** The merged and pruned object (the live one when the apply changed nothing). */
  object: Obj;
  managedFields: ManagedFieldsEntry[] | undefined;
  /** False when neither the object nor its managed fields changed. */
  changed: boolean;
}

/** Options of {@link FieldManager}. */
export interface FieldManagerOptions {
  apiVersion: string;
  kind: string;
  /** Clock (epoch ms) for the entries' `time`. */
  now: () => number;
}

/** Managed fields of one kind's objects, maintained on every write as the API server does. */
export class FieldManager {
  private readonly schema: KindSchema;
  private readonly fields: KindFields;
  private readonly updater: Updater;

  constructor(private readonly o: FieldManagerOptions) {
    this.schema = kindSchema(o.apiVersion, o.kind);
    this.fields = kindFields(o.kind);
    this.updater = new Updater({ schema: this.schema.schema, root: this.schema.root, ...(this.fields.resetFields ? { ignored: this.fields.resetFields } : {}) });
  }

  private time(): string {
    return formatTimestamp(this.o.now());
  }

  /** The object as the field manager types it: without its managed fields, with Go's always-present structs. */
  private view(obj: Obj, goView: boolean): Obj {
    const v = JSON.parse(JSON.stringify(obj)) as Obj;
    if (isObject(v.metadata)) delete v.metadata.managedFields;
    if (goView) this.fields.goView(v);
    return v;
  }

  /** The zero object a create starts from. */
  zero(): Obj {
    return this.fields.zero(this.o.apiVersion, this.o.kind);
  }

  /** The decode-time defaults of a written object (see `kinds.ts`). */
  decodeDefaults(obj: Obj): Obj {
    return this.fields.decodeDefaults(obj);
  }

  /**
   * The managed fields after a create (`live` undefined) or update by `manager` that writes
   * `next` (decoded, with decode-time defaults). `reset`: the body asked to reset them
   * (`managedFields: [{}]`). Never throws: when they cannot be computed, the live object's
   * stay, as upstream's `UpdateNoErrors` keeps them.
   */
  update(live: Obj | undefined, next: Obj, manager: string, reset = false): ManagedFieldsEntry[] | undefined {
    const liveEntries = live ? (metaOf(live).managedFields as ManagedFieldsEntry[] | undefined) : undefined;
    try {
      const managed = reset || !live ? emptyManaged() : decodeOrEmpty(liveEntries);
      const liveView = live ? this.view(live, true) : this.zero();
      const m = this.updateManaged(liveView, this.view(next, true), managed, manager);
      return encodeManagedFields(m);
    } catch {
      return liveEntries;
    }
  }

  /** Layers 3 to 8 of an update (see the module comment). */
  private updateManaged(live: Obj, next: Obj, managed: Managed, manager: string): Managed {
    // 3. An existing object without managed fields does not start tracking them on update.
    if (managed.sets.size === 0 && typeof metaOf(live).uid === 'string' && metaOf(live).uid !== '') return managed;
    const m = copyManaged(managed);
    // 5. The manager's identity.
    const id = managerKey({ manager: manager === '' ? 'unknown' : manager, operation: 'Update', apiVersion: this.o.apiVersion });
    // 8. The update, as a manager of its own; 7. what nobody owns removed from it.
    m.sets = this.updater.update(live, next, this.o.apiVersion, m.sets, SELF);
    strip(m.sets, SELF);
    // 6. Added to what the manager owned before, with the time.
    const own = m.sets.get(SELF);
    if (own) {
      m.sets.delete(SELF);
      const previous = m.sets.get(id);
      m.sets.set(id, previous ? { ...own, set: own.set.union(previous.set) } : own);
      m.times.set(id, this.time());
    }
    // 4. At most 10 update managers.
    capUpdateManagers(m);
    return m;
  }

  /**
   * An apply of `config` by `manager` to `live` (undefined: the object does not exist yet).
   * Throws {@link ApplyConflicts} (409) unless `force`, {@link ApplyRefused} for a
   * configuration that cannot be applied.
   */
  apply(live: Obj | undefined, config: Obj, manager: string, force: boolean): Applied {
    // 1. The endpoint's kind.
    const apiVersion = typeof config.apiVersion === 'string' ? config.apiVersion : '';
    const kind = typeof config.kind === 'string' ? config.kind : '';
    if (apiVersion !== this.o.apiVersion || kind !== this.o.kind) {
      const slash = apiVersion.indexOf('/');
      const gv = slash < 0 ? `/${apiVersion}` : apiVersion;
      throw new ApplyRefused(`invalid object type: ${gv}, Kind=${kind}`, 'badRequest');
    }
    if (metaOf(config).managedFields !== undefined && metaOf(config).managedFields !== null) {
      throw new ApplyRefused('metadata.managedFields must be nil', 'badRequest');
    }
    const { schema, root } = this.schema;
    const typedConfig = dropUndeclared(schema, config, root) as Obj;
    const problems = validateTyped(schema, typedConfig, root, { allowDuplicates: false });
    if (problems.length > 0) throw new ApplyRefused('the applied configuration cannot be typed', 'invalid', problems);

    const liveEntries = live ? (metaOf(live).managedFields as ManagedFieldsEntry[] | undefined) : undefined;
    const liveView = live ? this.view(live, false) : this.zero();
    const managed = decodeOrEmpty(liveEntries);
    // 2. kubectl taking over from client-side apply.
    let result: { object: Obj; managed: Managed };
    try {
      result = this.applyManaged(liveView, typedConfig, managed, manager, force);
    } catch (err) {
      if (!(err instanceof ApplyConflicts) || manager !== KUBECTL) throw err;
      const allowed = this.allowedConflicts(liveView);
      const left = allowed ? err.conflicts.filter((c) => !allowed.has(c.path)) : err.conflicts;
      if (left.length > 0) throw new ApplyConflicts(left);
      result = this.applyManaged(liveView, typedConfig, managed, manager, true);
    }
    result.object = JSON.parse(JSON.stringify(result.object)) as Obj;
    if (manager === KUBECTL) setLastApplied(result.object, config);
    const managedFields = encodeManagedFields(result.managed);
    const changed = !valuesEqual(result.object, liveView) || goJson(managedFields ?? null) !== goJson(liveEntries ?? null);
    return { object: result.object, managedFields, changed };
  }

  /** Layers 3 to 8 of an apply (see the module comment). */
  private applyManaged(live: Obj, config: Obj, managed: Managed, manager: string, force: boolean): { object: Obj; managed: Managed } {
    let m = copyManaged(managed);
    // 3. Existing fields go to `before-first-apply` first.
    if (m.sets.size === 0) m = this.updateManaged(this.zero(), live, m, BEFORE_FIRST_APPLY);
    // 5. The manager's identity.
    const id = managerKey({ manager, operation: 'Apply' });
    // 8. The apply.
    const r = this.updater.apply(live, config, this.o.apiVersion, m.sets, id, force);
    m.sets = r.managers;
    // 7. What nobody owns.
    strip(m.sets, id);
    // 6. The time of a change.
    if (r.object !== undefined) m.times.set(id, this.time());
    const object = r.object !== undefined && isObject(r.object) ? r.object : live;
    return { object, managed: m };
  }

  /**
   * The fields kubectl may take over from client-side apply: those of the last-applied
   * configuration whose live value is still the applied one (`allowedConflictsFromLastApplied`).
   */
  private allowedConflicts(live: Obj): FieldSet | undefined {
    const text = lastApplied(live);
    if (text === undefined) return undefined;
    try {
      const last = JSON.parse(text) as unknown;
      if (!isObject(last) || last.apiVersion !== this.o.apiVersion) return undefined;
      const { schema, root } = this.schema;
      if (validateTyped(schema, last, root, { allowDuplicates: false }).length > 0) return undefined;
      const set = toFieldSet(schema, last, root);
      const c = compareTyped(schema, last, live, root);
      return set.difference(c.modified).difference(c.added).difference(c.removed);
    } catch {
      return undefined;
    }
  }
}

function decodeOrEmpty(entries: ManagedFieldsEntry[] | undefined): Managed {
  try {
    return decodeManagedFields(entries);
  } catch {
    return emptyManaged();
  }
}

/** Removes what nobody owns from one manager's set; a manager left with nothing is dropped. */
function strip(sets: ManagedSets, manager: string): void {
  const vs = sets.get(manager);
  if (!vs) return;
  const set = vs.set.difference(STRIPPED);
  if (set.empty()) sets.delete(manager);
  else sets.set(manager, { ...vs, set });
}

function seconds(t: string | undefined): number {
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** Merges the oldest update managers into `ancient-changes` (one per API version) until at most 10 are left. */
function capUpdateManagers(m: Managed): void {
  const updaters = [...m.sets.entries()].filter(([, vs]) => !vs.applied).map(([k]) => k);
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  updaters.sort((a, b) => seconds(m.times.get(a)) - seconds(m.times.get(b)) || (a < b ? -1 : a > b ? 1 : 0));
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > MAX_UPDATE_MANAGERS; i++) {
    const key = updaters[i] as string;
    const vs = m.sets.get(key) as VersionedSet;
    const time = m.times.get(key);
    const bucket = managerKey({ manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: vs.apiVersion });
    const first = firstOfVersion.get(vs.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(vs.apiVersion, key);
      continue;
    }
    if (!m.sets.has(bucket)) {
      const s = m.sets.get(first) as VersionedSet;
      m.sets.delete(first);
      m.sets.set(bucket, s);
    }
    const b = m.sets.get(bucket) as VersionedSet;
    m.sets.set(bucket, { set: vs.set.union(b.set), apiVersion: vs.apiVersion, applied: vs.applied });
    m.sets.delete(key);
    length--;
    m.times.set(bucket, time);
  }
}

function lastApplied(obj: Obj): string | undefined {
  const ann = metaOf(obj).annotations;
  const v = isObject(ann) ? ann[LAST_APPLIED_ANNOTATION] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * kubectl's apply over a client-side-applied object keeps the annotation current: it becomes
 * the applied configuration (without the annotation), as JSON the way Go encodes it, unless
 * the annotations would then be too large (`lastAppliedUpdater`).
 */
function setLastApplied(obj: Obj, config: Obj): void {
  if (lastApplied(obj) === undefined) return;
  const copy = JSON.parse(JSON.stringify(config)) as Obj;
  const ann = metaOf(copy).annotations;
  if (isObject(ann)) delete ann[LAST_APPLIED_ANNOTATION];
  const annotations = metaOf(obj).annotations as Obj;
  annotations[LAST_APPLIED_ANNOTATION] = `${goJson(copy)}\n`;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
  if (size > ANNOTATIONS_LIMIT) delete annotations[LAST_APPLIED_ANNOTATION];
}
