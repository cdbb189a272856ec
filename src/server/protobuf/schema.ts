/**
 * The schema the protobuf decoder walks: the field table of `messages.ts` compiled once, the
 * few messages whose JSON form is their own (metav1.Time is an RFC 3339 string, a Quantity a
 * string, an IntOrString either, FieldsV1 embedded JSON, ExtraValue a list), the envelope
 * (`runtime.Unknown`) and the kinds a body may carry.
 */
import { scanJson } from '../../api/json-scan.js';
import { MESSAGES } from './messages.js';
import { ProtobufDecodeError } from './wire.js';

/** The scalar types of the table (`bytes` is Go's `[]byte`). */
export type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64';

/** How a field holds its type: a value, a pointer (nil when absent), a slice, a map with string keys. */
export type Cardinality = 'one' | 'ptr' | 'list' | 'map';

/** One field of a message. */
export interface FieldSpec {
  /** Field number. */
  readonly no: number;
  /** JSON (and proto) name. */
  readonly name: string;
  readonly card: Cardinality;
  /** The scalar type (of the element or map value for `list` and `map`); undefined for a message. */
  readonly scalar: Scalar | undefined;
  /** The message type's name (of the element or map value for `list` and `map`); undefined for a scalar. */
  readonly message: string | undefined;
  /** Go's `omitempty`: false, 0, "", nil and empty slices and maps are left out of the JSON. */
  readonly omitEmpty: boolean;
  /** Go's `omitzero`: a zero value (for metav1.Time: `IsZero()`) is left out of the JSON. */
  readonly omitZero: boolean;
  /** An embedded struct: its JSON fields are the parent's. */
  readonly inline: boolean;
  /** Absent on the wire, the field is left out of the JSON (a zero scalar, nil pointer, slice or map under omitempty/omitzero). */
  readonly omitWhenAbsent: boolean;
  /** For a map: its entry message (key 1, value 2). */
  readonly entry: MessageSpec | undefined;
}

/** Go values of a message with its own JSON form: scalars by field name (an absent slice or `bytes` is undefined). */
export type GoValues = Readonly<Record<string, string | number | boolean | Buffer | readonly unknown[] | undefined>>;

/** Where a value sits in the JSON document (for the nesting bound). */
export interface JsonPlace {
  /** The value's nesting level (the top-level object is level 1). */
  level: number;
  maxDepth: number;
}

/** The JSON form of a message that is not the plain mapping of its fields. */
export interface CustomJson {
  /**
   * A later occurrence of the field replaces an earlier one (a hand-written Go `Unmarshal`, as
   * metav1.Time and Quantity have); otherwise occurrences merge, as protobuf merges messages.
   */
  readonly replace: boolean;
  /** The JSON value; `empty` is true when the message had no bytes at all (absent or zero length). */
  json(v: GoValues, empty: boolean, at: JsonPlace): unknown;
  /** Go's zero test of the value, for `omitzero`. */
  isZero(v: GoValues, empty: boolean): boolean;
}

/** A message. */
export interface MessageSpec {
  /** The table's name (`PodSpec`, `meta.ObjectMeta`). */
  readonly name: string;
  /** Fields in the Go struct's order, the order of the JSON encoding. */
  readonly fields: readonly FieldSpec[];
  readonly byNumber: ReadonlyMap<number, FieldSpec>;
  readonly custom: CustomJson | undefined;
}

/** A kind a protobuf body may carry. */
export interface KindSpec {
  /** Its message in the table. */
  readonly message: string;
  /** The `apiVersion`s it is registered for; undefined for any (DeleteOptions is registered in every group version). */
  readonly apiVersions: readonly string[] | undefined;
}

/**
 * The kinds podvisor decodes from protobuf: those `kubectl` sends typed (create namespace,
 * configmap and secret, auth whoami and can-i) and those podvisor serves, plus DeleteOptions.
 */
export const PROTOBUF_KINDS: Readonly<Record<string, KindSpec>> = {
  Namespace: { message: 'Namespace', apiVersions: ['v1'] },
  ConfigMap: { message: 'ConfigMap', apiVersions: ['v1'] },
  Secret: { message: 'Secret', apiVersions: ['v1'] },
  Pod: { message: 'Pod', apiVersions: ['v1'] },
  SelfSubjectReview: { message: 'authn.SelfSubjectReview', apiVersions: ['authentication.k8s.io/v1'] },
  SelfSubjectAccessReview: { message: 'authz.SelfSubjectAccessReview', apiVersions: ['authorization.k8s.io/v1'] },
  DeleteOptions: { message: 'meta.DeleteOptions', apiVersions: undefined },
};

