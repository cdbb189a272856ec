/**
 * The protobuf wire format, read without trusting the input: every length is checked against
 * the end of the enclosing message, varints stop after 10 bytes, groups are skipped without
 * recursion, and every failure is a {@link ProtobufDecodeError} whose text is the one Go's
 * generated decoders (gogo/protobuf, as used by the API server) give for the same input.
 */

/** The kind a body claims to be, once its envelope is read. */
export interface ProtobufTarget {
  kind: string;
  apiVersion: string;
}

/**
 * A body that is not a valid encoding of what it claims to be; the message is for the client.
 * `target` is the kind and apiVersion the envelope named, when the failure came after them.
 */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';

  constructor(
    message: string,
    readonly target?: ProtobufTarget,
  ) {
    super(message);
  }
}

/** Wire types (the low 3 bits of a tag). */
export const WIRE = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/**
 * A varint's value: a number when it came in at most 7 bytes (below 2^49, exact), otherwise
 * the low 64 bits as an unsigned bigint (Go's decoders drop the bits beyond 64 as well).
 */
export type Varint = number | bigint;

/** Go's `io.ErrUnexpectedEOF`, which the generated decoders return for any truncation. */
export const UNEXPECTED_EOF = 'unexpected EOF';

/** One field's tag. */
export interface Tag {
  /** `int32(tag >> 3)`, as Go computes it: a huge tag may wrap to any number, 0 or below is illegal. */
  field: number;
  wire: number;
}

/** Reads one message's bytes, `buf[pos..end)`. */
export class WireReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** True when the message has no more bytes. */
  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint of at most 10 bytes (`proto: integer overflow` beyond, `unexpected EOF` when cut). */
  varint(): Varint {
    let value = 0;
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return value;
    }
    let big = BigInt(value);
    for (let i = 7; i < 10; i++) {
      const b = this.byte();
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return BigInt.asUintN(64, big);
    }
    throw new ProtobufDecodeError('proto: integer overflow');
  }

  /** A field's tag. */
  tag(): Tag {
    const v = this.varint();
    if (typeof v === 'number') return { field: Math.floor(v / 8) | 0, wire: v % 8 };
    return { field: Number(BigInt.asIntN(32, v >> 3n)), wire: Number(v & 7n) };
  }

  /** The bounds of a length-delimited value, checked against the message's end. */
  delimited(): { start: number; end: number } {
    const n = this.varint();
    if (typeof n === 'bigint' && BigInt.asIntN(64, n) < 0n) throw new ProtobufDecodeError('proto: negative length found during unmarshaling');
    const len = Number(n);
    if (len > this.end - this.pos) throw new ProtobufDecodeError(UNEXPECTED_EOF);
    const start = this.pos;
    this.pos += len;
    return { start, end: this.pos };
  }

  /**
   * Skips the value of a field this reader does not know, by its wire type, as protobuf does.
   * A group is skipped to its matching end, counting nesting instead of recursing.
   */
  skip(wire: number): void {
    let depth = 0;
    for (;;) {
      switch (wire) {
        case WIRE.varint:
          this.varint();
          break;
        case WIRE.fixed64:
          this.advance(8);
          break;
        case WIRE.bytes:
          this.delimited();
          break;
        case WIRE.startGroup:
          depth++;
          break;
        case WIRE.endGroup:
          if (depth === 0) throw new ProtobufDecodeError('proto: unexpected end of group');
          depth--;
          break;
        case WIRE.fixed32:
          this.advance(4);
          break;
        default:
          throw new ProtobufDecodeError(`proto: illegal wireType ${wire}`);
      }
      if (depth === 0) return;
      if (this.done()) throw new ProtobufDecodeError(UNEXPECTED_EOF);
      wire = this.tag().wire;
    }
  }

  private byte(): number {
    if (this.pos >= this.end) throw new ProtobufDecodeError(UNEXPECTED_EOF);
    return this.buf[this.pos++] as number;
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new ProtobufDecodeError(UNEXPECTED_EOF);
    this.pos += n;
  }
}

/** A varint as Go's `int32` conversion reads it: the low 32 bits, signed. */
export function toInt32(v: Varint): number {
  return typeof v === 'number' ? v | 0 : Number(BigInt.asIntN(32, v));
}

/**
 * A varint as Go's `int64`: the low 64 bits, signed, as a JavaScript number (beyond 2^53 it
 * rounds, as `JSON.parse` rounds such a literal in a JSON body).
 */
export function toInt64(v: Varint): number {
  return typeof v === 'number' ? v : Number(BigInt.asIntN(64, v));
}

/** A varint as Go's `bool`: anything but 0 is true. */
export function toBool(v: Varint): boolean {
  return typeof v === 'number' ? v !== 0 : v !== 0n;
}
