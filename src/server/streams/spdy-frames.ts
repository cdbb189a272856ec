/**
 * SPDY/3 framing, the wire format under Kubernetes' SPDY streaming (`kubectl exec/attach/cp`
 * fallback and `kubectl port-forward`), as Go's `github.com/moby/spdystream/spdy` reads and
 * writes it: an incremental {@link FrameParser} (bytes in, frames out, however the bytes are
 * split) and {@link serializeFrame}. The name/value header blocks with their zlib contexts are in
 * spdy-headers.ts, the shared constants, limits and error in spdy-protocol.ts; both are
 * re-exported here, so this module still offers the whole SPDY/3 wire format.
 *
 * Bounds (see {@link DEFAULT_FRAME_LIMITS}): control frames are buffered whole, so their length is
 * capped; DATA payloads are never buffered whole but handed on as they arrive, so a DATA frame
 * may use the full 24-bit length spdystream allows (one frame per `Write` call of any size up to
 * 16 MiB − 1) without costing memory. Every malformed input yields a {@link SpdyProtocolError}.
 */
import {
  ControlType, DEFAULT_FRAME_LIMITS, FLAG_FIN, MAX_FRAME_PAYLOAD, MAX_STREAM_ID, SPDY_VERSION, SpdyProtocolError, words,
  type FrameLimits,
} from './spdy-protocol.js';

export {
  ControlType, DEFAULT_FRAME_LIMITS, FLAG_CLEAR_SETTINGS, FLAG_FIN, FLAG_UNIDIRECTIONAL, GoAwayStatus, MAX_FRAME_PAYLOAD,
  MAX_STREAM_ID, RstStatus, SPDY_VERSION, SpdyProtocolError, type FrameLimits,
} from './spdy-protocol.js';
export {
  decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor, headerValues, SPDY_DICTIONARY, type SpdyHeaders,
} from './spdy-headers.js';

/**
 * DATA payload. A frame whose bytes arrive in pieces is reported piece by piece: every piece but
 * the last has `more: true` and no FIN (the serializer ignores `more`).
 */
export interface DataFrame { type: 'data'; streamId: number; flags: number; data: Buffer; more?: boolean }
/** SYN_STREAM; `headerBlock` is still compressed. `priority` is 0 (highest) to 7. */
export interface SynStreamFrame {
  type: 'syn_stream'; streamId: number; associatedId: number; priority: number; slot: number; flags: number; headerBlock: Buffer;
}
/** SYN_REPLY; `headerBlock` is still compressed. */
export interface SynReplyFrame { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
/** RST_STREAM. */
export interface RstStreamFrame { type: 'rst_stream'; streamId: number; status: number }
/** One SETTINGS entry (24-bit id, 8-bit flags). */
export interface SettingsEntry { id: number; flags: number; value: number }
/** SETTINGS. */
export interface SettingsFrame { type: 'settings'; flags: number; entries: SettingsEntry[] }
/** PING (odd ids are the client's, even the server's). */
export interface PingFrame { type: 'ping'; id: number }
/** GOAWAY. */
export interface GoAwayFrame { type: 'goaway'; lastGoodStreamId: number; status: number }
/** HEADERS; `headerBlock` is still compressed. */
export interface HeadersFrame { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
/** WINDOW_UPDATE. */
export interface WindowUpdateFrame { type: 'window_update'; streamId: number; delta: number }
/** A control frame of a type SPDY/3 says to ignore (NOOP, CREDENTIAL, future types). */
export interface UnknownFrame { type: 'unknown'; controlType: number; flags: number; payload: Buffer }

/** Every frame the parser yields and the serializer takes. */
export type SpdyFrame = DataFrame | SynStreamFrame | SynReplyFrame | RstStreamFrame | SettingsFrame | PingFrame
  | GoAwayFrame | HeadersFrame | WindowUpdateFrame | UnknownFrame;

/** What one {@link FrameParser.push} produced: the complete frames, then the error that stopped parsing, if any. */
export interface ParseResult { frames: SpdyFrame[]; error: SpdyProtocolError | null }

const EMPTY = Buffer.alloc(0);

/**
 * Incremental parser: feed it the connection's bytes in any split; it returns the frames those
 * bytes complete. After an error it is dead: every later push returns the same error (the byte
 * stream has lost its framing, or a header context would be out of step).
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The DATA frame whose payload is being passed on, and how many of its bytes are still due. */
  private data: { streamId: number; flags: number; remaining: number } | null = null;
  private error: SpdyProtocolError | null = null;

