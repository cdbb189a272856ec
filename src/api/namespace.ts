/**
 * The core/v1 Namespace as the Kubernetes 1.36 API server treats it: decoding, defaulting
 * (`SetDefaults_Namespace`, `SetDefaults_NamespaceStatus`), the registry strategy
 * (`pkg/registry/core/namespace/strategy.go`: `PrepareForCreate`, `PrepareForUpdate`,
 * `Canonicalize`, and the `status` and `finalize` subresources) and validation
 * (`ValidateNamespace`, `ValidateNamespaceUpdate`, `ValidateNamespaceStatusUpdate`,
 * `ValidateNamespaceFinalizeUpdate`), with upstream's messages and field paths.
 *
 * A registry creates a namespace with: {@link decodeNamespace} → {@link defaultNamespace} →
 * (name generation) → {@link validateNamespace} → {@link canonicalizeNamespace}; and updates
 * one with: decode → {@link prepareNamespaceForUpdate} → {@link validateNamespaceUpdate}.
 * Every function is pure and returns a new object; none throws.
 */
import type { FieldError } from './errors.js';
import { fieldErrors, VerbatimValue } from './errors.js';
import { decodeObject, OBJECT_META_SCHEMA, schema, type ObjectDecodeResult } from './object-decode.js';
import { nameIsDNSLabel, validateFinalizerName, validateObjectMeta, validateObjectMetaUpdate, type FullObjectMeta } from './object-meta.js';

/** `status.phase` of a Namespace. */
export type NamespacePhase = 'Active' | 'Terminating';

/** A `status.conditions[]` entry (set by the namespace controller while deleting). */
export interface NamespaceCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** core/v1 `Namespace`. */
export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: FullObjectMeta;
  spec?: {
    /** What must be done before the namespace is removed; the server adds {@link FINALIZER_KUBERNETES}. */
    finalizers?: string[];
  };
  status?: {
    phase?: NamespacePhase;
    conditions?: NamespaceCondition[];
  };
}

/** The label every namespace carries, whose value is the namespace's name (`v1.LabelMetadataName`). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** The finalizer the server puts in `spec.finalizers` on create (`FinalizerKubernetes`). */
export const FINALIZER_KUBERNETES = 'kubernetes';

const { str, arr, obj } = schema;
const NAMESPACE_SCHEMA = obj({
  apiVersion: str,
  kind: str,
  metadata: OBJECT_META_SCHEMA,
  spec: obj({ finalizers: arr(str) }),
  status: obj({
    phase: str,
    conditions: arr(obj({ type: str, status: str, lastTransitionTime: str, reason: str, message: str })),
  }),
});

/**
 * Decodes an untyped body into a {@link Namespace} (conventions of `object-decode.ts`: type
 * errors as `TypeInvalid` field errors, unknown fields as warnings). Never throws; values are
 * not validated (`status.phase` may hold any string).
 */
export function decodeNamespace(body: unknown): ObjectDecodeResult<Namespace> {
  return decodeObject<Namespace>(body, NAMESPACE_SCHEMA, 'v1', 'Namespace');
}

/** The labels with {@link NAMESPACE_NAME_LABEL} set to the name (when the name is known). */
function withNameLabel(meta: FullObjectMeta): FullObjectMeta {
  if (!meta.name) return meta;
  return { ...meta, labels: { ...(meta.labels ?? {}), [NAMESPACE_NAME_LABEL]: meta.name } };
}

/**
 * What the API server makes of a namespace being created, before validation: the defaults
 * (the {@link NAMESPACE_NAME_LABEL} label forced to the name when it is known; with only
 * `generateName`, {@link canonicalizeNamespace} sets it once the name is generated), then
 * `PrepareForCreate`: `status` replaced by `{phase: Active}` and {@link FINALIZER_KUBERNETES}
 * appended to `spec.finalizers` unless present. Other fields are kept as given.
 */
export function defaultNamespace(ns: Namespace): Namespace {
  const finalizers = ns.spec?.finalizers ?? [];
  return {
    ...ns,
    metadata: withNameLabel(ns.metadata ?? {}),
    spec: { ...ns.spec, finalizers: finalizers.includes(FINALIZER_KUBERNETES) ? [...finalizers] : [...finalizers, FINALIZER_KUBERNETES] },
    status: { phase: 'Active' },
  };
}

/**
 * The strategy's `Canonicalize`, run after validation on create and update: the
 * {@link NAMESPACE_NAME_LABEL} label is set to the name (it matters after name generation).
 */
export function canonicalizeNamespace(ns: Namespace): Namespace {
  return { ...ns, metadata: { ...(ns.metadata ?? {}), labels: { ...(ns.metadata?.labels ?? {}), [NAMESPACE_NAME_LABEL]: ns.metadata?.name ?? '' } } };
}

/**
 * What the API server makes of an update of `cur` to `next` before validation: the defaults
 * (name label forced to the name, an empty `status.phase` is `Active`), then the strategy of
 * the resource written: the main resource keeps `spec.finalizers` and `status` of `cur` (a
 * client cannot change them there, silently), `status` keeps `spec` of `cur`, `finalize` keeps
 * `status` of `cur`.
 */
