/**
 * The core/v1 Secret as the Kubernetes 1.36 API server treats it: decoding (`data` is base64
 * on the wire), the conversion and defaults that run on every request (`stringData` merged
 * into `data`, `type` defaulted to `Opaque`), and validation (`ValidateSecret`,
 * `ValidateSecretUpdate` of `pkg/apis/core/validation/validation.go`), with upstream's
 * messages and field paths. Secret values never appear in an error: upstream's
 * `"<secret contents redacted>"` stands in for them.
 *
 * A registry creates or updates a secret with: {@link decodeSecret} →
 * {@link prepareSecretForStore} → {@link validateSecret} or {@link validateSecretUpdate}.
 * The API server's TLS warning (`tls.crt` and `tls.key` not a key pair) needs X.509 parsing and
 * is not made here. Every function is pure and never throws.
 */
import { fieldErrors, type FieldError } from './errors.js';
import { IMMUTABLE_WHEN_SET, isConfigMapKey, MAX_SECRET_SIZE, sameStringMap, sortedKeys } from './config-objects.js';
import { base64ByteLength, base64Decode, base64Encode, goJsonObjectError, utf8Bytes } from './go-encoding.js';
import { decodeObject, OBJECT_META_SCHEMA, REDACTED, schema, type ObjectDecodeResult } from './object-decode.js';
import { nameIsSubdomain, validateImmutableField, validateObjectMeta, validateObjectMetaUpdate, type FullObjectMeta } from './object-meta.js';

/** core/v1 `Secret`. */
export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: FullObjectMeta;
  /** Values as standard base64 (canonical after {@link decodeSecret}). */
  data?: Record<string, string>;
  /** Write-only text values, merged into `data` by {@link prepareSecretForStore} and never stored. */
  stringData?: Record<string, string>;
  /** One of {@link SECRET_TYPES} or any other string; `Opaque` when absent. */
  type?: string;
  /** Once true, `data` can no longer change and `immutable` cannot be unset. */
  immutable?: boolean;
}

/** The Secret types Kubernetes defines (`SecretType*`); only some have rules (see {@link validateSecret}). */
export const SECRET_TYPES = {
  Opaque: 'Opaque',
  ServiceAccountToken: 'kubernetes.io/service-account-token',
  Dockercfg: 'kubernetes.io/dockercfg',
  DockerConfigJSON: 'kubernetes.io/dockerconfigjson',
  BasicAuth: 'kubernetes.io/basic-auth',
  SSHAuth: 'kubernetes.io/ssh-auth',
  TLS: 'kubernetes.io/tls',
  BootstrapToken: 'bootstrap.kubernetes.io/token',
} as const;

/** The keys and annotation the typed Secrets use (`ServiceAccountNameKey`, `DockerConfigKey`, ...). */
export const SECRET_KEYS = {
  serviceAccountName: 'kubernetes.io/service-account.name',
  serviceAccountUID: 'kubernetes.io/service-account.uid',
  serviceAccountToken: 'token',
  dockercfg: '.dockercfg',
  dockerConfigJSON: '.dockerconfigjson',
  basicAuthUsername: 'username',
  basicAuthPassword: 'password',
  sshPrivateKey: 'ssh-privatekey',
  tlsCert: 'tls.crt',
  tlsKey: 'tls.key',
} as const;

const { str, secretStr, bool, bytes, map, obj } = schema;
const SECRET_SCHEMA = obj({
  apiVersion: str,
  kind: str,
  metadata: OBJECT_META_SCHEMA,
  data: map(bytes(true)),
  stringData: map(secretStr),
  type: str,
  immutable: bool,
});

/**
 * Decodes an untyped body into a {@link Secret}: wrong JSON types are `TypeInvalid` field
 * errors, a `data` value that is not base64 one with Go's text
 * (`data[k]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 3`,
 * where the API server answers 400 `Secret in version "v1" cannot be handled as a Secret:
 * illegal base64 data at input byte 3`), unknown fields warnings. Good `data` values come back
 * in canonical base64. Never throws.
 */
export function decodeSecret(body: unknown): ObjectDecodeResult<Secret> {
  return decodeObject<Secret>(body, SECRET_SCHEMA, 'v1', 'Secret');
}

/**
 * The stored form of a secret, as the API server makes it from every create and update body
 * (v1 conversion and `SetDefaults_Secret`): each `stringData` value, as UTF-8, base64-encoded
 * into `data` (replacing a `data` value of the same key), `stringData` removed, and an absent or
 * empty `type` set to `Opaque`. Idempotent.
 */
export function prepareSecretForStore(secret: Secret): Secret {
  const { stringData, ...rest } = secret;
  const out: Secret = { ...rest, type: secret.type || SECRET_TYPES.Opaque };
  const extra = Object.keys(stringData ?? {});
  if (extra.length > 0) {
    const data: Record<string, string> = {};
    const put = (k: string, v: string): void => {
      Object.defineProperty(data, k, { value: v, enumerable: true, writable: true, configurable: true });
    };
    for (const k of Object.keys(secret.data ?? {})) put(k, secret.data?.[k] ?? '');
    for (const k of extra) put(k, base64Encode(utf8Bytes(stringData?.[k] ?? '')));
    out.data = data;
  }
  return out;
}

