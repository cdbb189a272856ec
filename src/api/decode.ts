/**
 * Typed decoding of a Pod from an untyped JSON value (the result of YAML/JSON parsing).
 *
 * This plays the role of the API server's strict JSON decoding into `core/v1.Pod`
 * (`fieldValidation=Warn`, what `kubectl apply --validate=warn` asks for):
 *
 * - A value of the wrong JSON type is an error. Where the API server answers such a body with a
 *   400 `json: cannot unmarshal string into Go struct field Container.spec.containers.args of
 *   type []string`, podvisor reports a field error in the validation format, which names the
 *   exact path and is what users act on (decision recorded here, spec D7):
 *   `spec.containers[0].args: Invalid value: "x": must be of type array` (cause reason
 *   `FieldValueTypeInvalid`). Scalars are shown as given (strings quoted, long strings cut at
 *   128 characters); objects and arrays as a short JSON preview.
 * - An unknown field is a warning `unknown field "spec.containers[0].foo"` and is dropped.
 * - `null` means "absent", as in Go (`null` into a slice, map or pointer leaves it nil).
 * - `status` of an input manifest is dropped silently (the server owns it).
 * - Kubernetes fields that podvisor does not model come in two groups: fields whose absence
 *   would change what runs (other volume types, projected service account tokens, gRPC
 *   probes, `env[].valueFrom.fileKeyRef`, volume devices, resource claims, ...) are errors
 *   `<path>: Forbidden: not supported by podvisor`; fields without effect on one machine
 *   (`nodeSelector`, `tolerations`, `dnsPolicy`, `serviceAccountName`, ...) are stored as
 *   given, as the API server stores them, without a warning, except those a user may count on
 *   (`hostNetwork`, `hostPID`, `hostIPC`, `hostAliases`, `dnsConfig`, `runtimeClassName`):
 *   `<path>: stored, not applied by podvisor`. ConfigMap, Secret and downward API
 *   references (`env[].valueFrom`, `envFrom`, `configMap`/`secret`/`downwardAPI`/`projected`
 *   volumes) are modelled; their rules are in `validation-refs.ts`.
 * - The dropped fields are still checked, so that every manifest podvisor accepts is a valid
 *   Kubernetes Pod (spec D11): each has its core/v1 schema below (wrong JSON types are errors,
 *   unknown sub-fields warnings, as everywhere), and when the whole pod decoded without a type
 *   error their values go through the API server's rules for them (`validateUnmodelledFields`
 *   in `validation.ts`: tolerations, nodeSelector, dnsPolicy, affinity, ...,
 *   run by `checkDecodedPod` in `load.ts`, so that they are reported with every other error).
 *   The type-checked values are also returned as {@link DecodeResult.unmodelled}.
 *   `securityContext` (pod and containers) is modelled, kept in the pod for the oci runtime, and
 *   also copied into {@link DecodeResult.unmodelled}, whose rules validate it.
 *
 * Decoding never throws, whatever the input (deep nesting, huge numbers, binary values): the
 * schema bounds the recursion depth, and unknown or opaque subtrees (`fieldsV1`) are never
 * descended.
 */
import type { Pod, UnmodelledContainer, UnmodelledFields } from './types.js';
import { fieldErrors, VerbatimValue, type FieldError } from './errors.js';
import { parseQuantity } from './quantity.js';
import type { LiteralIndex } from './json-scan.js';

/**
 * Stored fields whose effect a user may count on and podvisor does not provide: a warning
 * names them when they are set. The others (`dnsPolicy`, `tolerations`, `nodeSelector`,
 * `serviceAccountName`, ...) are stored silently: on one machine they change nothing, and the
 * API server itself writes most of them as defaults.
 */
const NOT_APPLIED: ReadonlySet<string> = new Set(['hostNetwork', 'hostPID', 'hostIPC', 'hostAliases', 'dnsConfig', 'runtimeClassName']);