  constructor(private readonly limits: Readonly<FrameLimits> = DEFAULT_FRAME_LIMITS) {}

  /** Parses what `chunk` completes. Never throws. */
  push(chunk: Buffer): ParseResult {
    const frames: SpdyFrame[] = [];
    if (this.error === null && chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      try {
        this.drain(frames);
      } catch (e) {
        this.error = e instanceof SpdyProtocolError ? e : new SpdyProtocolError(`malformed frame: ${String(e)}`);
        this.chunks = [];
        this.buffered = 0;
      }
    }
    return { frames, error: this.error };
  }

  private drain(out: SpdyFrame[]): void {
    for (;;) {
      if (this.data !== null) {
        const d = this.data;
        const first = this.chunks[0];
        if (first === undefined) return;
        // Pass on what is here without copying: one piece per received chunk.
        const n = Math.min(d.remaining, first.length);
        d.remaining -= n;
        const data = this.take(n);
        if (d.remaining > 0) { out.push({ type: 'data', streamId: d.streamId, flags: d.flags & ~FLAG_FIN, data, more: true }); continue; }
        out.push({ type: 'data', streamId: d.streamId, flags: d.flags, data });
        this.data = null;
      }
      if (this.buffered < 8) return;
      const head = this.take(8, false);
      const word0 = head.readUInt32BE(0);
      const flags = head[4] ?? 0;
      const length = head.readUInt32BE(4) & MAX_FRAME_PAYLOAD;
      if ((word0 & 0x80000000) === 0) {
        const streamId = word0 & MAX_STREAM_ID;
        if (streamId === 0) throw new SpdyProtocolError('DATA frame on stream 0');
        this.take(8);
        if (length === 0) out.push({ type: 'data', streamId, flags, data: EMPTY });
        else this.data = { streamId, flags, remaining: length };
        continue;
      }
      const version = (word0 >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
      if (length > this.limits.maxControlFrameLength) throw new SpdyProtocolError(`control frame of ${length} bytes exceeds ${this.limits.maxControlFrameLength}`);
      if (this.buffered < 8 + length) return;
      this.take(8);
      out.push(parseControl(word0 & 0xffff, flags, this.take(length)));
    }
  }

  /** The next `n` buffered bytes (a view when they lie in one chunk); `consume` false only peeks. */
  private take(n: number, consume = true): Buffer {
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return EMPTY;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (!consume) return out;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      let i = 0;
      while (filled < n) {
        const c = this.chunks[i++] as Buffer;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (!consume) continue;
        if (k === c.length) { this.chunks.shift(); i--; } else this.chunks[0] = c.subarray(k);
      }
    }
    if (consume) this.buffered -= n;
    return out;
  }
}

function expectLength(what: string, payload: Buffer, ok: boolean): void {
  if (!ok) throw new SpdyProtocolError(`${what} frame with a payload of ${payload.length} bytes`);
}

function nonZeroStream(what: string, id: number): number {
  if (id === 0) throw new SpdyProtocolError(`${what} frame on stream 0`);
  return id;
}

/** One complete control frame. The checks are spdystream's (`spdy/read.go`) plus the spec's lengths. */
function parseControl(type: number, flags: number, p: Buffer): SpdyFrame {
  switch (type) {
    case ControlType.SYN_STREAM:
      expectLength('SYN_STREAM', p, p.length >= 10);
      return {
        type: 'syn_stream', streamId: nonZeroStream('SYN_STREAM', p.readUInt32BE(0) & MAX_STREAM_ID),
        associatedId: p.readUInt32BE(4) & MAX_STREAM_ID, priority: (p[8] ?? 0) >> 5, slot: p[9] ?? 0, flags, headerBlock: p.subarray(10),
      };
    case ControlType.SYN_REPLY:
    case ControlType.HEADERS: {
      const what = type === ControlType.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS';
      expectLength(what, p, p.length >= 4);
      const streamId = nonZeroStream(what, p.readUInt32BE(0) & MAX_STREAM_ID);
      return { type: type === ControlType.SYN_REPLY ? 'syn_reply' : 'headers', streamId, flags, headerBlock: p.subarray(4) };
    }
    case ControlType.RST_STREAM: {
      expectLength('RST_STREAM', p, p.length === 8);
      const status = p.readUInt32BE(4);
      if (status === 0) throw new SpdyProtocolError('RST_STREAM with status 0');
      return { type: 'rst_stream', streamId: nonZeroStream('RST_STREAM', p.readUInt32BE(0) & MAX_STREAM_ID), status };
    }
    case ControlType.SETTINGS: {
      expectLength('SETTINGS', p, p.length >= 4 && p.length === 4 + 8 * p.readUInt32BE(0));
      const entries: SettingsEntry[] = [];
      for (let o = 4; o < p.length; o += 8) entries.push({ flags: p[o] ?? 0, id: p.readUInt32BE(o) & 0xffffff, value: p.readUInt32BE(o + 4) });
      return { type: 'settings', flags, entries };
    }
    case ControlType.PING:
      expectLength('PING', p, p.length === 4);
      return { type: 'ping', id: p.readUInt32BE(0) };
    case ControlType.GOAWAY:
      expectLength('GOAWAY', p, p.length === 8);
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & MAX_STREAM_ID, status: p.readUInt32BE(4) };
    case ControlType.WINDOW_UPDATE:
      expectLength('WINDOW_UPDATE', p, p.length === 8);
      return { type: 'window_update', streamId: p.readUInt32BE(0) & MAX_STREAM_ID, delta: p.readUInt32BE(4) & MAX_STREAM_ID };
    default:
      return { type: 'unknown', controlType: type, flags, payload: p };
  }
}