const dataPath = (k: string): string => `data[${k}]`;
const has = (m: Readonly<Record<string, string>>, k: string): boolean => Object.prototype.hasOwnProperty.call(m, k);

/**
 * `ValidateSecret`, on the stored form (a `stringData` still present is merged first, so its
 * keys are reported under `data`, as upstream sees them): metadata of a namespaced object named
 * by a DNS-1123 subdomain; each `data` key valid; the decoded `data` at most
 * {@link MAX_SECRET_SIZE} (`data: Too long`); then the rules of the type:
 *
 * - `kubernetes.io/service-account-token`: annotation `kubernetes.io/service-account.name` required;
 * - `kubernetes.io/dockercfg` / `kubernetes.io/dockerconfigjson`: `.dockercfg` /
 *   `.dockerconfigjson` required and a JSON object (Go's `json.Unmarshal` error otherwise);
 * - `kubernetes.io/basic-auth`: `username` or `password` required (both reported when neither);
 * - `kubernetes.io/ssh-auth`: a non-empty `ssh-privatekey` required;
 * - `kubernetes.io/tls`: `tls.crt` and `tls.key` required;
 * - any other type, `bootstrap.kubernetes.io/token` included: nothing more (the API server
 *   checks nothing else; a bootstrap token is checked where it is used).
 */
export function validateSecret(secret: Secret): FieldError[] {
  const s = secret.stringData === undefined ? secret : prepareSecretForStore(secret);
  const errs = validateObjectMeta(s.metadata, { namespaced: true, name: nameIsSubdomain });
  const data = s.data ?? {};
  let total = 0;
  for (const k of sortedKeys(data)) {
    for (const m of isConfigMapKey(k)) errs.push(fieldErrors.invalid(dataPath(k), k, m));
    total += base64ByteLength(data[k] ?? '');
  }
  if (total > MAX_SECRET_SIZE) errs.push(fieldErrors.tooLong('data', MAX_SECRET_SIZE));
  errs.push(...validateSecretType(s, data));
  return errs;
}

/** The per-type rules of `ValidateSecret`. */
function validateSecretType(s: Secret, data: Readonly<Record<string, string>>): FieldError[] {
  const required = (k: string): FieldError => fieldErrors.required(dataPath(k), '');
  switch (s.type ?? '') {
    case SECRET_TYPES.ServiceAccountToken:
      return s.metadata?.annotations?.[SECRET_KEYS.serviceAccountName]
        ? []
        : [fieldErrors.required(`metadata.annotations[${SECRET_KEYS.serviceAccountName}]`, '')];
    case SECRET_TYPES.Dockercfg:
    case SECRET_TYPES.DockerConfigJSON: {
      const key = s.type === SECRET_TYPES.Dockercfg ? SECRET_KEYS.dockercfg : SECRET_KEYS.dockerConfigJSON;
      if (!has(data, key)) return [required(key)];
      const decoded = base64Decode(data[key] ?? '');
      const err = goJsonObjectError(decoded.ok ? decoded.bytes : new Uint8Array());
      return err === undefined ? [] : [fieldErrors.invalid(dataPath(key), REDACTED, err)];
    }
    case SECRET_TYPES.BasicAuth:
      if (has(data, SECRET_KEYS.basicAuthUsername) || has(data, SECRET_KEYS.basicAuthPassword)) return [];
      return [required(SECRET_KEYS.basicAuthUsername), required(SECRET_KEYS.basicAuthPassword)];
    case SECRET_TYPES.SSHAuth:
      return base64ByteLength(data[SECRET_KEYS.sshPrivateKey] ?? '') === 0 ? [required(SECRET_KEYS.sshPrivateKey)] : [];
    case SECRET_TYPES.TLS:
      return [SECRET_KEYS.tlsCert, SECRET_KEYS.tlsKey].filter((k) => !has(data, k)).map(required);
    default:
      return [];
  }
}

/**
 * `ValidateSecretUpdate` (the strategy's whole `ValidateUpdate`), on the stored forms: the
 * metadata update rules; `type` immutable (`type: Invalid value: "Opaque": field is
 * immutable`, which an update omitting the type of a typed secret meets, as upstream: the
 * default `Opaque` applies first); when `cur` is immutable, `immutable` must stay true and
 * `data` unchanged (a change through `stringData` shows as one of `data`), each a `Forbidden`
 * {@link IMMUTABLE_WHEN_SET}; then {@link validateSecret} of `next`.
 */
export function validateSecretUpdate(next: Secret, cur: Secret): FieldError[] {
  const n = prepareSecretForStore(next);
  const c = prepareSecretForStore(cur);
  const errs = validateObjectMetaUpdate(n.metadata, c.metadata);
  errs.push(...validateImmutableField(n.type, c.type, 'type'));
  if (c.immutable === true) {
    if (n.immutable !== true) errs.push(fieldErrors.forbidden('immutable', IMMUTABLE_WHEN_SET));
    if (!sameStringMap(n.data, c.data)) errs.push(fieldErrors.forbidden('data', IMMUTABLE_WHEN_SET));
  }
  errs.push(...validateSecret(n));
  return errs;
}
