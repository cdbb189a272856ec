/**
 * What the field manager needs to know about each kind beyond its schema, to see objects as
 * the API server's field manager sees them (a Go object converted to a typed value):
 *
 * - the kind's zero object, the "live" object of a create: `metadata.creationTimestamp` is
 *   null, non-pointer structs are present (`spec: {containers: null}`, `status: {}` for a
 *   Pod), so a created object's `spec` is not itself a member of its creator's fields, while
 *   a ConfigMap's `data` is;
 * - non-pointer struct fields a decoded object always has (a container's `resources: {}`);
 * - the defaults the API server applies while decoding a request (`SetDefaults_*`), which the
 *   writer owns, unlike what strategies and admission set afterwards (a Pod's service account,
 *   priority and default tolerations; a Namespace's finalizer), which nobody owns;
 * - the reset fields of the main resource (`GetResetFields`: a Pod's and a Namespace's
 *   `status`), which its managers never own.
 */
import { defaultPod } from '../../api/defaults.js';
import type { Pod } from '../../api/types.js';
import { FieldSet, pe, type Json } from './fieldpath.js';

/** The field manager's view of a kind. */
export interface KindFields {
  /** The zero object of the kind (with `apiVersion` and `kind`). */
  zero(apiVersion: string, kind: string): { [k: string]: Json };
  /** Adds the struct fields a decoded object of the kind always has. */
  goView(obj: { [k: string]: Json }): void;
  /** The API server's decode-time defaults of a written object. */
  decodeDefaults(obj: { [k: string]: Json }): { [k: string]: Json };
  /** Fields the main resource's managers never own. */
  resetFields: FieldSet | undefined;
}

function isObject(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const STATUS = FieldSet.of([[pe.field('status')]]);

const GENERIC: KindFields = {
  zero: (apiVersion, kind) => ({ apiVersion, kind, metadata: { creationTimestamp: null } }),
  goView: () => {},
  decodeDefaults: (obj) => obj,
  resetFields: undefined,
};

/** Fields `defaultPod` sets that upstream sets in admission (or binding), after the field manager ran. */
const POD_ADMISSION_FIELDS = ['serviceAccountName', 'serviceAccount', 'priority', 'preemptionPolicy', 'tolerations', 'nodeName'];

const POD: KindFields = {
  zero: (apiVersion, kind) => ({ apiVersion, kind, metadata: { creationTimestamp: null }, spec: { containers: null }, status: {} }),
  goView(obj) {
    const spec = obj.spec;
    if (!isObject(spec)) return;
    for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
      const cs = spec[list];
      if (!Array.isArray(cs)) continue;
      for (const c of cs) if (isObject(c) && c.resources === undefined) c.resources = {};
    }
  },
  decodeDefaults(obj) {
    const spec = isObject(obj.spec) ? obj.spec : {};
    const defaulted = JSON.parse(JSON.stringify(defaultPod(obj as unknown as Pod))) as { [k: string]: Json };
    const out = isObject(defaulted.spec) ? defaulted.spec : {};
    for (const k of POD_ADMISSION_FIELDS) {
      if (spec[k] !== undefined) out[k] = spec[k];
      else delete out[k];
    }
    return defaulted;
  },
  resetFields: STATUS,
};

const SECRET: KindFields = {
  ...GENERIC,
  decodeDefaults(obj) {
    if (typeof obj.type !== 'string' || obj.type === '') return { ...obj, type: 'Opaque' };
    return obj;
  },
};

/** `kubernetes.io/metadata.name`, set to the name by `SetDefaults_Namespace`. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const NAMESPACE: KindFields = {
  zero: (apiVersion, kind) => ({ apiVersion, kind, metadata: { creationTimestamp: null }, spec: {}, status: {} }),
  goView: () => {},
  decodeDefaults(obj) {
    const meta = isObject(obj.metadata) ? obj.metadata : {};
    if (typeof meta.name !== 'string' || meta.name === '') return obj;
    const labels = isObject(meta.labels) ? meta.labels : {};
    return { ...obj, metadata: { ...meta, labels: { ...labels, [NAMESPACE_NAME_LABEL]: meta.name } } };
  },
  resetFields: STATUS,
};

const KINDS: Readonly<Record<string, KindFields>> = { Pod: POD, Secret: SECRET, Namespace: NAMESPACE };

/** The field manager's view of `kind` (a generic one for kinds without particulars, ConfigMaps among them). */
export function kindFields(kind: string): KindFields {
  return Object.prototype.hasOwnProperty.call(KINDS, kind) ? (KINDS[kind] as KindFields) : GENERIC;
}