function checkId(id: number, what = 'stream id'): number {
  if (!Number.isInteger(id) || id < 0 || id > MAX_STREAM_ID) throw new RangeError(`${what} ${id} is not a 31-bit id`);
  return id;
}

/** A frame: its first word (control bit, version and type, or the stream id), flags, length, payload. */
function frameBytes(word0: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes`);
  const out = Buffer.allocUnsafe(8 + payload.length);
  out.writeUInt32BE(word0, 0);
  out.writeUInt32BE((flags & 0xff) * 0x1000000 + payload.length, 4);
  payload.copy(out, 8);
  return out;
}

const control = (type: number, flags: number, ...parts: Buffer[]): Buffer => frameBytes(0x80000000 + SPDY_VERSION * 0x10000 + type, flags, Buffer.concat(parts));

/**
 * The wire bytes of `frame` (header blocks must already be compressed). Throws a RangeError for
 * values the format cannot carry (a caller's bug, not a peer's).
 */
export function serializeFrame(frame: SpdyFrame): Buffer {
  switch (frame.type) {
    case 'data': return frameBytes(checkId(frame.streamId), frame.flags, frame.data);
    case 'syn_stream':
      return control(ControlType.SYN_STREAM, frame.flags, words(checkId(frame.streamId), checkId(frame.associatedId, 'associated stream id')),
        Buffer.from([(frame.priority & 7) << 5, frame.slot & 0xff]), frame.headerBlock);
    case 'syn_reply': return control(ControlType.SYN_REPLY, frame.flags, words(checkId(frame.streamId)), frame.headerBlock);
    case 'headers': return control(ControlType.HEADERS, frame.flags, words(checkId(frame.streamId)), frame.headerBlock);
    case 'rst_stream': return control(ControlType.RST_STREAM, 0, words(checkId(frame.streamId), frame.status));
    case 'settings':
      return control(ControlType.SETTINGS, frame.flags, words(frame.entries.length),
        ...frame.entries.map((e) => words((e.flags & 0xff) * 0x1000000 + (e.id & 0xffffff), e.value)));
    case 'ping': return control(ControlType.PING, 0, words(frame.id));
    case 'goaway': return control(ControlType.GOAWAY, 0, words(checkId(frame.lastGoodStreamId, 'last good stream id'), frame.status));
    case 'window_update': return control(ControlType.WINDOW_UPDATE, 0, words(checkId(frame.streamId), checkId(frame.delta, 'window delta')));
    case 'unknown': return control(frame.controlType, frame.flags, frame.payload);
  }
}
