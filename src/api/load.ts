/**
 * The one entry from manifest text to checked objects: parse, select, decode, default,
 * validate. {@link loadPods} reads Pods only; {@link loadManifests} also reads the Namespaces,
 * ConfigMaps and Secrets a bundle gives its pods, each checked as the API server checks it on
 * create. The CLI (`podvisor validate`, `run`, `apply`) uses them.
 */
import type { Pod } from './types.js';
import { invalidMessage, invalidStatus, renderFieldError, type FieldError, type Status } from './errors.js';
import { parseManifests, selectObjects, selectPods, type ManifestError, type ManifestObject } from './parse.js';
import { decodePod, type DecodeResult } from './decode.js';
import { defaultPod } from './defaults.js';
import { validatePod, validateUnmodelledFields, type PodValidationOptions } from './validation.js';
import { decodeConfigMap, validateConfigMap, type ConfigMap } from './config-objects.js';
import { decodeSecret, prepareSecretForStore, validateSecret, type Secret } from './secret.js';
import { decodeNamespace, defaultNamespace, validateNamespace, type Namespace } from './namespace.js';
import { generateNameFrom } from './names.js';
import type { FullObjectMeta } from './object-meta.js';

/** One Pod of a manifest, decoded, defaulted and checked. */
export interface LoadedPod {
  /** `metadata.name`, else `metadata.generateName`, else `""`. */
  name: string;
  /** The defaulted pod (also when invalid, for display). */
  pod: Pod;
  /** Every error of the pod, empty when it is valid (see {@link checkDecodedPod}). */
  errors: FieldError[];
  /** API warnings: unknown and ignored fields, unknown `podvisor.io/` annotations, and the like. */
  warnings: string[];
  /** 0-based document index in the file. */
  document: number;
  /** 0-based index in the document's `items`, for Lists. */
  item?: number;
  /** 1-based line of the pod in the file. */
  line?: number;
}

/** Result of {@link loadPods}. */
export interface LoadResult {
  /** Every Pod found, valid or not, in file order. */
  pods: LoadedPod[];
  /** File-level problems (syntax errors with line and column, wrong kinds), in file order. */
  errors: ManifestError[];
}

/**
 * Reads Pods from YAML/JSON manifest text. `source` names the file in errors. `opts` are the
 * validation options (default: creating the pods). Never throws.
 */
export function loadPods(text: string, source = '<input>', opts: PodValidationOptions = {}): LoadResult {
  const parsed = parseManifests(text, source);
  const selected = selectPods(parsed.docs, source);
  const errors = [...parsed.errors, ...selected.errors].sort((a, b) => (a.document ?? 0) - (b.document ?? 0));
  const pods = selected.pods.map((obj) => loadPod(obj, opts));
  return { pods, errors };
}

/** Options of {@link loadManifests}. */
export interface ManifestLoadOptions extends PodValidationOptions {
  /**
   * The request namespace: the namespace of every Pod, ConfigMap and Secret whose manifest
   * names none (kubectl's `-n`, `default` when not given). Namespaces are cluster-scoped.
   */
  namespace?: string;
}

/** What every object of {@link loadManifests} but the Pods carries. */
interface LoadedObjectBase {
  /** `metadata.name`, else `metadata.generateName`, else `""`. */
  name: string;
  /** Every error of the object, empty when it is valid (see {@link checkManifestObject}). */
  errors: FieldError[];
  /** Unknown fields (`unknown field "spec"`), which are dropped. */
  warnings: string[];
  /** 0-based document index in the file. */
  document: number;
  /** 0-based index in the document's `items`, for Lists. */
  item?: number;
  /** 1-based line of the object in the file. */
  line?: number;
}

/**
 * A Namespace, ConfigMap or Secret of a manifest, decoded and checked. `object` is what to
 * create: the decoded object (unknown fields dropped, base64 canonical) with its namespace
 * (the request namespace when the manifest names none; a Namespace has none); a Secret in the
 * form the API server stores (`stringData` merged into `data`, `type` defaulted to `Opaque`).
 */
export type LoadedObject =
  | (LoadedObjectBase & { kind: 'Namespace'; object: Namespace })
  | (LoadedObjectBase & { kind: 'ConfigMap'; object: ConfigMap })
  | (LoadedObjectBase & { kind: 'Secret'; object: Secret });

