/**
 * SPDY/3 name/value header blocks (the payload of SYN_STREAM, SYN_REPLY and HEADERS frames), as
 * Go's `github.com/moby/spdystream/spdy` encodes them: {@link encodeHeaderBlock} and
 * {@link decodeHeaderBlock} for the uncompressed block, {@link SPDY_DICTIONARY}, and the zlib
 * contexts {@link HeaderCompressor} and {@link HeaderDecompressor}. Re-exported by spdy-frames.ts.
 *
 * Header blocks are compressed with zlib and the SPDY/3 dictionary, one context per direction
 * for the whole connection, each block ended by a Z_SYNC_FLUSH (as Go's Framer does): block N
 * can only be inflated after blocks 0..N-1, so the contexts serialise their work and the session
 * must decode header blocks in frame order. Node's zlib is asynchronous; {@link HeaderCompressor}
 * and {@link HeaderDecompressor} queue their calls. A malformed or oversized block (bounds:
 * {@link FrameLimits}, by default {@link DEFAULT_FRAME_LIMITS}) yields a {@link SpdyProtocolError}.
 */
import { constants as zlibConstants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { DEFAULT_FRAME_LIMITS, MAX_FRAME_PAYLOAD, SpdyProtocolError, words, type FrameLimits } from './spdy-protocol.js';

/**
 * Header names (lower case) to values; several values of one name are joined by NUL, as on the
 * wire (see {@link headerValues}). Decoded blocks are null-prototype objects.
 */
export type SpdyHeaders = Record<string, string>;

/** The values of one header: SPDY joins several values of a name with NUL. */
export function headerValues(value: string): string[] { return value.split('\0'); }

/**
 * The uncompressed name/value block of `headers` (names lower-cased, as spdystream writes them;
 * two names equal but for case are merged into one NUL-joined value).
 */
export function encodeHeaderBlock(headers: Readonly<SpdyHeaders>): Buffer {
  const merged = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const had = merged.get(lower);
    merged.set(lower, had === undefined ? value : `${had}\0${value}`);
  }
  const parts: Buffer[] = [words(merged.size)];
  for (const [name, value] of merged) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(words(n.length), n, words(v.length), v);
  }
  return Buffer.concat(parts);
}

/**
 * Parses an inflated name/value block of stream `streamId`. Throws a stream-scoped
 * {@link SpdyProtocolError} for a truncated or oversized block, an empty, upper-case or duplicate
 * name, or trailing bytes (the checks of spdystream's `parseHeaderValueBlock`, made fatal).
 */
export function decodeHeaderBlock(block: Buffer, streamId: number, limits: Readonly<FrameLimits> = DEFAULT_FRAME_LIMITS): SpdyHeaders {
  const bad = (why: string): SpdyProtocolError => new SpdyProtocolError(`header block of stream ${streamId}: ${why}`, 'stream', streamId);
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > block.length) throw bad('truncated');
    const v = block.readUInt32BE(off);
    off += 4;
    return v;
  };
  const bytes = (n: number): string => {
    if (n > block.length - off) throw bad('truncated');
    off += n;
    return block.toString('utf8', off - n, off);
  };
  const count = u32();
  if (count > limits.maxHeaders) throw bad(`${count} headers exceed ${limits.maxHeaders}`);
  const headers: SpdyHeaders = Object.create(null) as SpdyHeaders;
  for (let i = 0; i < count; i++) {
    const name = bytes(u32());
    if (name === '') throw bad('empty header name');
    if (name !== name.toLowerCase()) throw bad(`header name ${JSON.stringify(name)} is not lower-case`);
    if (Object.hasOwn(headers, name)) throw bad(`duplicate header ${JSON.stringify(name)}`);
    headers[name] = bytes(u32());
  }
  if (off !== block.length) throw bad(`${block.length - off} bytes after the last header`);
  return headers;
}