export function prepareNamespaceForUpdate(next: Namespace, cur: Namespace, subresource: '' | 'status' | 'finalize' = ''): Namespace {
  const out: Namespace = { ...next, metadata: withNameLabel(next.metadata ?? {}), status: { ...next.status, phase: next.status?.phase || 'Active' } };
  // The main resource and `status` keep the stored spec (its only field is `finalizers`).
  if (subresource !== 'finalize') setOrDelete(out, 'spec', cur.spec);
  // The main resource and `finalize` keep the stored status.
  if (subresource !== 'status') setOrDelete(out, 'status', cur.status);
  return out;
}

function setOrDelete<K extends 'spec' | 'status'>(ns: Namespace, key: K, value: Namespace[K]): void {
  if (value === undefined) delete ns[key];
  else ns[key] = structuredClone(value);
}

/** Options of {@link validateNamespace}. */
export interface NamespaceValidationOptions {
  /**
   * True (default) on create. False on update, where the {@link NAMESPACE_NAME_LABEL} label
   * must already equal the name: {@link prepareNamespaceForUpdate} forces it, as the API
   * server does, so this only catches an update that skipped that step (reported the way
   * upstream's `ValidateHasLabel` reports a missing or wrong label).
   */
  create?: boolean;
}

/**
 * `ValidateNamespace`: metadata of a cluster-scoped object whose name is a DNS-1123 label
 * (`metadata.namespace` forbidden: the registry clears it before, see `object-meta.ts`), then
 * each `spec.finalizers` entry a qualified name, standard when without a domain, errors on
 * `spec.finalizers` (no index, as upstream). Plus the name label check of
 * {@link NamespaceValidationOptions.create}.
 */
export function validateNamespace(ns: Namespace, opts: NamespaceValidationOptions = {}): FieldError[] {
  const errs = validateObjectMeta(ns.metadata, { namespaced: false, name: nameIsDNSLabel });
  for (const f of ns.spec?.finalizers ?? []) errs.push(...validateFinalizerName(f, 'spec.finalizers'));
  if (opts.create === false) errs.push(...validateNameLabel(ns.metadata ?? {}));
  return errs;
}

/** `ValidateHasLabel(meta, "metadata", NAMESPACE_NAME_LABEL, name)`. */
function validateNameLabel(meta: FullObjectMeta): FieldError[] {
  const name = meta.name ?? '';
  const labels = meta.labels ?? {};
  const path = `metadata.labels[${NAMESPACE_NAME_LABEL}]`;
  if (!Object.prototype.hasOwnProperty.call(labels, NAMESPACE_NAME_LABEL)) return [fieldErrors.required(path, `must be '${name}'`)];
  if (labels[NAMESPACE_NAME_LABEL] === name) return [];
  return [fieldErrors.invalid(path, goStringMap(labels), `must be '${name}'`)];
}

/** Go's `%#v` of a `map[string]string` (keys sorted): `map[string]string{"a":"b"}`. */
function goStringMap(m: Readonly<Record<string, string>>): VerbatimValue {
  const body = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k] ?? '')}`)
    .join(', ');
  return new VerbatimValue(`map[string]string{${body}}`);
}

/**
 * The strategy's `ValidateUpdate` for the main resource: {@link validateNamespace} of `next`
 * (as an update), then `ValidateNamespaceUpdate` (the metadata update rules: `resourceVersion`
 * required, `name`, `uid`, `creationTimestamp`, ... immutable). Changes to `spec` and `status`
 * are not errors: {@link prepareNamespaceForUpdate} undoes them.
 */
export function validateNamespaceUpdate(next: Namespace, cur: Namespace): FieldError[] {
  return [...validateNamespace(next, { create: false }), ...validateObjectMetaUpdate(next.metadata, cur.metadata)];
}

/**
 * `ValidateNamespaceStatusUpdate` (the `status` subresource): the metadata update rules, then
 * `status.phase` must be `Active` while `deletionTimestamp` is unset and `Terminating` once it
 * is set. The path is upstream's, `status.Phase`.
 */
export function validateNamespaceStatusUpdate(next: Namespace, cur: Namespace): FieldError[] {
  const errs = validateObjectMetaUpdate(next.metadata, cur.metadata);
  const phase = next.status?.phase ?? '';
  if (!next.metadata?.deletionTimestamp) {
    if (phase !== 'Active') errs.push(fieldErrors.invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
  } else if (phase !== 'Terminating') {
    errs.push(fieldErrors.invalid('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
  }
  return errs;
}

/**
 * `ValidateNamespaceFinalizeUpdate` (the `finalize` subresource, which changes
 * `spec.finalizers`): the metadata update rules, then each finalizer name at
 * `spec.finalizers[i]`.
 */
export function validateNamespaceFinalizeUpdate(next: Namespace, cur: Namespace): FieldError[] {
  const errs = validateObjectMetaUpdate(next.metadata, cur.metadata);
  (next.spec?.finalizers ?? []).forEach((f, i) => errs.push(...validateFinalizerName(f, `spec.finalizers[${i}]`)));
  return errs;
}