/** A value that asks for something: `true`, a non-empty string, array or object. */
function isSet(v: unknown): boolean {
  if (v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return v !== null && v !== undefined;
}

type Schema =
  | { t: 'string' }
  | { t: 'bool' }
  | { t: 'int32' }
  | { t: 'int64' }
  | { t: 'intOrString' }
  | { t: 'quantity' }
  /** Any JSON value, kept as is and not descended (opaque fields such as `fieldsV1`). */
  | { t: 'any' }
  /** Any JSON object, kept as is and not descended (fields whose shape podvisor does not know). */
  | { t: 'rawObject' }
  | { t: 'array'; of: Schema }
  | { t: 'map'; of: Schema }
  | {
      t: 'object';
      fields: Readonly<Record<string, Schema>>;
      unsupported: ReadonlySet<string>;
      /** Unmodelled fields: type-checked with their schema, then dropped with a warning. */
      ignored: Readonly<Record<string, Schema>>;
      dropped: ReadonlySet<string>;
    };

const str: Schema = { t: 'string' };
const bool: Schema = { t: 'bool' };
const int32: Schema = { t: 'int32' };
const int64: Schema = { t: 'int64' };
const intOrString: Schema = { t: 'intOrString' };
const quantity: Schema = { t: 'quantity' };
const anyValue: Schema = { t: 'any' };
const rawObject: Schema = { t: 'rawObject' };
const arr = (of: Schema): Schema => ({ t: 'array', of });
const map = (of: Schema): Schema => ({ t: 'map', of });
function obj(
  fields: Record<string, Schema>,
  more: { unsupported?: string[]; ignored?: Record<string, Schema>; dropped?: string[] } = {},
): Schema {
  return {
    t: 'object',
    fields,
    unsupported: new Set(more.unsupported ?? []),
    ignored: more.ignored ?? {},
    dropped: new Set(more.dropped ?? []),
  };
}

// ---- Security contexts (modelled) and unmodelled core/v1 and meta/v1 types (shapes from types.go) ----

const seLinuxOptions = obj({ user: str, role: str, type: str, level: str });
const seccompProfile = obj({ type: str, localhostProfile: str });
const appArmorProfile = obj({ type: str, localhostProfile: str });
const windowsOptions = obj({ gmsaCredentialSpecName: str, gmsaCredentialSpec: str, runAsUserName: str, hostProcess: bool });
const podSecurityContext = obj({
  seLinuxOptions,
  windowsOptions,
  runAsUser: int64,
  runAsGroup: int64,
  runAsNonRoot: bool,
  supplementalGroups: arr(int64),
  supplementalGroupsPolicy: str,
  fsGroup: int64,
  sysctls: arr(obj({ name: str, value: str })),
  fsGroupChangePolicy: str,
  seccompProfile,
  appArmorProfile,
  seLinuxChangePolicy: str,
});
const securityContext = obj({
  capabilities: obj({ add: arr(str), drop: arr(str) }),
  privileged: bool,
  seLinuxOptions,
  windowsOptions,
  runAsUser: int64,
  runAsGroup: int64,
  runAsNonRoot: bool,
  readOnlyRootFilesystem: bool,
  allowPrivilegeEscalation: bool,
  procMount: str,
  seccompProfile,
  appArmorProfile,
});

const labelSelector = obj({
  matchLabels: map(str),
  matchExpressions: arr(obj({ key: str, operator: str, values: arr(str) })),
});
const nodeSelectorRequirement = obj({ key: str, operator: str, values: arr(str) });
const nodeSelectorTerm = obj({ matchExpressions: arr(nodeSelectorRequirement), matchFields: arr(nodeSelectorRequirement) });
const podAffinityTerm = obj({
  labelSelector,
  namespaces: arr(str),
  topologyKey: str,
  namespaceSelector: labelSelector,
  matchLabelKeys: arr(str),
  mismatchLabelKeys: arr(str),
});
const podAffinity = obj({
  requiredDuringSchedulingIgnoredDuringExecution: arr(podAffinityTerm),
  preferredDuringSchedulingIgnoredDuringExecution: arr(obj({ weight: int32, podAffinityTerm })),
});
const affinity = obj({
  nodeAffinity: obj({
    requiredDuringSchedulingIgnoredDuringExecution: obj({ nodeSelectorTerms: arr(nodeSelectorTerm) }),
    preferredDuringSchedulingIgnoredDuringExecution: arr(obj({ weight: int32, preference: nodeSelectorTerm })),
  }),
  podAffinity,
  podAntiAffinity: podAffinity,
});
const topologySpreadConstraint = obj({
  maxSkew: int32,
  topologyKey: str,
  whenUnsatisfiable: str,
  labelSelector,
  minDomains: int32,
  nodeAffinityPolicy: str,
  nodeTaintsPolicy: str,
  matchLabelKeys: arr(str),
});

/** PodSpec fields without effect on one machine. */
const UNMODELLED_POD_SPEC_FIELDS: Record<string, Schema> = {
  dnsPolicy: str,
  nodeSelector: map(str),
  serviceAccountName: str,
  serviceAccount: str,
  automountServiceAccountToken: bool,
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  imagePullSecrets: arr(obj({ name: str })),
  subdomain: str,
  affinity,
  schedulerName: str,
  tolerations: arr(obj({ key: str, operator: str, value: str, effect: str, tolerationSeconds: int64 })),
  hostAliases: arr(obj({ ip: str, hostnames: arr(str) })),
  priorityClassName: str,
  priority: int32,
  dnsConfig: obj({ nameservers: arr(str), searches: arr(str), options: arr(obj({ name: str, value: str })) }),
  runtimeClassName: str,
  enableServiceLinks: bool,
  preemptionPolicy: str,
  overhead: map(quantity),
  topologySpreadConstraints: arr(topologySpreadConstraint),
  setHostnameAsFQDN: bool,
  os: obj({ name: str }),
  hostUsers: bool,
  schedulingGates: arr(obj({ name: str })),
  resources: obj({ limits: map(quantity), requests: map(quantity), claims: arr(obj({ name: str, request: str })) }),
  hostnameOverride: str,
  // A recent alpha field whose shape podvisor does not track: any object passes.
  schedulingGroup: rawObject,
};

/** Container fields without effect on one machine. */
const UNMODELLED_CONTAINER_FIELDS: Record<string, Schema> = {
  resizePolicy: arr(obj({ resourceName: str, restartPolicy: str })),
};

/** ObjectMeta fields the server owns or podvisor does not use. */
const UNMODELLED_OBJECT_META_FIELDS: Record<string, Schema> = {
  ownerReferences: arr(obj({ apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool })),
  finalizers: arr(str),
  managedFields: arr(
    obj({ manager: str, operation: str, apiVersion: str, time: str, fieldsType: str, fieldsV1: anyValue, subresource: str }),
  ),
  selfLink: str,
};

// ---- The core/v1 Pod schema (field names from kubernetes/api core/v1/types.go) ----

const execAction = obj({ command: arr(str) });
const httpGetAction = obj({
  path: str,
  port: intOrString,
  host: str,
  scheme: str,
  httpHeaders: arr(obj({ name: str, value: str })),
});
const tcpSocketAction = obj({ port: intOrString, host: str });
const probe = obj(
  {
    exec: execAction,
    httpGet: httpGetAction,
    tcpSocket: tcpSocketAction,
    initialDelaySeconds: int32,
    timeoutSeconds: int32,
    periodSeconds: int32,
    successThreshold: int32,
    failureThreshold: int32,
    terminationGracePeriodSeconds: int64,
  },
  { unsupported: ['grpc'] },
);
const lifecycleHandler = obj({ exec: execAction, httpGet: httpGetAction, tcpSocket: tcpSocketAction, sleep: obj({ seconds: int64 }) });
const lifecycle = obj({ postStart: lifecycleHandler, preStop: lifecycleHandler }, { unsupported: ['stopSignal'] });

// References to ConfigMaps, Secrets and the downward API (env, envFrom and volumes).
const objectFieldSelector = obj({ apiVersion: str, fieldPath: str });
const resourceFieldSelector = obj({ containerName: str, resource: str, divisor: quantity });
const keySelector = obj({ name: str, key: str, optional: bool });
const envVarSource = obj(
  { fieldRef: objectFieldSelector, resourceFieldRef: resourceFieldSelector, configMapKeyRef: keySelector, secretKeyRef: keySelector },
  { unsupported: ['fileKeyRef'] },
);
const envSourceRef = obj({ name: str, optional: bool });
const envFromSource = obj({ prefix: str, configMapRef: envSourceRef, secretRef: envSourceRef });
const keyToPath = obj({ key: str, path: str, mode: int32 });
const downwardAPIVolumeFile = obj({ path: str, fieldRef: objectFieldSelector, resourceFieldRef: resourceFieldSelector, mode: int32 });
const objectProjection = obj({ name: str, items: arr(keyToPath), optional: bool });
const volumeProjection = obj(
  { configMap: objectProjection, secret: objectProjection, downwardAPI: obj({ items: arr(downwardAPIVolumeFile) }) },
  { unsupported: ['serviceAccountToken', 'clusterTrustBundle', 'podCertificate'] },
);

const containerFields: Record<string, Schema> = {
  name: str,
  image: str,
  command: arr(str),
  args: arr(str),
  workingDir: str,
  envFrom: arr(envFromSource),
  env: arr(obj({ name: str, value: str, valueFrom: envVarSource })),
  volumeMounts: arr(
    obj(
      { name: str, mountPath: str, readOnly: bool, subPath: str },
      { unsupported: ['subPathExpr', 'mountPropagation', 'recursiveReadOnly'] },
    ),
  ),
  resources: obj({ limits: map(quantity), requests: map(quantity) }, { unsupported: ['claims'] }),
  ports: arr(obj({ name: str, containerPort: int32, hostPort: int32, protocol: str, hostIP: str })),
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  lifecycle,
  restartPolicy: str,
  restartPolicyRules: arr(obj({ action: str, exitCodes: obj({ operator: str, values: arr(int32) }) })),
  terminationMessagePath: str,
  terminationMessagePolicy: str,
  imagePullPolicy: str,
  stdin: bool,
  stdinOnce: bool,
  tty: bool,
  securityContext,
};
const containerMore = { unsupported: ['volumeDevices'], ignored: UNMODELLED_CONTAINER_FIELDS };
const container = obj(containerFields, containerMore);
const ephemeralContainer = obj({ ...containerFields, targetContainerName: str }, containerMore);

/** Volume sources of core/v1 that podvisor does not provide. */
const UNSUPPORTED_VOLUME_SOURCES = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'fc',
  'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
];
const volume = obj(
  {
    name: str,
    emptyDir: obj({ medium: str, sizeLimit: quantity }),
    hostPath: obj({ path: str, type: str }),
    secret: obj({ secretName: str, items: arr(keyToPath), defaultMode: int32, optional: bool }),
    downwardAPI: obj({ items: arr(downwardAPIVolumeFile), defaultMode: int32 }),
    configMap: obj({ name: str, items: arr(keyToPath), defaultMode: int32, optional: bool }),
    projected: obj({ sources: arr(volumeProjection), defaultMode: int32 }),
  },
  { unsupported: UNSUPPORTED_VOLUME_SOURCES },
);

