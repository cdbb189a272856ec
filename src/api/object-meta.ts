/**
 * meta/v1 `ObjectMeta` rules for any kind, as the API server applies them (k8s.io/apimachinery
 * `pkg/api/validation/objectmeta.go` `ValidateObjectMetaAccessor` and
 * `ValidateObjectMetaAccessorUpdate`, plus core's `ValidateObjectMeta`/`ValidateObjectMetaUpdate`,
 * which add the legacy finalizer-name check), with their messages and field paths.
 *
 * These are the checks a kind's `Validate`/`ValidateUpdate` strategy makes. The registry's own
 * steps around them (`rest.BeforeCreate`/`BeforeUpdate`: clearing `metadata.namespace` of a
 * cluster-scoped object, generating the name, keeping `creationTimestamp` and
 * `deletionTimestamp` from the stored object, and its second, common pass of these same checks)
 * belong to the registry, not here.
 */
import type { ManagedFieldsEntry, ObjectMeta, OwnerReference } from './types.js';
import { fieldErrors, VerbatimValue, type FieldError } from './errors.js';
import { byteLength, isDNS1123Label, isQualifiedName, nameIsDNSSubdomain, IS_NEGATIVE_ERROR_MSG } from './names.js';
import { goStrings, TOTAL_ANNOTATION_SIZE_LIMIT, validateLabels, validateOwnerReferences } from './validation.js';