/** Result of {@link loadManifests}. */
export interface ManifestLoadResult {
  /** Every Pod found, valid or not, in file order. */
  pods: LoadedPod[];
  /** Every Namespace, ConfigMap and Secret found, valid or not, in file order. */
  objects: LoadedObject[];
  /** File-level problems (syntax errors with line and column, unsupported kinds), in file order. */
  errors: ManifestError[];
}

/**
 * Reads Pods, Namespaces, ConfigMaps and Secrets (also as List items) from YAML/JSON manifest
 * text, each checked as the API server checks it on create, every error at once. `source`
 * names the file in errors. Other kinds are file-level errors naming the kind. Never throws.
 */
export function loadManifests(text: string, source = '<input>', opts: ManifestLoadOptions = {}): ManifestLoadResult {
  const parsed = parseManifests(text, source);
  const selected = selectObjects(parsed.docs, source);
  const errors = [...parsed.errors, ...selected.errors].sort((a, b) => (a.document ?? 0) - (b.document ?? 0));
  const pods: LoadedPod[] = [];
  const objects: LoadedObject[] = [];
  for (const obj of selected.objects) {
    if (obj.kind === 'Pod') pods.push(loadPod(obj, opts));
    else objects.push(checkManifestObject({ ...obj, kind: obj.kind }, opts.namespace));
  }
  return { pods, objects, errors };
}

function loadPod(obj: { value: unknown; document: number; item?: number; line?: number }, opts: ManifestLoadOptions): LoadedPod {
  const decoded = decodePod(obj.value);
  if (opts.namespace && !decoded.pod.metadata.namespace) decoded.pod.metadata.namespace = opts.namespace;
  const { pod, errors: podErrors, warnings } = checkDecodedPod(decoded, opts);
  const name = pod.metadata.name || pod.metadata.generateName || '';
  const loaded: LoadedPod = { name, pod, errors: podErrors, warnings, document: obj.document };
  if (obj.item !== undefined) loaded.item = obj.item;
  if (obj.line !== undefined) loaded.line = obj.line;
  return loaded;
}

/** An object of {@link LoadedObject}'s kinds found in a manifest, not yet decoded. */
export type ObjectToCheck = Omit<ManifestObject, 'kind'> & { kind: LoadedObject['kind'] };

/**
 * Decodes and checks one Namespace, ConfigMap or Secret the way the API server does on create:
 * decoding errors (wrong JSON types, bad base64) replace validation, as for pods
 * ({@link checkDecodedPod}); otherwise the kind's validation runs on what the server would
 * store: a ConfigMap or Secret in `namespace` (default `default`) when it names none, a
 * Namespace without `metadata.namespace` (the registry clears it) and with its defaults, a
 * Secret with `stringData` merged. An object with only `generateName` is validated as if named
 * from it (the server names it before validating). Never throws.
 */
export function checkManifestObject(obj: ObjectToCheck, namespace = 'default'): LoadedObject {
  const where: { document: number; item?: number; line?: number } = { document: obj.document };
  if (obj.item !== undefined) where.item = obj.item;
  if (obj.line !== undefined) where.line = obj.line;
  const withNamespace = (meta: FullObjectMeta): FullObjectMeta => (meta.namespace ? meta : { ...meta, namespace: namespace || 'default' });
  switch (obj.kind) {
    case 'Namespace': {
      const d = decodeNamespace(obj.value);
      const { namespace: _ignored, ...metadata } = d.object.metadata;
      const object: Namespace = { ...d.object, metadata };
      const defaulted = defaultNamespace(object);
      const errors = d.errors.length > 0 ? d.errors : validateNamed(defaulted.metadata, (m) => validateNamespace({ ...defaulted, metadata: m }, { create: true }));
      return { kind: 'Namespace', name: objectName(metadata), object, errors, warnings: d.warnings, ...where };
    }
    case 'ConfigMap': {
      const d = decodeConfigMap(obj.value);
      const object: ConfigMap = { ...d.object, metadata: withNamespace(d.object.metadata) };
      const errors = d.errors.length > 0 ? d.errors : validateNamed(object.metadata, (m) => validateConfigMap({ ...object, metadata: m }));
      return { kind: 'ConfigMap', name: objectName(object.metadata), object, errors, warnings: d.warnings, ...where };
    }
    case 'Secret': {
      const d = decodeSecret(obj.value);
      const object: Secret = prepareSecretForStore({ ...d.object, metadata: withNamespace(d.object.metadata) });
      const errors = d.errors.length > 0 ? d.errors : validateNamed(object.metadata, (m) => validateSecret({ ...object, metadata: m }));
      return { kind: 'Secret', name: objectName(object.metadata), object, errors, warnings: d.warnings, ...where };
    }
  }
}

