/**
 * ConfigMaps and Secrets as served: names, printing (the API server's `DATA` and `TYPE`
 * columns), decoding, and their strategies. A Secret's `stringData` is merged into `data` before
 * it is validated and stored, as the API server does, so it is never stored or returned.
 */
import { decodeConfigMap, validateConfigMap, validateConfigMapUpdate, type ConfigMap } from '../../api/config-objects.js';
import { decodeSecret, prepareSecretForStore, validateSecret, validateSecretUpdate, type Secret } from '../../api/secret.js';
import type { Strategy } from '../registry/objects.js';
import type { KindDef } from '../registry/types.js';
import { AGE_COLUMN, NAME_COLUMN, objectRow, simpleColumn } from '../table.js';

/** The ConfigMap kind. */
export const CONFIGMAP_KIND: KindDef<ConfigMap> = {
  kind: 'ConfigMap',
  resource: 'configmaps',
  singular: 'configmap',
  apiVersion: 'v1',
  namespaced: true,
  shortNames: ['cm'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  columns: [NAME_COLUMN, simpleColumn('Data', 'integer', 'Data contains the configuration data.'), AGE_COLUMN],
  row: (cm, now, include) => objectRow(cm, [Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length], now, include),
  fields: new Set(),
  field: () => '',
  decode(body) {
    const d = decodeConfigMap(body);
    return { obj: d.object, errors: d.errors, unknown: d.warnings };
  },
};

/** ConfigMaps: no defaults; the API server's validation and `immutable` rules. */
export const CONFIGMAP_STRATEGY: Strategy<ConfigMap> = {
  prepareForCreate: () => {},
  validate: (cm) => ({ errors: validateConfigMap(cm), warnings: [] }),
  prepareForUpdate: () => {},
  validateUpdate: (next, cur) => ({ errors: validateConfigMapUpdate(next, cur), warnings: [] }),
};

/** The Secret kind. */
export const SECRET_KIND: KindDef<Secret> = {
  kind: 'Secret',
  resource: 'secrets',
  singular: 'secret',
  apiVersion: 'v1',
  namespaced: true,
  shortNames: [],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  columns: [
    NAME_COLUMN,
    simpleColumn('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    simpleColumn('Data', 'integer', 'Data contains the secret data.'),
    AGE_COLUMN,
  ],
  row: (s, now, include) => objectRow(s, [s.type ?? 'Opaque', Object.keys(s.data ?? {}).length], now, include),
  fields: new Set(['type']),
  field: (s, f) => (f === 'type' ? (s.type ?? '') : ''),
  decode(body) {
    const d = decodeSecret(body);
    return { obj: d.object, errors: d.errors, unknown: d.warnings };
  },
};

function mergeStringData(s: Secret): void {
  const p = prepareSecretForStore(s);
  delete s.stringData;
  if (p.data) s.data = p.data;
  s.type = p.type ?? 'Opaque';
}

/** Secrets: `stringData` merged, `type` defaulted to `Opaque`; the API server's validation and update rules. */
export const SECRET_STRATEGY: Strategy<Secret> = {
  prepareForCreate: mergeStringData,
  validate: (s) => ({ errors: validateSecret(s), warnings: [] }),
  prepareForUpdate: mergeStringData,
  validateUpdate: (next, cur) => ({ errors: validateSecretUpdate(next, cur), warnings: [] }),
};
