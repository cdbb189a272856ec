/**
 * Schema-driven decoding of protobuf messages into the JSON value Go's `encoding/json` writes
 * for the same Go struct: absent scalars are their zero value, absent pointers, slices and maps
 * nil (`null`, or left out under `omitempty`), structs always present (but under `omitzero`),
 * `[]byte` as base64, map keys as sent (the last of a repeated key wins, as in Go).
 *
 * Protobuf semantics kept: unknown field numbers are skipped by wire type; a singular field
 * seen twice takes the last value, a message field seen twice merges (decoded as the
 * concatenation of its occurrences); repeated numbers are accepted packed or not.
 *
 * Bounds: nesting (JSON levels, checked before each level is built; the schema has no cycles,
 * so recursion is as deep as the schema, and FieldsV1's embedded JSON is scanned first),
 * every length against its enclosing message, and the size of the produced JSON (a 2-byte
 * empty element can stand for an object with several default fields): decoding stops once the
 * JSON would exceed its budget.
 */
import type { FieldSpec, GoValues, MessageSpec, Scalar } from './schema.js';
import { messageSpec, tooDeep } from './schema.js';
import { ProtobufDecodeError, toBool, toInt32, toInt64, WIRE, WireReader, type Varint } from './wire.js';

/** Bytes of a length-delimited value in the message's buffer. */
export interface Range {
  start: number;
  end: number;
}

/** One occurrence of a field: a varint, or the bytes of a string, `bytes` or message. */
type Occurrence = Varint | Range;

/** The occurrences of each known field of one message, by field number. */
type Scanned = Map<number, Occurrence[]>;

/** A decoded value and whether it is Go's zero value (for `omitzero` of the enclosing struct). */
interface Decoded {
  json: unknown;
  zero: boolean;
}

/** A field's contribution to its message: the value, or left out. */
interface FieldValue extends Decoded {
  omit: boolean;
}

function isRange(o: Occurrence): o is Range {
  return typeof o === 'object';
}

/** The Go type name, as gogo's errors name a message (`ObjectMeta`, not `meta.ObjectMeta`). */
function goName(spec: MessageSpec): string {
  return spec.name.slice(spec.name.lastIndexOf('.') + 1);
}

/** Sets an own property even for `__proto__` (a map key is the client's text). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** A body's envelope. */
export interface Envelope {
  /** '' when the body did not say. */
  apiVersion: string;
  kind: string;
  /** The object's own encoding (undefined when absent). */
  raw: Range | undefined;
}

/** Options of {@link MessageDecoder}. */
export interface MessageDecoderOptions {
  /** JSON nesting bound (the top-level object is level 1). */
  maxDepth: number;
  /** The produced JSON may be about this many bytes. */
  maxJsonBytes: number;
}

/** Decodes messages of one body; it keeps the body's JSON budget, so use one per body. */
export class MessageDecoder {
  private left: number;

  constructor(private readonly opts: MessageDecoderOptions) {
    this.left = opts.maxJsonBytes;
  }

  /** The envelope (`runtime.Unknown`) in `buf[start..end)`: the kind, the apiVersion and the object's bytes. */
  envelope(buf: Buffer, start: number, end: number): Envelope {
    const env = this.scan(messageSpec('runtime.Unknown'), buf, start, end);
    const typeMeta = this.message(messageSpec('runtime.TypeMeta'), buf, (env.get(1) ?? []) as Range[], 1).json as { apiVersion?: string; kind?: string };
    const raw = env.get(2)?.at(-1);
    return { apiVersion: typeMeta.apiVersion ?? '', kind: typeMeta.kind ?? '', raw: raw as Range | undefined };
  }

  /** The top-level JSON object of message `spec` encoded in `raw` (undefined: no bytes, the zero object). */
  object(spec: MessageSpec, buf: Buffer, raw: Range | undefined): Record<string, unknown> {
    return this.message(spec, buf, raw ? [raw] : [], 1).json as Record<string, unknown>;
  }

