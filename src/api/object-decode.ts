/**
 * Typed decoding of the simple core/v1 kinds (Namespace, ConfigMap, Secret) from an untyped
 * JSON value, with the conventions of the Pod decoder (`decode.ts`):
 *
 * - a value of the wrong JSON type is a field error `<path>: Invalid value: <value>: must be of
 *   type <type>` (type `TypeInvalid`, cause reason `FieldValueTypeInvalid`), where the API server
 *   would answer 400 `json: cannot unmarshal ...`; the value is dropped;
 * - a `[]byte` field (Secret `data`, ConfigMap `binaryData`) must hold standard base64; a bad
 *   one is the same kind of error with Go's text, `illegal base64 data at input byte N`, and a
 *   good one is rewritten in canonical form (the API server keeps the bytes and writes them
 *   back that way: line breaks dropped, unused bits cleared);
 * - an unknown field is a warning `unknown field "spec.foo"` and is dropped;
 * - `null` means absent, as in Go.
 *
 * Values of secret fields are never shown: their errors show `"<secret contents redacted>"`, as
 * the API server's Secret validation does. Decoding never throws; the schemas are finite, so
 * recursion is bounded, and opaque values (`fieldsV1`) are not descended.
 */
import { badValue, isPlainObject } from './decode.js';
import { fieldErrors, type FieldError } from './errors.js';
import { base64Decode, base64Encode } from './go-encoding.js';

/** The shape of a field, enough to type-check it. */
export type Schema =
  | { t: 'string'; redact?: boolean }
  | { t: 'bool' }
  | { t: 'int64' }
  /** Any JSON value, kept as is and not descended. */
  | { t: 'any' }
  /** A Go `[]byte`: a base64 string on the wire. */
  | { t: 'bytes'; redact: boolean }
  | { t: 'array'; of: Schema }
  | { t: 'map'; of: Schema }
  | { t: 'object'; fields: Readonly<Record<string, Schema>> };

/** Schema constructors. */
export const schema = {
  str: { t: 'string' } as Schema,
  secretStr: { t: 'string', redact: true } as Schema,
  bool: { t: 'bool' } as Schema,
  int64: { t: 'int64' } as Schema,
  any: { t: 'any' } as Schema,
  bytes: (redact: boolean): Schema => ({ t: 'bytes', redact }),
  arr: (of: Schema): Schema => ({ t: 'array', of }),
  map: (of: Schema): Schema => ({ t: 'map', of }),
  obj: (fields: Record<string, Schema>): Schema => ({ t: 'object', fields }),
};

const { str, bool, int64, arr, map, obj } = schema;

/** meta/v1 `ObjectMeta`, every field (the server-owned ones are kept: the registry decides about them). */
export const OBJECT_META_SCHEMA: Schema = obj({
  name: str,
  generateName: str,
  namespace: str,
  selfLink: str,
  uid: str,
  resourceVersion: str,
  generation: int64,
  creationTimestamp: str,
  deletionTimestamp: str,
  deletionGracePeriodSeconds: int64,
  labels: map(str),
  annotations: map(str),
  ownerReferences: arr(obj({ apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool })),
  finalizers: arr(str),
  managedFields: arr(obj({ manager: str, operation: str, apiVersion: str, time: str, fieldsType: str, fieldsV1: schema.any, subresource: str })),
});

/** What an error shows in place of a secret value. */
export const REDACTED = '<secret contents redacted>';

/** At most this many errors, and as many warnings, per object (as `decode.ts`'s `MAX_DECODE_FINDINGS`). */
export const MAX_OBJECT_DECODE_FINDINGS = 1000;

/** Result of {@link decodeObject}. */
export interface ObjectDecodeResult<T> {
  /** The object: every present field has its declared JSON type; values are not validated. */
  object: T;
  /** Type errors (and bad base64), each with its field path (`""` when the body is not an object). */
  errors: FieldError[];
  /** `unknown field "<path>"` for each unknown field, which is dropped. */
  warnings: string[];
  /** Some value had the wrong type: the API server refuses such a body before validating it. */
  typeErrors: boolean;
}

interface Ctx {
  errors: FieldError[];
  warnings: string[];
  typeErrors: number;
}