/** `time.Time{}.Unix()`: the seconds of Go's zero time, January 1, year 1, UTC. */
const ZERO_TIME_SECONDS = -62135596800;
/** The seconds RFC 3339 can write: years 0000 to 9999. */
const MIN_RFC3339_SECONDS = -62167219200;
const MAX_RFC3339_SECONDS = 253402300799;

/**
 * metav1.Time: `{seconds, nanos}` on the wire; in JSON `null` when zero, otherwise RFC 3339 in
 * UTC with whole seconds (Go's `Unmarshal` drops the nanoseconds, as JSON never carried them).
 */
const TIME: CustomJson = {
  replace: true,
  json(v, empty) {
    const s = v['seconds'] as number;
    if (empty || s === ZERO_TIME_SECONDS) return null;
    if (!(s >= MIN_RFC3339_SECONDS && s <= MAX_RFC3339_SECONDS)) throw new ProtobufDecodeError(`time ${s}s since the epoch is outside the years 0000 to 9999 that RFC 3339 can write`);
    return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  },
  isZero: (v, empty) => empty || v['seconds'] === ZERO_TIME_SECONDS,
};

/**
 * resource.Quantity: its canonical string (which the client's encoder wrote); a zero Quantity
 * is "0". Whether the string is a valid quantity is for validation to say, as for JSON.
 */
const QUANTITY: CustomJson = {
  replace: true,
  json: (v, empty) => (empty ? '0' : v['string']),
  isZero: (_v, empty) => empty,
};

/** intstr.IntOrString: `type` 0 is the integer `intVal`, 1 the string `strVal`. */
const INT_OR_STRING: CustomJson = {
  replace: false,
  json(v) {
    if (v['type'] === 0) return v['intVal'];
    if (v['type'] === 1) return v['strVal'];
    throw new ProtobufDecodeError('impossible IntOrString.Type');
  },
  isZero: (v) => v['type'] === 0 && v['intVal'] === 0 && v['strVal'] === '',
};

/** metav1.FieldsV1: `Raw` is JSON text, embedded as it is; `null` when empty. */
const FIELDS_V1: CustomJson = {
  replace: false,
  json(v, _empty, at) {
    const raw = v['Raw'] as Buffer | undefined;
    if (raw === undefined || raw.length === 0) return null;
    const text = raw.toString('utf8');
    if (scanJson(text, { maxDepth: at.maxDepth - at.level + 1 }).tooDeep) throw tooDeep(at.maxDepth);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ProtobufDecodeError(`json: error calling MarshalJSON for type *v1.FieldsV1: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)}`);
    }
  },
  isZero: (v) => v['Raw'] === undefined,
};

/** authentication/authorization ExtraValue: a `[]string` wrapped in a message; nil is `null`. */
const EXTRA_VALUE: CustomJson = {
  replace: false,
  json(v, _empty, at) {
    if (at.level > at.maxDepth) throw tooDeep(at.maxDepth);
    return v['items'] ?? null;
  },
  isZero: (v) => v['items'] === undefined,
};

/** The messages with their own JSON form: wire fields (same notation as `messages.ts`) and JSON. */
const CUSTOM: Readonly<Record<string, { fields: readonly string[]; json: CustomJson }>> = {
  'meta.Time': { fields: ['1 seconds int64', '2 nanos int32'], json: TIME },
  'meta.FieldsV1': { fields: ['1 Raw bytes'], json: FIELDS_V1 },
  'resource.Quantity': { fields: ['1 string string'], json: QUANTITY },
  'intstr.IntOrString': { fields: ['1 type int64', '2 intVal int32', '3 strVal string'], json: INT_OR_STRING },
  'authn.ExtraValue': { fields: ['1 items []string'], json: EXTRA_VALUE },
  'authz.ExtraValue': { fields: ['1 items []string'], json: EXTRA_VALUE },
};

/**
 * The envelope of every body (k8s.io/apimachinery/pkg/runtime `Unknown`): the kind and
 * apiVersion, and the object's own encoding in `raw`.
 */