  /** The occurrences of the known fields of `spec` in `buf[start..end)`, unknown fields skipped. */
  private scan(spec: MessageSpec, buf: Buffer, start: number, end: number): Scanned {
    const r = new WireReader(buf, start, end);
    const out: Scanned = new Map();
    while (!r.done()) {
      const { field, wire } = r.tag();
      if (wire === WIRE.endGroup) throw new ProtobufDecodeError(`proto: ${goName(spec)}: wiretype end group for non-group`);
      if (field <= 0) throw new ProtobufDecodeError(`proto: ${goName(spec)}: illegal tag ${field} (wire type ${wire})`);
      const f = spec.byNumber.get(field);
      if (!f) {
        r.skip(wire);
        continue;
      }
      let list = out.get(field);
      if (!list) out.set(field, (list = []));
      // A singular scalar keeps only its last value; every occurrence of a message may merge.
      const keep = f.card === 'list' || f.card === 'map' || (f.message !== undefined && !messageSpec(f.message).custom?.replace);
      if (!keep) list.length = 0;
      const numeric = f.scalar === 'bool' || f.scalar === 'int32' || f.scalar === 'int64';
      if (numeric && wire === WIRE.varint) list.push(r.varint());
      else if (numeric && wire === WIRE.bytes && f.card === 'list') {
        const packed = r.delimited();
        const p = new WireReader(buf, packed.start, packed.end);
        while (!p.done()) list.push(p.varint());
      } else if (!numeric && wire === WIRE.bytes) list.push(r.delimited());
      else throw new ProtobufDecodeError(`proto: wrong wireType = ${wire} for field ${f.name}`);
    }
    return out;
  }

  /**
   * The JSON value of message `spec` from its occurrences (`ranges` in `buf`; none for an
   * absent struct) at nesting level `level`.
   */
  private message(spec: MessageSpec, buf: Buffer, ranges: readonly Range[], level: number): Decoded {
    let b = buf;
    let range: Range = { start: 0, end: 0 };
    const last = ranges[ranges.length - 1];
    if (last !== undefined && (ranges.length === 1 || spec.custom?.replace)) range = last;
    else if (ranges.length > 1) {
      b = Buffer.concat(ranges.map((r) => buf.subarray(r.start, r.end)));
      range = { start: 0, end: b.length };
    }
    if (spec.custom) {
      const scanned = this.scan(spec, b, range.start, range.end);
      const v = this.goValues(spec, b, scanned);
      const empty = range.end === range.start;
      const json = spec.custom.json(v, empty, { level, maxDepth: this.opts.maxDepth });
      this.charge(typeof json === 'string' ? json.length + 2 : range.end - range.start + 8);
      return { json, zero: spec.custom.isZero(v, empty) };
    }
    if (level > this.opts.maxDepth) throw tooDeep(this.opts.maxDepth);
    const scanned = this.scan(spec, b, range.start, range.end);
    const obj: Record<string, unknown> = {};
    this.charge(2);
    let zero = true;
    for (const f of spec.fields) {
      const occ = scanned.get(f.no);
      if (occ === undefined && f.omitWhenAbsent) continue;
      const v = this.field(f, b, occ, level);
      if (!v.zero) zero = false;
      if (v.omit) continue;
      if (f.inline) {
        // Go's rule for an embedded struct: its fields join the parent's, the parent's own win.
        for (const [k, x] of Object.entries(v.json as Record<string, unknown>)) if (!Object.hasOwn(obj, k)) obj[k] = x;
        continue;
      }
      this.charge(f.name.length + 4);
      obj[f.name] = v.json;
    }
    return { json: obj, zero };
  }