function objectName(meta: FullObjectMeta): string {
  return meta.name || meta.generateName || '';
}

/**
 * Runs `validate` on `meta`, or, when the object has only a `generateName`, on `meta` named
 * from it as the API server would name it; the errors of that stand-in name are dropped (the
 * `generateName` errors say the same), so only a missing name and generateName is an error
 * about the name.
 */
function validateNamed(meta: FullObjectMeta, validate: (meta: FullObjectMeta) => FieldError[]): FieldError[] {
  if (meta.name || !meta.generateName) return validate(meta);
  const standIn = generateNameFrom(meta.generateName, () => 0);
  return validate({ ...meta, name: standIn }).filter((e) => e.field !== 'metadata.name');
}

/**
 * The lines kubectl prints for a rejected object (a 422 `Invalid` status), without trailing
 * newline: `The KIND "NAME" is invalid: <error>` for one error, else the summary line
 * `The KIND "NAME" is invalid:` followed by one `* <error>` line per error (identical errors
 * once), as {@link formatInvalidPod} does for pods.
 */
export function formatInvalidObject(kind: string, name: string, errors: readonly FieldError[]): string {
  const rendered = [...new Set(errors.map(renderFieldError))];
  const head = `The ${kind} ${JSON.stringify(name)} is invalid:`;
  if (rendered.length === 1) return `${head} ${rendered[0]}`;
  return [head, ...rendered.map((r) => `* ${r}`)].join('\n');
}

/**
 * The lines kubectl prints for a rejected pod (a 422 `Invalid` status), without trailing
 * newline: `The Pod "NAME" is invalid: <error>` for one error, else the summary line
 * `The Pod "NAME" is invalid:` followed by one `* <error>` line per error (identical errors
 * once). kubectl prefixes the server's `details` with `The`; podvisor drops the trailing
 * space kubectl leaves after the colon of the summary line.
 */
export function formatInvalidPod(name: string, errors: readonly FieldError[]): string {
  return formatInvalidObject('Pod', name, errors);
}

/** The API server's message for the pod (`Pod "NAME" is invalid: ...`, spec §1.3 rule 2). */
export function podInvalidMessage(name: string, errors: readonly FieldError[]): string {
  return invalidMessage('Pod', name, errors);
}

/** The HTTP 422 `Status` body for the pod (spec §1.3 rule 2). */
export function podInvalidStatus(name: string, errors: readonly FieldError[]): Status {
  return invalidStatus('Pod', name, errors);
}

/**
 * Defaults and checks a decoded pod: the one place where the CLI and the API server turn a
 * decoded body into the pod to store and its errors and warnings.
 *
 * - Decoding errors (wrong JSON types, unsupported fields) replace the pod's validation errors,
 *   because validating a pod whose fields were dropped would add misleading errors (this
 *   mirrors the API server, which rejects such a body before validation).
 * - The fields podvisor does not model (tolerations, nodeSelector, ...) and `securityContext`
 *   (modelled, but validated with them, as upstream does in the same pass) are checked with the
 *   API server's rules whenever every value had the right JSON type, and their errors follow
 *   the others: one answer lists every error.
 */
export function checkDecodedPod(decoded: DecodeResult, opts: PodValidationOptions = {}): { pod: Pod; errors: FieldError[]; warnings: string[] } {
  const pod = defaultPod(decoded.pod);
  const warnings = [...decoded.warnings];
  const tgps = decoded.pod.spec.terminationGracePeriodSeconds;
  if (tgps !== undefined && tgps < 0) {
    warnings.push('spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1');
  }
  const unmodelled = decoded.typeErrors ? [] : validateUnmodelledFields(decoded.pod, decoded.unmodelled);
  if (decoded.errors.length > 0) return { pod, errors: [...decoded.errors, ...unmodelled], warnings };
  const v = validatePod(pod, opts);
  return { pod, errors: [...v.errors, ...unmodelled], warnings: [...warnings, ...v.warnings] };
}
