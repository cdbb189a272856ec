/**
 * The core/v1 ConfigMap as the Kubernetes 1.36 API server treats it: decoding and validation
 * (`ValidateConfigMap`, `ValidateConfigMapUpdate` of `pkg/apis/core/validation/validation.go`),
 * with upstream's messages and field paths, plus the key rule and size limit ConfigMaps share
 * with Secrets (`secret.ts`).
 *
 * A ConfigMap has no defaults and its strategy changes nothing, so a registry needs only
 * {@link decodeConfigMap}, then {@link validateConfigMap} on create or
 * {@link validateConfigMapUpdate} on update. Where upstream walks a Go map (random order),
 * podvisor reports keys in sorted order. Every function is pure and never throws.
 */
import { fieldErrors, type FieldError } from './errors.js';
import { base64ByteLength } from './go-encoding.js';
import { byteLength, DNS1123_SUBDOMAIN_MAX_LENGTH, maxLenError, regexError } from './names.js';
import { decodeObject, OBJECT_META_SCHEMA, schema, type ObjectDecodeResult } from './object-decode.js';
import { nameIsSubdomain, validateObjectMeta, validateObjectMetaUpdate, type FullObjectMeta } from './object-meta.js';

/** core/v1 `ConfigMap`. */
export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: FullObjectMeta;
  /** UTF-8 text values. */
  data?: Record<string, string>;
  /** Binary values, as standard base64 (canonical after {@link decodeConfigMap}). */
  binaryData?: Record<string, string>;
  /** Once true, `data` and `binaryData` can no longer change and `immutable` cannot be unset. */
  immutable?: boolean;
}

/** `MaxSecretSize`: 1 MiB, the limit of a Secret's `data` and of a ConfigMap's `data` plus `binaryData`. */
export const MAX_SECRET_SIZE = 1024 * 1024;

/** The message of the update rules of an immutable ConfigMap or Secret. */
export const IMMUTABLE_WHEN_SET = 'field is immutable when `immutable` is set';

const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+';
const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/**
 * `IsConfigMapKey`, the key rule of ConfigMaps and Secrets (keys become file names in a
 * volume): at most 253 bytes, `[-._a-zA-Z0-9]+`, and not `.`, `..` or starting with `..`.
 * Returns upstream's messages, empty when valid.
 */
export function isConfigMapKey(key: string): string[] {
  const errs: string[] = [];
  if (byteLength(key) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!CONFIG_KEY_RE.test(key)) errs.push(regexError(CONFIG_KEY_ERR, CONFIG_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** The keys of a map in the order podvisor reports them (sorted). */
export function sortedKeys(m: Readonly<Record<string, string>> | undefined): string[] {
  return Object.keys(m ?? {}).sort();
}

/**
 * Equality of two string maps as the update rules compare them. An absent map equals an empty
 * one: upstream's `reflect.DeepEqual` tells `nil` from empty, but which one a stored object
 * has depends on its storage encoding, so podvisor does not make that difference an error.
 */
export function sameStringMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && a?.[k] === b?.[k]);
}

const { str, bool, bytes, map, obj } = schema;
const CONFIG_MAP_SCHEMA = obj({
  apiVersion: str,
  kind: str,
  metadata: OBJECT_META_SCHEMA,
  data: map(str),
  binaryData: map(bytes(false)),
  immutable: bool,
});

/**
 * Decodes an untyped body into a {@link ConfigMap}: wrong JSON types are `TypeInvalid` field
 * errors (`data[k]: Invalid value: 1: must be of type string`), a `binaryData` value that is
 * not base64 one with Go's text (`binaryData[k]: Invalid value: "%%%": illegal base64 data at
 * input byte 0`), unknown fields warnings (`unknown field "spec"`). Good `binaryData` values
 * come back in canonical base64. Never throws.
 */
export function decodeConfigMap(body: unknown): ObjectDecodeResult<ConfigMap> {
  return decodeObject<ConfigMap>(body, CONFIG_MAP_SCHEMA, 'v1', 'ConfigMap');
}

/**
 * `ValidateConfigMap`: metadata of a namespaced object named by a DNS-1123 subdomain; each
 * `data` key valid and not also in `binaryData` (`duplicate of key present in binaryData`);
 * each `binaryData` key valid; `data` (UTF-8 bytes) plus `binaryData` (decoded bytes) at most
 * {@link MAX_SECRET_SIZE}, else `Too long` on the whole object (field path `""`, as upstream).
 */
export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, { namespaced: true, name: nameIsSubdomain });
  let total = 0;
  const binary = cm.binaryData ?? {};
  for (const k of sortedKeys(cm.data)) {
    for (const m of isConfigMapKey(k)) errs.push(fieldErrors.invalid(`data[${k}]`, k, m));
    if (Object.prototype.hasOwnProperty.call(binary, k)) errs.push(fieldErrors.invalid(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    total += byteLength(cm.data?.[k] ?? '');
  }
  for (const k of sortedKeys(cm.binaryData)) {
    for (const m of isConfigMapKey(k)) errs.push(fieldErrors.invalid(`binaryData[${k}]`, k, m));
    total += base64ByteLength(binary[k] ?? '');
  }
  if (total > MAX_SECRET_SIZE) errs.push(fieldErrors.tooLong('', MAX_SECRET_SIZE));
  return errs;
}

/**
 * `ValidateConfigMapUpdate` (the strategy's whole `ValidateUpdate`): the metadata update rules;
 * when `cur` is immutable, `immutable` must stay true and `data` and `binaryData` unchanged
 * (each a `Forbidden` {@link IMMUTABLE_WHEN_SET}); then {@link validateConfigMap} of `next`.
 */
export function validateConfigMapUpdate(next: ConfigMap, cur: ConfigMap): FieldError[] {
  const errs = validateObjectMetaUpdate(next.metadata, cur.metadata);
  if (cur.immutable === true) {
    if (next.immutable !== true) errs.push(fieldErrors.forbidden('immutable', IMMUTABLE_WHEN_SET));
    if (!sameStringMap(next.data, cur.data)) errs.push(fieldErrors.forbidden('data', IMMUTABLE_WHEN_SET));
    if (!sameStringMap(next.binaryData, cur.binaryData)) errs.push(fieldErrors.forbidden('binaryData', IMMUTABLE_WHEN_SET));
  }
  errs.push(...validateConfigMap(next));
  return errs;
}
