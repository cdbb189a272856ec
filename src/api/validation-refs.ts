/**
 * Validation (and defaulting) of a pod's references to ConfigMaps, Secrets and the downward API:
 * `env[].valueFrom`, `envFrom`, and the `secret`, `downwardAPI`, `configMap` and `projected`
 * volumes, with the Kubernetes 1.36 API server's rules, messages and field paths.
 *
 * Mirrors kubernetes/kubernetes `pkg/apis/core/validation/validation.go` (`ValidateEnv`,
 * `validateEnvVarValueFrom`, `validateObjectFieldSelector`,
 * `validateContainerResourceFieldSelector`, `validateContainerResourceDivisor`,
 * `ValidateEnvFrom`, `validateSecretVolumeSource`, `validateConfigMapVolumeSource`,
 * `validateKeyToPath`, `validateDownwardAPIVolumeFile`, `validateProjectionSources`) and the
 * `SetDefaults_*` of `pkg/apis/core/v1/defaults.go` for these types. Upstream quirks are kept on
 * purpose: the downwardAPI "more than 1 volume type" error names `downwarAPI`, the files of a
 * downwardAPI volume are reported on the volume's path (no item index), `envFrom`'s "must
 * specify one of" is reported on `envFrom` (no index).
 */
import type { Container, DownwardAPIVolumeFile, KeyToPath, PodSpec, Quantity, ResourceFieldSelector, Volume } from './types.js';
import { fieldErrors, type FieldError } from './errors.js';
import { byteLength, isQualifiedName, isRelaxedEnvVarName, maxLenError, nameIsDNSSubdomain, regexError } from './names.js';
import { canonicalQuantity, parseExactQuantity } from './quantity-exact.js';

type Errs = FieldError[];

// ---------------------------------------------------------------- downward API field paths

/** `fieldpath.SplitMaybeSubscriptedPath`: `metadata.labels['k']` → `{ path, subscript }`. */
export function splitMaybeSubscriptedPath(fieldPath: string): { path: string; subscript: string } | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const s = fieldPath.slice(0, -2);
  const i = s.indexOf("['");
  if (i <= 0) return undefined;
  return { path: s.slice(0, i), subscript: s.slice(i + 2) };
}

const CONVERTIBLE_FIELD_LABELS = new Set([
  'metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid',
  'spec.nodeName', 'spec.restartPolicy', 'spec.serviceAccountName', 'spec.schedulerName',
  'status.phase', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
]);

/**
 * `pods.ConvertDownwardAPIFieldLabel`: the internal field path of a `fieldRef`, or upstream's
 * error text (`spec.host` is the old spelling of `spec.nodeName`).
 */
export function convertDownwardAPIFieldLabel(apiVersion: string, label: string): { path: string } | { error: string } {
  if (apiVersion !== 'v1') return { error: `unsupported pod version: ${apiVersion}` };
  const sub = splitMaybeSubscriptedPath(label);
  if (sub) {
    if (sub.path === 'metadata.annotations' || sub.path === 'metadata.labels') return { path: label };
    return { error: `field label does not support subscript: ${label}` };
  }
  if (CONVERTIBLE_FIELD_LABELS.has(label)) return { path: label };
  if (label === 'spec.host') return { path: 'spec.nodeName' };
  return { error: `field label not supported: ${label}` };
}

/** The `fieldRef` paths an env var may use (sorted, as upstream lists them). */
export const ENV_FIELD_PATHS: readonly string[] = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
  'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
];
/** The `fieldRef` paths a downwardAPI volume file may use (sorted). */
export const VOLUME_FIELD_PATHS: readonly string[] = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
/** The `resourceFieldRef` resources (sorted); `requests.hugepages-*` and `limits.hugepages-*` also pass. */
export const CONTAINER_RESOURCE_FIELDS: readonly string[] = [
  'limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory',
];
const HUGEPAGES_FIELD_PREFIXES = ['limits.hugepages-', 'requests.hugepages-'];

// ---------------------------------------------------------------- selectors

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';
const CONFIG_MAP_KEY_RE = /^[-._a-zA-Z0-9]+$/;

