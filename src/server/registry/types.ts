/**
 * The registry's vocabulary: what a served kind is ({@link KindDef}: names, printing,
 * selectors, decoding) and what the HTTP handlers may do with one ({@link Resource}: read,
 * write, watch). Every kind is served by the same handlers (`handlers/objects.ts`); what
 * differs between kinds lives in their definitions and strategies (`kinds/`).
 */
import type { FieldError } from '../../api/errors.js';
import type { ObjectMeta } from '../../api/types.js';
import type { LiteralIndex } from '../../api/json-scan.js';
import type { FieldValidation } from '../options.js';
import type { IncludeObject, TableColumnDefinition, TableRow } from '../table.js';
import type { WatchCache } from './watch-cache.js';

/** Metadata of any stored object (Pod's included). */
export interface Meta extends ObjectMeta {
  finalizers?: string[];
  ownerReferences?: unknown[];
  managedFields?: unknown[];
}

/** Any API object the registry serves. */
export interface ApiObject {
  metadata: Meta;
}

/** What decoding a request body found. */
export interface Decoded<T> {
  /** The typed object (best effort when there are errors). */
  obj: T;
  /** Values of the wrong type (422 Invalid, every one at once). */
  errors: FieldError[];
  /** Unknown fields (`unknown field "spec.foo"`): warnings, 400 with `fieldValidation=Strict`. */
  unknown: string[];
}

/** A served kind: its names and how it is printed, selected and decoded. */
export interface KindDef<T extends ApiObject> {
  /** `Pod`. */
  kind: string;
  /** `pods`. */
  resource: string;
  /** `pod`. */
  singular: string;
  /** `v1`, or `group/version`. */
  apiVersion: string;
  namespaced: boolean;
  shortNames: string[];
  categories?: string[];
  /** Discovery verbs. */
  verbs: string[];
  /** Table columns and one object's row. */
  columns: readonly TableColumnDefinition[];
  row(obj: T, now: number, include: IncludeObject): TableRow;
  /** Field selectors the kind supports besides `metadata.name` and `metadata.namespace`. */
  fields: ReadonlySet<string>;
  /** A field's value for a field selector. */
  field(obj: T, field: string): string;
  /** Paths whose number literals must be integers (checked against the body's literals). */
  integerKeys?: ReadonlySet<string>;
  /** Decodes an untyped body (already parsed JSON or YAML). */
  decode(body: Record<string, unknown>, literals: LiteralIndex | undefined): Decoded<T>;
}

/** Options of a write. */
export interface WriteOptions {
  dryRun: boolean;
  fieldValidation: FieldValidation;
  /** Number literals of the body as sent (integer checks), when it was JSON. */
  literals?: LiteralIndex;
}

/** Options of a delete. */
export interface DeleteOptions {
  dryRun: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** A write's outcome: the object as stored (or as it would be, on a dry run) and API warnings. */
export interface Written<T> {
  obj: T;
  warnings: string[];
}

/** A served resource: what the generic handlers call. Writes throw `HttpError`s or agent domain errors. */
export interface Resource<T extends ApiObject = ApiObject> {
  readonly def: KindDef<T>;
  /** The watch cache every change of the resource goes through. */
  readonly cache: WatchCache<T>;
  /** Every object, or those of one namespace (copies are not needed: callers do not modify them). */
  list(namespace?: string): T[];
  /** One object, or undefined. */
  get(namespace: string | undefined, name: string): T | undefined;
  /** Creates an object from a body whose kind, apiVersion and namespace were checked. Absent: read-only. */
  create?(namespace: string | undefined, body: Record<string, unknown>, opts: WriteOptions): Written<T>;
  /** Replaces an object with `next` (a whole object: PUT, or a patch applied to the current one). */
  update?(namespace: string | undefined, name: string, next: Record<string, unknown>, opts: WriteOptions): Written<T>;
  /** Deletes an object (graceful for pods, finalized for namespaces): the object as it is now, or as it was. */
  delete?(namespace: string | undefined, name: string, opts: DeleteOptions): T;
}