const TYPE_NAME: Record<Schema['t'], string> = {
  string: 'string',
  bool: 'boolean',
  int64: 'int64',
  any: 'any',
  bytes: 'string',
  array: 'array',
  map: 'object',
  object: 'object',
};

/** The offending value as an error shows it. */
function shown(v: unknown, redact: boolean): unknown {
  return redact ? REDACTED : badValue(v);
}

function report<T>(list: T[], item: T): void {
  if (list.length < MAX_OBJECT_DECODE_FINDINGS) list.push(item);
}

function typeError(ctx: Ctx, path: string, v: unknown, s: Schema, redact = false): undefined {
  ctx.typeErrors++;
  report(ctx.errors, fieldErrors.typeInvalid(path, shown(v, redact), `must be of type ${TYPE_NAME[s.t]}`));
  return undefined;
}

function decodeValue(v: unknown, s: Schema, path: string, ctx: Ctx, redact: boolean): unknown {
  if (v === null || v === undefined) return undefined;
  switch (s.t) {
    case 'string':
      return typeof v === 'string' ? v : typeError(ctx, path, v, s, redact || s.redact === true);
    case 'bool':
      return typeof v === 'boolean' ? v : typeError(ctx, path, v, s, redact);
    case 'int64':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : typeError(ctx, path, v, s, redact);
    case 'any':
      return v;
    case 'bytes': {
      if (typeof v !== 'string') return typeError(ctx, path, v, s, redact || s.redact);
      const r = base64Decode(v);
      if (r.ok) return base64Encode(r.bytes);
      ctx.typeErrors++;
      report(ctx.errors, fieldErrors.typeInvalid(path, shown(v, redact || s.redact), r.error));
      return undefined;
    }
    case 'array': {
      if (!Array.isArray(v)) return typeError(ctx, path, v, s, redact);
      // A bad element is kept as its type's zero value, as Go leaves it.
      return v.map((item, i) => decodeValue(item, s.of, `${path}[${i}]`, ctx, redact) ?? zeroOf(s.of));
    }
    case 'map': {
      if (!isPlainObject(v)) return typeError(ctx, path, v, s, redact);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        const d = decodeValue(v[k], s.of, `${path}[${k}]`, ctx, redact);
        // defineProperty: a key such as `__proto__` stays an ordinary entry.
        Object.defineProperty(out, k, { value: d ?? zeroOf(s.of), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'object': {
      if (!isPlainObject(v)) return typeError(ctx, path, v, s, redact);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        const p = path === '' ? k : `${path}.${k}`;
        const fs = Object.prototype.hasOwnProperty.call(s.fields, k) ? s.fields[k] : undefined;
        if (fs === undefined) {
          report(ctx.warnings, `unknown field ${JSON.stringify(p)}`);
          continue;
        }
        const d = decodeValue(v[k], fs, p, ctx, redact);
        if (d !== undefined) out[k] = d;
      }
      return out;
    }
  }
}

function zeroOf(s: Schema): unknown {
  switch (s.t) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    case 'int64':
      return 0;
    case 'any':
      return null;
    case 'array':
      return [];
    case 'map':
    case 'object':
      return {};
  }
}

/**
 * Decodes `value` (one parsed JSON/YAML document) with the object schema `root`, which must
 * have `apiVersion`, `kind` and `metadata` fields. Never throws. `apiVersion` and `kind` are
 * only type-checked (the caller checks their values) and are set to the given ones in the
 * result; `metadata` is always present (possibly empty).
 */
export function decodeObject<T>(value: unknown, root: Schema, apiVersion: string, kind: string): ObjectDecodeResult<T> {
  const ctx: Ctx = { errors: [], warnings: [], typeErrors: 0 };
  let decoded: Record<string, unknown> = {};
  if (!isPlainObject(value)) typeError(ctx, '', value, root);
  else {
    const d = decodeValue(value, root, '', ctx, false);
    if (isPlainObject(d)) decoded = d;
  }
  const { apiVersion: _v, kind: _k, metadata, ...rest } = decoded;
  const object = { apiVersion, kind, metadata: isPlainObject(metadata) ? metadata : {}, ...rest } as unknown as T;
  return { object, errors: ctx.errors, warnings: ctx.warnings, typeErrors: ctx.typeErrors > 0 };
}