const podSpec = obj(
  {
    volumes: arr(volume),
    initContainers: arr(container),
    containers: arr(container),
    ephemeralContainers: arr(ephemeralContainer),
    restartPolicy: str,
    terminationGracePeriodSeconds: int64,
    activeDeadlineSeconds: int64,
    nodeName: str,
    shareProcessNamespace: bool,
    securityContext: podSecurityContext,
    hostname: str,
    readinessGates: arr(obj({ conditionType: str })),
  },
  {
    unsupported: ['resourceClaims'],
    ignored: UNMODELLED_POD_SPEC_FIELDS,
  },
);

const objectMeta = obj(
  {
    name: str,
    generateName: str,
    namespace: str,
    uid: str,
    resourceVersion: str,
    generation: int64,
    creationTimestamp: str,
    deletionTimestamp: str,
    deletionGracePeriodSeconds: int64,
    labels: map(str),
    annotations: map(str),
  },
  { ignored: UNMODELLED_OBJECT_META_FIELDS },
);

const podSchema = obj({ apiVersion: str, kind: str, metadata: objectMeta, spec: podSpec }, { dropped: ['status'] });

/** The names of the integer fields of a schema, at any depth (modelled and ignored fields). */
function integerKeys(root: Schema): Set<string> {
  const out = new Set<string>();
  const seen = new Set<Schema>();
  const visit = (s: Schema, name: string | undefined): void => {
    if (isInteger(s) && name !== undefined) out.add(name);
    if (seen.has(s)) return;
    seen.add(s);
    if (s.t === 'array' || s.t === 'map') visit(s.of, s.t === 'array' ? name : undefined);
    if (s.t === 'object') for (const [k, f] of [...Object.entries(s.fields), ...Object.entries(s.ignored)]) visit(f, k);
  };
  visit(root, undefined);
  return out;
}