  /** One field of a message at `level` from its occurrences. */
  private field(f: FieldSpec, buf: Buffer, occ: readonly Occurrence[] | undefined, level: number): FieldValue {
    const absent = occ === undefined || occ.length === 0;
    if (f.card === 'one' && f.scalar !== undefined) {
      const last = occ?.[occ.length - 1];
      const json = last === undefined ? (f.scalar === 'bytes' ? null : zeroOf(f.scalar)) : this.scalar(f.scalar, buf, last);
      const empty = json === null || json === '' || json === 0 || json === false;
      return { json, zero: empty, omit: (f.omitEmpty || f.omitZero) && empty };
    }
    if (f.card === 'one') {
      const d = this.message(messageSpec(f.message as string), buf, (occ ?? []) as Range[], f.inline ? level : level + 1);
      return { json: d.json, zero: d.zero, omit: f.omitZero && d.zero };
    }
    if (absent) return { json: null, zero: true, omit: f.omitEmpty || f.omitZero };
    if (f.card === 'ptr') {
      if (f.scalar !== undefined) return { json: this.scalar(f.scalar, buf, occ[occ.length - 1] as Occurrence), zero: false, omit: false };
      return { json: this.message(messageSpec(f.message as string), buf, occ as Range[], level + 1).json, zero: false, omit: false };
    }
    if (level + 1 > this.opts.maxDepth) throw tooDeep(this.opts.maxDepth);
    if (f.card === 'list') {
      const items: unknown[] = [];
      this.charge(2);
      if (f.scalar !== undefined) for (const o of occ) items.push(this.scalar(f.scalar, buf, o));
      else {
        const spec = messageSpec(f.message as string);
        for (const o of occ) items.push(this.message(spec, buf, [o as Range], level + 1).json);
      }
      return { json: items, zero: false, omit: false };
    }
    return { json: this.map(f, buf, occ as Range[], level), zero: false, omit: false };
  }

  /** A map's entries (key 1, value 2; a missing key or value is its zero value, as Go decodes it). */
  private map(f: FieldSpec, buf: Buffer, entries: readonly Range[], level: number): Record<string, unknown> {
    const entry = f.entry as MessageSpec;
    const obj: Record<string, unknown> = {};
    this.charge(2);
    for (const e of entries) {
      const scanned = this.scan(entry, buf, e.start, e.end);
      const k = scanned.get(1)?.at(-1);
      const key = k === undefined ? '' : (this.scalar('string', buf, k) as string);
      const v = scanned.get(2)?.at(-1);
      let value: unknown;
      if (f.scalar !== undefined) value = v === undefined ? (f.scalar === 'bytes' ? '' : zeroOf(f.scalar)) : this.scalar(f.scalar, buf, v);
      else value = this.message(messageSpec(f.message as string), buf, v === undefined ? [] : [v as Range], level + 1).json;
      this.charge(4);
      setOwn(obj, key, value);
    }
    return obj;
  }

  /** A scalar's JSON value from one occurrence (the scan guarantees the occurrence fits the type). */
  private scalar(type: Scalar, buf: Buffer, o: Occurrence): string | number | boolean {
    if (isRange(o)) {
      const s = type === 'bytes' ? buf.toString('base64', o.start, o.end) : buf.toString('utf8', o.start, o.end);
      this.charge(s.length + 2);
      return s;
    }
    this.charge(8);
    if (type === 'bool') return toBool(o);
    return type === 'int32' ? toInt32(o) : toInt64(o);
  }

  /** The Go values of a message with its own JSON form (scalar fields only). */
  private goValues(spec: MessageSpec, buf: Buffer, scanned: Scanned): GoValues {
    const v: Record<string, GoValues[string]> = {};
    for (const f of spec.fields) {
      const occ = scanned.get(f.no);
      const scalar = f.scalar as Scalar;
      const last = occ?.at(-1);
      if (f.card === 'list') v[f.name] = occ && occ.length > 0 ? occ.map((o) => this.scalar(scalar, buf, o)) : undefined;
      else if (scalar === 'bytes') v[f.name] = last !== undefined && isRange(last) ? buf.subarray(last.start, last.end) : undefined;
      else v[f.name] = last === undefined ? zeroOf(scalar) : this.scalar(scalar, buf, last);
    }
    return v;
  }

  /** Counts produced JSON bytes against the budget. */
  private charge(n: number): void {
    this.left -= n;
    if (this.left < 0) throw new ProtobufDecodeError(`the decoded object exceeds ${this.opts.maxJsonBytes} bytes as JSON`);
  }
}

/** Go's zero value of a scalar in JSON (`bytes`: of an empty, non-nil slice). */
function zeroOf(type: Scalar): string | number | boolean {
  if (type === 'bool') return false;
  return type === 'string' || type === 'bytes' ? '' : 0;
}