export const ENVELOPE: Readonly<Record<string, readonly string[]>> = {
  'runtime.Unknown': ['1 typeMeta runtime.TypeMeta', '2 raw bytes', '3 contentEncoding string', '4 contentType string'],
  'runtime.TypeMeta': ['1 apiVersion string omitempty', '2 kind string omitempty'],
};

/** The nesting error, worded as for JSON and YAML bodies. */
export function tooDeep(maxDepth: number): ProtobufDecodeError {
  return new ProtobufDecodeError(`exceeded max depth (podvisor accepts at most ${maxDepth} levels of nesting)`);
}

const SCALARS: ReadonlySet<string> = new Set<Scalar>(['string', 'bytes', 'bool', 'int32', 'int64']);
const OPTIONS: ReadonlySet<string> = new Set(['omitempty', 'omitzero', 'inline']);

/** One field of the table's notation; throws on a malformed entry (a broken table is a bug, found at load). */
export function compileField(owner: string, text: string): FieldSpec {
  const bad = (why: string): Error => new Error(`protobuf schema ${owner}: field '${text}': ${why}`);
  const [num, name, type, opts = '', ...rest] = text.split(' ');
  if (num === undefined || name === undefined || type === undefined || rest.length > 0) throw bad('expected "<number> <name> <type> [<options>]"');
  const no = Number(num);
  if (!Number.isInteger(no) || no <= 0 || no >= 2 ** 29) throw bad('bad field number');
  const options = opts === '' ? [] : opts.split(',');
  for (const o of options) if (!OPTIONS.has(o)) throw bad(`unknown option ${o}`);
  let card: Cardinality = 'one';
  let base = type;
  if (type.startsWith('*')) [card, base] = ['ptr', type.slice(1)];
  else if (type.startsWith('[]')) [card, base] = ['list', type.slice(2)];
  else if (type.startsWith('map[string]')) [card, base] = ['map', type.slice('map[string]'.length)];
  if (/[*[\]]/.test(base) || base === '') throw bad('bad type');
  const scalar = SCALARS.has(base) ? (base as Scalar) : undefined;
  const inline = options.includes('inline');
  if (inline && (card !== 'one' || scalar !== undefined)) throw bad('only a message value can be inline');
  const field = {
    no,
    name,
    card,
    scalar,
    message: scalar === undefined ? base : undefined,
    omitEmpty: options.includes('omitempty'),
    omitZero: options.includes('omitzero'),
    inline,
    omitWhenAbsent: (card !== 'one' || scalar !== undefined) && (options.includes('omitempty') || options.includes('omitzero')),
  };
  const entry = card === 'map' ? compileMessage(`${owner}.${name}Entry`, ['1 key string', `2 value ${base}`], undefined) : undefined;
  return { ...field, entry };
}

function compileMessage(name: string, fields: readonly string[], custom: CustomJson | undefined): MessageSpec {
  const list = fields.map((f) => compileField(name, f));
  const byNumber = new Map<number, FieldSpec>();
  for (const f of list) {
    if (byNumber.has(f.no)) throw new Error(`protobuf schema ${name}: field number ${f.no} twice`);
    byNumber.set(f.no, f);
  }
  return { name, fields: list, byNumber, custom };
}

function compileAll(): ReadonlyMap<string, MessageSpec> {
  const all = new Map<string, MessageSpec>();
  for (const [name, fields] of [...Object.entries(MESSAGES), ...Object.entries(ENVELOPE)]) all.set(name, compileMessage(name, fields, undefined));
  for (const [name, c] of Object.entries(CUSTOM)) all.set(name, compileMessage(name, c.fields, c.json));
  for (const m of all.values()) {
    for (const f of [...m.fields, ...(m.fields.flatMap((x) => x.entry?.fields ?? []))]) {
      if (f.message !== undefined && !all.has(f.message)) throw new Error(`protobuf schema ${m.name}: field ${f.name}: unknown message ${f.message}`);
    }
  }
  return all;
}

/** Every message of the schema by name, compiled once. */
export const SCHEMA: ReadonlyMap<string, MessageSpec> = compileAll();

/** The message named `name` (the name is the schema's own: a missing one is a bug). */
export function messageSpec(name: string): MessageSpec {
  const m = SCHEMA.get(name);
  if (!m) throw new Error(`protobuf schema: no message ${name}`);
  return m;
}