/**
 * The keys under which the Pod schema has an integer field (or a list of integers): what the
 * raw-JSON scan of a Pod body watches for non-integer number literals.
 */
export const POD_INTEGER_KEYS: ReadonlySet<string> = integerKeys(podSchema);

// ---- The decoder ----

interface Ctx {
  errors: FieldError[];
  warnings: string[];
  /** Wrong JSON types and unparsable quantities: the API server's decoding errors. */
  typeErrors: number;
  /** The type-checked unmodelled fields of each decoded object (container, spec, metadata). */
  unmodelled: Map<object, Record<string, unknown>>;
  /** Number literals of the JSON text that were not written as integers (see {@link DecodeOptions}). */
  literals: LiteralIndex | undefined;
}

function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** True for `{...}` objects as JSON/YAML produce them (not arrays, buffers, dates, maps). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const PREVIEW_MAX = 80;
const STRING_MAX = 128;

/** A short JSON-like preview of any value, bounded in depth and length (never throws). */
function preview(v: unknown, depth = 0): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 32 ? `${v.slice(0, 32)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (depth >= 3) return Array.isArray(v) ? '[...]' : '{...}';
  let out: string;
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const item of v) {
      parts.push(preview(item, depth + 1));
      if (parts.join(',').length > PREVIEW_MAX) break;
    }
    out = `[${parts.join(',')}]`;
  } else if (isPlainObject(v)) {
    const parts: string[] = [];
    for (const k of Object.keys(v)) {
      parts.push(`${JSON.stringify(k)}:${preview(v[k], depth + 1)}`);
      if (parts.join(',').length > PREVIEW_MAX) break;
    }
    out = `{${parts.join(',')}}`;
  } else {
    out = `<${jsonKind(v)}>`;
  }
  return out.length > PREVIEW_MAX ? `${out.slice(0, PREVIEW_MAX)}...` : out;
}

/** The JSON kind of a value: `string`, `number`, `boolean`, `null`, `array`, `object` (or `binary` and the like for YAML-only types). */
function jsonKind(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isPlainObject(v)) return 'object';
  if (v instanceof Uint8Array) return 'binary';
  if (v instanceof Date) return 'timestamp';
  if (v instanceof Map) return 'map';
  if (v instanceof Set) return 'set';
  return typeof v;
}

/** The offending value as an error shows it. */
/** The offending value as a field error shows it: a string cut at 128 characters, a number or boolean as is, anything else a short preview. */
export function badValue(v: unknown): unknown {
  if (typeof v === 'string') return v.length > STRING_MAX ? `${v.slice(0, STRING_MAX)}...` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return new VerbatimValue(preview(v));
}

const TYPE_NAME: Record<Schema['t'], string> = {
  string: 'string',
  bool: 'boolean',
  int32: 'int32',
  int64: 'int64',
  intOrString: 'integer or string',
  quantity: 'quantity',
  any: 'any',
  rawObject: 'object',
  array: 'array',
  map: 'object',
  object: 'object',
};

/**
 * At most this many errors, and as many warnings, are reported for one pod: a 3 MB body with a
 * million wrongly typed list elements would otherwise make a million errors (and a 300 MB
 * answer); the API server's decoder stops at the first.
 */
export const MAX_DECODE_FINDINGS = 1000;

function report<T>(list: T[], item: T): void {
  if (list.length < MAX_DECODE_FINDINGS) list.push(item);
}

function typeError(ctx: Ctx, path: string, v: unknown, s: Schema, shown: unknown = badValue(v)): undefined {
  ctx.typeErrors++;
  report(ctx.errors, fieldErrors.typeInvalid(path, shown, `must be of type ${TYPE_NAME[s.t]}`));
  return undefined;
}

function isInteger(s: Schema): boolean {
  return s.t === 'int32' || s.t === 'int64' || s.t === 'intOrString';
}

/**
 * Decodes `container[key]`. A number the JSON text wrote as a non-integer (`1e-400`, `2.0`) is
 * a type error for an integer field even though `JSON.parse` made an integer of it: the API
 * server's decoder refuses such a literal for an integer field.
 */
function decodeMember(container: object, key: string | number, v: unknown, s: Schema, path: string, ctx: Ctx): unknown {
  const literal = isInteger(s) && typeof v === 'number' ? ctx.literals?.get(container)?.get(key) : undefined;
  if (literal !== undefined) return typeError(ctx, path, v, s, new VerbatimValue(literal));
  return decodeValue(v, s, path, ctx);
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

function zeroOf(s: Schema): unknown {
  switch (s.t) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int32':
    case 'int64':
    case 'intOrString':
      return 0;
    case 'quantity':
      return '0';
    case 'any':
      return null;
    case 'array':
      return [];
    case 'map':
    case 'rawObject':
    case 'object':
      return {};
  }
}

function decodeValue(v: unknown, s: Schema, path: string, ctx: Ctx): unknown {
  if (v === null || v === undefined) return undefined;
  switch (s.t) {
    case 'string':
      return typeof v === 'string' ? v : typeError(ctx, path, v, s);
    case 'bool':
      return typeof v === 'boolean' ? v : typeError(ctx, path, v, s);
    case 'int32':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : typeError(ctx, path, v, s);
    case 'int64':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : typeError(ctx, path, v, s);
    case 'intOrString':
      if (typeof v === 'string') return v;
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : typeError(ctx, path, v, s);
    case 'quantity': {
      if (typeof v !== 'string' && typeof v !== 'number') return typeError(ctx, path, v, s);
      const q = parseQuantity(v);
      if (!q.ok) {
        ctx.typeErrors++;
        report(ctx.errors, fieldErrors.invalid(path, badValue(v), q.error));
        return undefined;
      }
      return v;
    }
    case 'any':
      return v;
    case 'rawObject':
      return isPlainObject(v) ? v : typeError(ctx, path, v, s);
    case 'array': {
      if (!Array.isArray(v)) return typeError(ctx, path, v, s);
      const out: unknown[] = [];
      v.forEach((item, i) => {
        const d = decodeMember(v, i, item, s.of, `${path}[${i}]`, ctx);
        out.push(d === undefined ? zeroOf(s.of) : d);
      });
      return out;
    }
    case 'map': {
      if (!isPlainObject(v)) return typeError(ctx, path, v, s);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        const d = decodeMember(v, k, v[k], s.of, `${path}[${k}]`, ctx);
        // defineProperty: a key such as `__proto__` stays an ordinary entry.
        Object.defineProperty(out, k, { value: d === undefined ? zeroOf(s.of) : d, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'object': {
      if (!isPlainObject(v)) return typeError(ctx, path, v, s);
      const out: Record<string, unknown> = {};
      const ignored: Record<string, unknown> = {};
      let hasIgnored = false;
      for (const k of Object.keys(v)) {
        const p = child(path, k);
        const fs = Object.prototype.hasOwnProperty.call(s.fields, k) ? s.fields[k] : undefined;
        const is = Object.prototype.hasOwnProperty.call(s.ignored, k) ? s.ignored[k] : undefined;
        if (fs) {
          const d = decodeMember(v, k, v[k], fs, p, ctx);
          if (d !== undefined) out[k] = d;
        } else if (s.unsupported.has(k)) {
          if (v[k] !== null && v[k] !== undefined) report(ctx.errors, fieldErrors.forbidden(p, 'not supported by podvisor'));
        } else if (is) {
          if (v[k] === null || v[k] === undefined) continue;
          // Type-checked like a modelled field, stored with the pod as the API server stores
          // it, and kept aside for the validation rules that read the unmodelled view.
          const d = decodeMember(v, k, v[k], is, p, ctx);
          if (d !== undefined) {
            out[k] = d;
            ignored[k] = d;
            hasIgnored = true;
            if (NOT_APPLIED.has(k) && isSet(d)) report(ctx.warnings, `${p}: stored, not applied by podvisor`);
          }
        } else if (!s.dropped.has(k)) {
          report(ctx.warnings, `unknown field ${JSON.stringify(p)}`);
        }
      }
      if (hasIgnored) ctx.unmodelled.set(out, ignored);
      return out;
    }
  }
}

/** Result of {@link decodePod}. */
export interface DecodeResult {
  /**
   * The decoded pod. Its shape follows the types (every present field has its declared JSON
   * type, `metadata` and `spec.containers` always exist), but values are not validated:
   * enum-like strings may hold anything, required strings may be missing.
   */
  pod: Pod;
  /**
   * Type errors and unsupported fields, each with its field path (the path is `""` only when
   * `value` itself is not an object).
   */
  errors: FieldError[];
  /** Unknown and ignored fields. */
  warnings: string[];
  /** The type-checked values of the unmodelled (ignored) fields, which the pod does not carry. */
  unmodelled: UnmodelledFields;
  /** Some value had the wrong JSON type (the API server refuses such a body before validating it). */
  typeErrors: boolean;
}

/** Options of {@link decodePod}. */
export interface DecodeOptions {
  /**
   * Where `value` came from JSON text: the number literals of that text that were not written
   * as integers (from `scanJson` with {@link POD_INTEGER_KEYS}, then `indexLiterals`). Such a
   * literal in an integer field is a type error showing the literal as written.
   */
  literals?: LiteralIndex;
}

/**
 * Decodes an untyped value (one parsed manifest document) into a {@link Pod}. Never throws.
 * `apiVersion` and `kind` are only type-checked here (the loader checks their values) and are
 * set to `v1`/`Pod` in the result.
 */
export function decodePod(value: unknown, opts: DecodeOptions = {}): DecodeResult {
  const ctx: Ctx = { errors: [], warnings: [], typeErrors: 0, unmodelled: new Map(), literals: opts.literals };
  let decoded: Record<string, unknown> = {};
  if (!isPlainObject(value)) {
    typeError(ctx, '', value, podSchema);
  } else {
    const d = decodeValue(value, podSchema, '', ctx);
    if (isPlainObject(d)) decoded = d;
  }
  const metadata = isPlainObject(decoded.metadata) ? decoded.metadata : {};
  const spec = isPlainObject(decoded.spec) ? decoded.spec : {};
  if (!Array.isArray(spec.containers)) spec.containers = [];
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata, spec } as unknown as Pod;
  const unmodelled = collectUnmodelled(ctx, metadata, spec);
  return { pod, errors: ctx.errors, warnings: ctx.warnings, unmodelled, typeErrors: ctx.typeErrors > 0 };
}

/** Gathers the unmodelled fields the decoder kept aside, aligned with the decoded pod. */
function collectUnmodelled(ctx: Ctx, metadata: Record<string, unknown>, spec: Record<string, unknown>): UnmodelledFields {
  const of = (o: unknown): Record<string, unknown> => (isPlainObject(o) ? (ctx.unmodelled.get(o) ?? {}) : {});
  // securityContext is modelled (the OCI runtime applies it) but validated with the rest of the
  // unmodelled rules, which read it from this view.
  const withSc = (o: unknown): Record<string, unknown> => {
    const u = of(o);
    return isPlainObject(o) && isPlainObject(o.securityContext) ? { ...u, securityContext: o.securityContext } : u;
  };
  const list = (l: unknown): UnmodelledContainer[] => (Array.isArray(l) ? l.map((c) => withSc(c) as UnmodelledContainer) : []);
  return {
    metadata: of(metadata),
    spec: withSc(spec),
    containers: list(spec.containers),
    initContainers: list(spec.initContainers),
    ephemeralContainers: list(spec.ephemeralContainers),
  };
}
