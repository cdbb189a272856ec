/**
 * The SPDY/3 vocabulary shared by the framing (spdy-frames.ts), the header blocks
 * (spdy-headers.ts) and the session (spdy-session.ts): version, id and length bounds, control
 * frame types, flags, RST_STREAM and GOAWAY status codes, the parser and header limits
 * ({@link DEFAULT_FRAME_LIMITS}) and {@link SpdyProtocolError}. Everything here is re-exported by
 * spdy-frames.ts, where it used to live.
 */
/** The SPDY version of every control frame (3; SPDY/3.1 only adds session flow control). */
export const SPDY_VERSION = 3;
/** Largest stream id (31 bits). */
export const MAX_STREAM_ID = 0x7fffffff;
/** Largest frame payload the 24-bit length field can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

/** Control frame type codes (SPDY/3 §2.6); 5 (NOOP) and 10 (CREDENTIAL) are parsed as `unknown`. */
export const ControlType = {
  SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9,
} as const;

/** FIN: the sender's last frame on the stream (DATA, SYN_STREAM, SYN_REPLY, HEADERS). */
export const FLAG_FIN = 0x01;
/** SYN_STREAM only: the receiver must not send on the stream. */
export const FLAG_UNIDIRECTIONAL = 0x02;
/** SETTINGS only: forget persisted settings. */
export const FLAG_CLEAR_SETTINGS = 0x01;

/** RST_STREAM status codes (SPDY/3 §2.4.2), numbered as spdystream's `RstStreamStatus`. */
export const RstStatus = {
  PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, UNSUPPORTED_VERSION: 4, CANCEL: 5, INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7, STREAM_IN_USE: 8, STREAM_ALREADY_CLOSED: 9, INVALID_CREDENTIALS: 10, FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes (SPDY/3 §2.6.6). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** The bounds the parser and the header decoder enforce. */
export interface FrameLimits {
  /** Largest control frame payload (control frames are buffered whole). */
  maxControlFrameLength: number;
  /** Largest inflated header block. */
  maxHeaderBlockSize: number;
  /** Most name/value pairs in one header block. */
  maxHeaders: number;
}

/**
 * Default bounds. A control frame carries at most one header block, and kubectl's are ~50 bytes;
 * 1 MiB for both the compressed frame and the inflated block is Go's `http.DefaultMaxHeaderBytes`,
 * the nearest thing to a header limit on the Go side (spdystream has none). 2000 headers is Node's
 * own `maxHeadersCount`.
 */
export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxControlFrameLength: 1024 * 1024,
  maxHeaderBlockSize: 1024 * 1024,
  maxHeaders: 2000,
});

/**
 * A protocol violation. `scope: 'session'` breaks the connection (answer GOAWAY and close);
 * `'stream'` concerns only `streamId` (answer RST_STREAM with `status`), the compression context
 * being intact.
 */
export class SpdyProtocolError extends Error {
  constructor(message: string, readonly scope: 'session' | 'stream' = 'session', readonly streamId = 0,
    readonly status: number = scope === 'session' ? GoAwayStatus.PROTOCOL_ERROR : RstStatus.PROTOCOL_ERROR) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

/** `values` as consecutive big-endian 32-bit words (the integers of every SPDY frame and header block). */
export function words(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}