/** The whole meta/v1 `ObjectMeta` (the Pod's {@link ObjectMeta} plus the fields a Pod does not model). */
export interface FullObjectMeta extends ObjectMeta {
  selfLink?: string;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/**
 * A kind's name rule (upstream `ValidateNameFunc`): the problems with `name`, empty when valid.
 * `prefix` is true for a `generateName`, which may end in '-'.
 */
export type NameRule = (name: string, prefix: boolean) => string[];

/** Upstream `FieldImmutableErrorMsg`. */
export const FIELD_IMMUTABLE = 'field is immutable';

/** `maskTrailingDash`: a generateName's trailing '-' is checked as if the name went on. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

/** `NameIsDNSLabel` (the name rule of Namespaces, and of every `metadata.namespace`). */
export function nameIsDNSLabel(name: string, prefix: boolean): string[] {
  return isDNS1123Label(prefix ? maskTrailingDash(name) : name);
}

/** `NameIsDNSSubdomain` (the name rule of ConfigMaps, Secrets and most kinds). */
export const nameIsSubdomain: NameRule = nameIsDNSSubdomain;

/** Finalizer names Kubernetes defines without a domain (`IsStandardFinalizerName`). */
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/**
 * A finalizer name (core's `validateFinalizerName`): a qualified name, and one without a
 * domain must be standard. Errors are on `path` with the name as value.
 */
export function validateFinalizerName(name: string, path: string): FieldError[] {
  const errs = isQualifiedName(name).map((m) => fieldErrors.invalid(path, name, m));
  errs.push(...validateKubeFinalizerName(name, path));
  return errs;
}

/** core's `validateKubeFinalizerName`: a name without '/' must be a standard one. */
function validateKubeFinalizerName(name: string, path: string): FieldError[] {
  if (name.includes('/') || STANDARD_FINALIZERS.has(name)) return [];
  return [fieldErrors.invalid(path, name, 'name is neither a standard finalizer name nor is it fully qualified')];
}

/** `ValidateFinalizers` (apimachinery): qualified names on the list path, then the orphan/foreground conflict. */
function validateFinalizers(finalizers: readonly string[], path: string, errs: FieldError[]): void {
  for (const f of finalizers) for (const m of isQualifiedName(f)) errs.push(fieldErrors.invalid(path, f, m));
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(fieldErrors.invalid(path, goStrings(finalizers), 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
}

/** `ValidateAnnotations`: keys are qualified names whatever their case; 256 kB over keys and values. */
function validateAnnotations(annotations: Readonly<Record<string, string>>, path: string, errs: FieldError[]): void {
  let size = 0;
  for (const k of Object.keys(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(fieldErrors.invalid(path, k, m));
    size += byteLength(k) + byteLength(annotations[k] ?? '');
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldErrors.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
}

/** `FieldManagerMaxLength`. */
const FIELD_MANAGER_MAX_LENGTH = 128;
/** `MaxSubresourceNameLength`. */
const MAX_SUBRESOURCE_NAME_LENGTH = 256;
/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** `ValidateManagedFields` (meta/v1). */
function validateManagedFields(entries: readonly ManagedFieldsEntry[], path: string, errs: FieldError[]): void {
  entries.forEach((e, i) => {
    const p = `${path}[${i}]`;
    const op = e.operation ?? '';
    if (op !== 'Apply' && op !== 'Update') errs.push(fieldErrors.invalid(`${p}.operation`, op, 'must be `Apply` or `Update`'));
    if (e.fieldsType && e.fieldsType !== 'FieldsV1') errs.push(fieldErrors.invalid(`${p}.fieldsType`, e.fieldsType, 'must be `FieldsV1`'));
    const manager = e.manager ?? '';
    if (byteLength(manager) > FIELD_MANAGER_MAX_LENGTH) errs.push(fieldErrors.tooLong(`${p}.manager`, FIELD_MANAGER_MAX_LENGTH));
    let at = 0;
    for (const ch of manager) {
      if (!PRINTABLE.test(ch)) {
        const code = (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
        errs.push(fieldErrors.invalid(`${p}.manager`, manager, `invalid character U+${code} (at position ${at})`));
      }
      at += byteLength(ch);
    }
    if (byteLength(e.subresource ?? '') > MAX_SUBRESOURCE_NAME_LENGTH) errs.push(fieldErrors.tooLong(`${p}.subresource`, MAX_SUBRESOURCE_NAME_LENGTH));
  });
}

/** How a kind's metadata is checked. */
export interface ObjectMetaRules {
  /** True for namespaced kinds (`metadata.namespace` required), false for cluster-scoped ones (forbidden). */
  namespaced: boolean;
  /** The kind's name rule. */
  name: NameRule;
}

/**
 * core's `ValidateObjectMeta` on create, after name generation: `generateName`, `name`
 * (required), `namespace`, `generation`, labels, annotations, ownerReferences, finalizers,
 * managedFields, then each finalizer's legacy-name check at `metadata.finalizers[i]`.
 */
export function validateObjectMeta(meta: FullObjectMeta | undefined, rules: ObjectMetaRules): FieldError[] {
  const m = meta ?? {};
  const errs: FieldError[] = [];
  const generateName = m.generateName ?? '';
  if (generateName !== '') {
    for (const msg of rules.name(generateName, true)) errs.push(fieldErrors.invalid('metadata.generateName', generateName, msg));
  }
  const name = m.name ?? '';
  if (name === '') errs.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  else for (const msg of rules.name(name, false)) errs.push(fieldErrors.invalid('metadata.name', name, msg));
  errs.push(...validateCommonMeta(m, rules.namespaced));
  return errs;
}

/** The part of `ValidateObjectMeta` after the name (`validateObjectMetaAccessorWithOptsCommon`). */
function validateCommonMeta(m: FullObjectMeta, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ns = m.namespace ?? '';
  if (namespaced) {
    if (ns === '') errs.push(fieldErrors.required('metadata.namespace', ''));
    else for (const msg of nameIsDNSLabel(ns, false)) errs.push(fieldErrors.invalid('metadata.namespace', ns, msg));
  } else if (ns !== '') {
    errs.push(fieldErrors.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if ((m.generation ?? 0) < 0) errs.push(fieldErrors.invalid('metadata.generation', m.generation, IS_NEGATIVE_ERROR_MSG));
  errs.push(...validateMetaContent(m));
  return errs;
}

/** Labels, annotations, ownerReferences, finalizers, managedFields, then the legacy finalizer names. */
function validateMetaContent(m: FullObjectMeta): FieldError[] {
  const errs: FieldError[] = [];
  validateLabels(m.labels ?? {}, 'metadata.labels', errs);
  validateAnnotations(m.annotations ?? {}, 'metadata.annotations', errs);
  validateOwnerReferences(m.ownerReferences ?? [], errs);
  validateFinalizers(m.finalizers ?? [], 'metadata.finalizers', errs);
  validateManagedFields(m.managedFields ?? [], 'metadata.managedFields', errs);
  (m.finalizers ?? []).forEach((f, i) => errs.push(...validateKubeFinalizerName(f, `metadata.finalizers[${i}]`)));
  return errs;
}

/**
 * core's `ValidateObjectMetaUpdate`: no new finalizers once deleting, `resourceVersion`
 * required, `generation` not decremented, `name`, `namespace`, `uid`, `creationTimestamp`,
 * `deletionTimestamp` and `deletionGracePeriodSeconds` immutable (`field is immutable`, showing
 * the new value as Go prints it), then the content rules of the new metadata.
 */
export function validateObjectMetaUpdate(next: FullObjectMeta | undefined, cur: FullObjectMeta | undefined): FieldError[] {
  const n = next ?? {};
  const c = cur ?? {};
  const errs: FieldError[] = [];
  if (c.deletionTimestamp) {
    const old = new Set(c.finalizers ?? []);
    const extra = [...new Set((n.finalizers ?? []).filter((f) => !old.has(f)))].sort();
    if (extra.length > 0) {
      errs.push(
        fieldErrors.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${goStrings(extra).text}`),
      );
    }
  }
  if (!n.resourceVersion) errs.push(fieldErrors.invalid('metadata.resourceVersion', n.resourceVersion ?? '', 'must be specified for an update'));
  if ((n.generation ?? 0) < (c.generation ?? 0)) errs.push(fieldErrors.invalid('metadata.generation', n.generation ?? 0, 'must not be decremented'));
  const immutable = (field: string, changed: boolean, shown: unknown): void => {
    if (changed) errs.push(fieldErrors.invalid(`metadata.${field}`, shown, FIELD_IMMUTABLE));
  };
  immutable('name', (n.name ?? '') !== (c.name ?? ''), n.name ?? '');
  immutable('namespace', (n.namespace ?? '') !== (c.namespace ?? ''), n.namespace ?? '');
  immutable('uid', (n.uid ?? '') !== (c.uid ?? ''), n.uid ?? '');
  immutable('creationTimestamp', !sameTime(n.creationTimestamp, c.creationTimestamp), goTime(n.creationTimestamp ?? ZERO_TIME));
  immutable('deletionTimestamp', !sameTime(n.deletionTimestamp, c.deletionTimestamp), n.deletionTimestamp ? goTime(n.deletionTimestamp) : null);
  immutable('deletionGracePeriodSeconds', n.deletionGracePeriodSeconds !== c.deletionGracePeriodSeconds, n.deletionGracePeriodSeconds ?? null);
  errs.push(...validateMetaContent(n));
  return errs;
}

/**
 * `ValidateImmutableField` for a scalar: `field is immutable` on `path`, showing the new value,
 * when it differs from the old one (absent and empty string are the same, as Go's zero value).
 */
export function validateImmutableField(next: string | boolean | number | undefined, cur: string | boolean | number | undefined, path: string): FieldError[] {
  return (next ?? '') === (cur ?? '') ? [] : [fieldErrors.invalid(path, next ?? '', FIELD_IMMUTABLE)];
}

// ---------------------------------------------------------------- timestamps

const ZERO_TIME = '0001-01-01T00:00:00Z';
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Unix seconds and the decimal fraction (trailing zeros cut) of an RFC 3339 time, or undefined. */
function parseTime(s: string): { secs: number; frac: string } | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  const zone = m[8] ?? 'Z';
  const offset = zone.toUpperCase() === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60;
  return { secs: date.getTime() / 1000 - offset, frac: (m[7] ?? '').replace(/0+$/, '').replace(/^\.$/, '') };
}

/** Semantic equality of two metav1 times (same instant); absent equals absent only. */
function sameTime(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return !a && !b;
  const pa = parseTime(a);
  const pb = parseTime(b);
  return pa && pb ? pa.secs === pb.secs && pa.frac === pb.frac : a === b;
}

/** Go's `time.Time.String()` of a time in UTC (the API server's zone): `2006-01-02 15:04:05 +0000 UTC`. */
function goTime(s: string): unknown {
  const p = parseTime(s);
  if (!p) return s;
  const d = new Date(p.secs * 1000);
  const two = (x: number): string => String(x).padStart(2, '0');
  const day = `${String(d.getUTCFullYear()).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
  return new VerbatimValue(`${day} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}${p.frac} +0000 UTC`);
}