/** Name/value pairs from `spdy/dictionary.go`, each on the wire as a 32-bit length then the name. */
const DICTIONARY_WORDS = ('options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age '
  + 'allow authorization cache-control connection content-base content-encoding content-language content-length content-location '
  + 'content-md5 content-range content-type date etag expect expires from host if-match if-modified-since if-none-match if-range '
  + 'if-unmodified-since last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer '
  + 'retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate method get status '
  + '200\u00a0OK version HTTP/1.1 url public set-cookie keep-alive origin').split(' ').map((w) => w.replace('\u00a0', ' '));
/** The dictionary's raw tail, after the length-prefixed words. */
const DICTIONARY_TAIL = '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505'
  + '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized'
  + '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable'
  + 'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT'
  + 'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,'
  + 'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 zlib dictionary (1423 bytes, Adler-32 0xe3c6a7c2), byte for byte spdystream's. */
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((w) => [words(w.length), Buffer.from(w, 'latin1')]),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/**
 * One zlib stream of a connection direction. Each call writes its input, flushes with
 * Z_SYNC_FLUSH and collects the output (the `ws` package's pattern: Node emits a flush's data
 * before its callback); calls run one at a time. After an error or `close` every call rejects.
 */
class ZlibContext {
  private tail: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private outLength = 0;
  private current: ((err: Error | null) => void) | null = null;
  private failure: Error | null = null;

  constructor(private readonly z: Deflate | Inflate, private readonly maxOutput: number, what: string) {
    z.on('data', (c: Buffer) => {
      this.out.push(c);
      this.outLength += c.length;
      if (this.outLength > this.maxOutput) this.fail(new SpdyProtocolError(`${what} output exceeds ${this.maxOutput} bytes`));
    });
    z.on('error', (e: Error) => this.fail(new SpdyProtocolError(`${what} failed: ${e.message}`)));
  }

  run(input: Buffer): Promise<Buffer> {
    const p = this.tail.then(() => this.step(input));
    this.tail = p.catch(() => undefined);
    return p;
  }

  private step(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure !== null) { reject(this.failure); return; }
      this.out = [];
      this.outLength = 0;
      const done = (err: Error | null): void => {
        if (this.current !== done) return;
        this.current = null;
        if (err !== null) reject(err);
        else resolve(Buffer.concat(this.out, this.outLength));
      };
      this.current = done;
      this.z.write(input);
      this.z.flush(zlibConstants.Z_SYNC_FLUSH, () => done(this.failure));
    });
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.current?.(this.failure);
    this.z.destroy();
  }
}

/** The compressing side of one direction: encodes and deflates header blocks, in call order. */
export class HeaderCompressor {
  private readonly ctx = new ZlibContext(createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 }), MAX_FRAME_PAYLOAD - 10, 'header compression');

  /** The compressed block of `headers`, to put in a SYN_STREAM, SYN_REPLY or HEADERS frame sent next in this order. */
  compress(headers: Readonly<SpdyHeaders>): Promise<Buffer> { return this.ctx.run(encodeHeaderBlock(headers)); }

  /** Frees the zlib stream; pending and later calls reject. */
  close(): void { this.ctx.fail(new Error('header compressor closed')); }
}

/** The decompressing side of one direction: inflates and decodes header blocks, in call order. */
export class HeaderDecompressor {
  private readonly ctx: ZlibContext;

  constructor(private readonly limits: Readonly<FrameLimits> = DEFAULT_FRAME_LIMITS) {
    this.ctx = new ZlibContext(createInflate({ dictionary: SPDY_DICTIONARY }), limits.maxHeaderBlockSize, 'header decompression');
  }

  /**
   * The headers of the next received block (of stream `streamId`). Rejects with a
   * {@link SpdyProtocolError}: session-scoped when the zlib stream broke or overflowed (the
   * context is then dead), stream-scoped when the block inflated but is not a valid block.
   */
  async decompress(block: Buffer, streamId: number): Promise<SpdyHeaders> {
    return decodeHeaderBlock(await this.ctx.run(block), streamId, this.limits);
  }

  /** Frees the zlib stream; pending and later calls reject. */
  close(): void { this.ctx.fail(new Error('header decompressor closed')); }
}