/** `IsConfigMapKey`: the key of a ConfigMap or Secret. */
export function isConfigMapKey(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!CONFIG_MAP_KEY_RE.test(value)) {
    errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  }
  if (value === '.') errs.push("must not be '.'");
  else if (value === '..') errs.push("must not be '..'");
  else if (value.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

function validateObjectFieldSelector(fs: { apiVersion?: string; fieldPath?: string }, allowed: readonly string[], path: string, errs: Errs): void {
  const apiVersion = fs.apiVersion ?? '';
  const fieldPath = fs.fieldPath ?? '';
  if (apiVersion === '') {
    errs.push(fieldErrors.required(`${path}.apiVersion`, ''));
    return;
  }
  if (fieldPath === '') {
    errs.push(fieldErrors.required(`${path}.fieldPath`, ''));
    return;
  }
  const conv = convertDownwardAPIFieldLabel(apiVersion, fieldPath);
  if ('error' in conv) {
    errs.push(fieldErrors.invalid(`${path}.fieldPath`, fieldPath, `error converting fieldPath: ${conv.error}`));
    return;
  }
  const sub = splitMaybeSubscriptedPath(conv.path);
  if (sub) {
    // Conversion let only labels and annotations through; annotation keys are case-insensitive.
    const key = sub.path === 'metadata.annotations' ? sub.subscript.toLowerCase() : sub.subscript;
    for (const m of isQualifiedName(key)) errs.push(fieldErrors.invalid(path, key, m));
  } else if (!allowed.includes(conv.path)) {
    errs.push(fieldErrors.notSupported(`${path}.fieldPath`, conv.path, allowed));
  }
}

const CPU_DIVISORS = new Set(['1m', '1']);
const BYTE_DIVISORS = new Set(['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei']);
const BYTE_DIVISOR_LIST = '1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei';

function validateDivisor(resource: string, divisor: Quantity | undefined, path: string, errs: Errs): void {
  const d = divisor === undefined ? undefined : parseExactQuantity(divisor);
  if (d === undefined || d.num === 0n) return; // unset (or reported by the decoder)
  const c = canonicalQuantity(d);
  const bad = (kind: string, list: string): void => {
    errs.push(fieldErrors.invalid(`${path}.divisor`, resource, `only divisor's values ${list} are supported with the ${kind}`));
  };
  if ((resource === 'limits.cpu' || resource === 'requests.cpu') && !CPU_DIVISORS.has(c)) bad('cpu resource', '1m and 1');
  if ((resource === 'limits.memory' || resource === 'requests.memory') && !BYTE_DIVISORS.has(c)) bad('memory resource', BYTE_DIVISOR_LIST);
  if ((resource === 'limits.ephemeral-storage' || resource === 'requests.ephemeral-storage') && !BYTE_DIVISORS.has(c)) {
    bad('local ephemeral storage resource', BYTE_DIVISOR_LIST);
  }
  if (HUGEPAGES_FIELD_PREFIXES.some((p) => resource.startsWith(p)) && !BYTE_DIVISORS.has(c)) bad('hugepages resource', BYTE_DIVISOR_LIST);
}

function validateResourceFieldSelector(fs: ResourceFieldSelector, volume: boolean, path: string, errs: Errs): void {
  const resource = fs.resource ?? '';
  if (volume && !fs.containerName) errs.push(fieldErrors.required(`${path}.containerName`, ''));
  else if (resource === '') errs.push(fieldErrors.required(`${path}.resource`, ''));
  else if (!CONTAINER_RESOURCE_FIELDS.includes(resource) && !HUGEPAGES_FIELD_PREFIXES.some((p) => resource.startsWith(p))) {
    errs.push(fieldErrors.notSupported(`${path}.resource`, resource, CONTAINER_RESOURCE_FIELDS));
  }
  validateDivisor(resource, fs.divisor, path, errs);
}

/** `validateConfigMapKeySelector` and `validateSecretKeySelector` (identical rules). */
function validateKeySelector(s: { name?: string; key?: string }, path: string, errs: Errs): void {
  const name = s.name ?? '';
  for (const m of nameIsDNSSubdomain(name, false)) errs.push(fieldErrors.invalid(`${path}.name`, name, m));
  const key = s.key ?? '';
  if (key === '') errs.push(fieldErrors.required(`${path}.key`, ''));
  else for (const m of isConfigMapKey(key)) errs.push(fieldErrors.invalid(`${path}.key`, key, m));
}

// ---------------------------------------------------------------- env and envFrom

/**
 * `ValidateEnv` then `ValidateEnvFrom` for one container (`path` is the container's path):
 * env names (relaxed: any printable ASCII but `=`), each `valueFrom` (one source, not with
 * `value`; allowed `fieldRef` paths; `resourceFieldRef` resource and divisor; key selectors),
 * then each `envFrom` (prefix, one of `configMapRef`/`secretRef`, the object's name). Appends to
 * `errs` in the API server's order.
 */
export function validateContainerEnv(c: Container, path: string, errs: FieldError[]): void {
  (c.env ?? []).forEach((ev, i) => {
    const p = `${path}.env[${i}]`;
    const name = ev.name ?? '';
    if (name === '') errs.push(fieldErrors.required(`${p}.name`, ''));
    else for (const m of isRelaxedEnvVarName(name)) errs.push(fieldErrors.invalid(`${p}.name`, name, m));
    const from = ev.valueFrom;
    if (!from) return;
    const vp = `${p}.valueFrom`;
    let n = 0;
    if (from.fieldRef) {
      n++;
      validateObjectFieldSelector(from.fieldRef, ENV_FIELD_PATHS, `${vp}.fieldRef`, errs);
    }
    if (from.resourceFieldRef) {
      n++;
      validateResourceFieldSelector(from.resourceFieldRef, false, `${vp}.resourceFieldRef`, errs);
    }
    if (from.configMapKeyRef) {
      n++;
      validateKeySelector(from.configMapKeyRef, `${vp}.configMapKeyRef`, errs);
    }
    if (from.secretKeyRef) {
      n++;
      validateKeySelector(from.secretKeyRef, `${vp}.secretKeyRef`, errs);
    }
    if (n === 0) {
      errs.push(fieldErrors.invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    } else if ((ev.value ?? '') !== '') {
      errs.push(fieldErrors.invalid(vp, '', 'may not be specified when `value` is not empty'));
    } else if (n > 1) {
      errs.push(fieldErrors.invalid(vp, '', 'may not have more than one field specified at a time'));
    }
  });
  const fromPath = `${path}.envFrom`;
  (c.envFrom ?? []).forEach((ef, i) => {
    const p = `${fromPath}[${i}]`;
    const prefix = ef.prefix ?? '';
    if (prefix !== '') for (const m of isRelaxedEnvVarName(prefix)) errs.push(fieldErrors.invalid(`${p}.prefix`, prefix, m));
    let n = 0;
    const ref = (r: { name?: string } | undefined, key: string): void => {
      if (!r) return;
      n++;
      const name = r.name ?? '';
      if (name === '') errs.push(fieldErrors.required(`${p}.${key}.name`, ''));
      else for (const m of nameIsDNSSubdomain(name, true)) errs.push(fieldErrors.invalid(`${p}.${key}.name`, name, m));
    };
    ref(ef.configMapRef, 'configMapRef');
    ref(ef.secretRef, 'secretRef');
    if (n === 0) errs.push(fieldErrors.invalid(fromPath, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(fieldErrors.invalid(fromPath, '', 'may not have more than one field specified at a time'));
  });
}

// ---------------------------------------------------------------- volumes

/** `ValidateLocalNonReservedPath`: relative, no `..` element, not starting with `..`. */
function validateLocalNonReservedPath(p: string, path: string, errs: Errs): void {
  if (p.startsWith('/')) errs.push(fieldErrors.invalid(path, p, 'must be a relative path'));
  if (p.split('/').includes('..')) errs.push(fieldErrors.invalid(path, p, "must not contain '..'"));
  if (p.startsWith('..') && !p.startsWith('../')) errs.push(fieldErrors.invalid(path, p, "must not start with '..'"));
}

function validateMode(mode: number | undefined, path: string, errs: Errs): void {
  if (mode !== undefined && (mode > 0o777 || mode < 0)) errs.push(fieldErrors.invalid(path, mode, FILE_MODE_ERROR));
}

function validateKeyToPath(kp: KeyToPath, path: string, errs: Errs): void {
  if (!kp.key) errs.push(fieldErrors.required(`${path}.key`, ''));
  const p = kp.path ?? '';
  if (p === '') errs.push(fieldErrors.required(`${path}.path`, ''));
  validateLocalNonReservedPath(p, `${path}.path`, errs);
  validateMode(kp.mode, `${path}.mode`, errs);
}

/** `validateDownwardAPIVolumeFile`; upstream reports on the volume (or projection) path, without the item index. */
function validateDownwardAPIFile(file: DownwardAPIVolumeFile, path: string, errs: Errs): void {
  const p = file.path ?? '';
  if (p === '') errs.push(fieldErrors.required(`${path}.path`, ''));
  validateLocalNonReservedPath(p, `${path}.path`, errs);
  if (file.fieldRef) {
    validateObjectFieldSelector(file.fieldRef, VOLUME_FIELD_PATHS, `${path}.fieldRef`, errs);
    if (file.resourceFieldRef) errs.push(fieldErrors.invalid(path, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (file.resourceFieldRef) {
    validateResourceFieldSelector(file.resourceFieldRef, true, `${path}.resourceFieldRef`, errs);
  } else {
    errs.push(fieldErrors.required(path, 'one of fieldRef and resourceFieldRef is required'));
  }
  validateMode(file.mode, `${path}.mode`, errs);
}

function validateProjected(vol: Volume, path: string, errs: Errs): void {
  const proj = vol.projected ?? {};
  validateMode(proj.defaultMode, `${path}.defaultMode`, errs);
  const allPaths = new Set<string>();
  const claim = (p: string, value: string): void => {
    if (allPaths.has(p)) errs.push(fieldErrors.invalid(path, value, 'conflicting duplicate paths'));
    else allPaths.add(p);
  };
  (proj.sources ?? []).forEach((src, i) => {
    const sp = `${path}.sources[${i}]`;
    let n = 0;
    for (const kind of ['secret', 'configMap'] as const) {
      const o = src[kind];
      if (!o) continue;
      n++;
      if (!o.name) errs.push(fieldErrors.required(`${sp}.${kind}.name`, ''));
      (o.items ?? []).forEach((kp, j) => {
        validateKeyToPath(kp, `${sp}.${kind}.items[${j}]`, errs);
        if (kp.path) claim(kp.path, o.name ?? '');
      });
    }
    if (src.downwardAPI) {
      n++;
      for (const file of src.downwardAPI.items ?? []) {
        validateDownwardAPIFile(file, `${sp}.downwardAPI`, errs);
        if (file.path) claim(file.path, file.path);
      }
    }
    if (n > 1) errs.push(fieldErrors.forbidden(sp, 'may not specify more than 1 volume type per source'));
  });
}

/**
 * The part of `validateVolumeSource` for the `secret`, `downwardAPI`, `configMap` and
 * `projected` sources, in upstream's order. `count` is the number of sources already seen
 * (`emptyDir`, `hostPath`); returns the new count. Appends the errors to `errs`.
 */
export function validateRefVolumeSources(vol: Volume, path: string, count: number, errs: FieldError[]): number {
  let n = count;
  const one = (key: string, check: () => void): void => {
    if (n > 0) {
      errs.push(fieldErrors.forbidden(`${path}.${key}`, 'may not specify more than 1 volume type'));
      return;
    }
    n++;
    check();
  };
  const { secret, downwardAPI, configMap } = vol;
  if (secret) {
    one('secret', () => {
      const p = `${path}.secret`;
      if (!secret.secretName) errs.push(fieldErrors.required(`${p}.secretName`, ''));
      validateMode(secret.defaultMode, `${p}.defaultMode`, errs);
      (secret.items ?? []).forEach((kp, i) => validateKeyToPath(kp, `${p}.items[${i}]`, errs));
    });
  }
  if (downwardAPI) {
    // Upstream misspells the path of this one error (sic).
    one('downwarAPI', () => {
      const p = `${path}.downwardAPI`;
      validateMode(downwardAPI.defaultMode, `${p}.defaultMode`, errs);
      for (const file of downwardAPI.items ?? []) validateDownwardAPIFile(file, p, errs);
    });
  }
  if (configMap) {
    one('configMap', () => {
      const p = `${path}.configMap`;
      if (!configMap.name) errs.push(fieldErrors.required(`${p}.name`, ''));
      validateMode(configMap.defaultMode, `${p}.defaultMode`, errs);
      (configMap.items ?? []).forEach((kp, i) => validateKeyToPath(kp, `${p}.items[${i}]`, errs));
    });
  }
  if (vol.projected) one('projected', () => validateProjected(vol, `${path}.projected`, errs));
  return n;
}

// ---------------------------------------------------------------- defaulting

/** `v1.ConfigMapVolumeSourceDefaultMode` (also Secret, projected and downwardAPI volumes): 0644. */
export const DEFAULT_VOLUME_FILE_MODE = 0o644;

/** True when the volume names a source podvisor models (else the API server defaults `emptyDir`). */
export function hasVolumeSource(v: Volume): boolean {
  return !!(v.emptyDir || v.hostPath || v.secret || v.downwardAPI || v.configMap || v.projected);
}

/**
 * The API server's defaults for the reference types, applied in place to a (cloned) spec:
 * `defaultMode` 0644 for configMap, secret, downwardAPI and projected volumes; `fieldRef.apiVersion`
 * `v1` (env and downwardAPI files); and `resourceFieldRef.divisor` `"0"` when absent, which is
 * how the API server serializes the unset (zero) divisor.
 */
export function defaultRefSources(spec: PodSpec): void {
  const files = (items: DownwardAPIVolumeFile[] | undefined): void => {
    for (const f of items ?? []) {
      if (f.fieldRef && !f.fieldRef.apiVersion) f.fieldRef.apiVersion = 'v1';
      if (f.resourceFieldRef && f.resourceFieldRef.divisor === undefined) f.resourceFieldRef.divisor = '0';
    }
  };
  for (const v of spec.volumes ?? []) {
    for (const src of [v.configMap, v.secret, v.downwardAPI, v.projected]) {
      if (src && src.defaultMode === undefined) src.defaultMode = DEFAULT_VOLUME_FILE_MODE;
    }
    files(v.downwardAPI?.items);
    for (const s of v.projected?.sources ?? []) files(s.downwardAPI?.items);
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      const from = e.valueFrom;
      if (from?.fieldRef && !from.fieldRef.apiVersion) from.fieldRef.apiVersion = 'v1';
      if (from?.resourceFieldRef && from.resourceFieldRef.divisor === undefined) from.resourceFieldRef.divisor = '0';
    }
  }
}
