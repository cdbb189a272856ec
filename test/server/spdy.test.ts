/**
 * SPDY/3 framing (src/server/streams/spdy-frames.ts): every frame type through the serializer and
 * the incremental parser, whole and split at every byte; header blocks through one compression
 * context per direction; the bounds and malformed input; and interop vectors captured from Go's
 * `github.com/moby/spdystream` (its `spdy.Framer` writing frames, and the bytes its client sent to
 * this server for a kubectl-style exec: five SYN_STREAMs, resize, stdin, FIN, PINGs).
 */
import { describe, expect, it } from 'vitest';
import {
  decodeHeaderBlock, encodeHeaderBlock, FLAG_FIN, FrameParser, HeaderCompressor, HeaderDecompressor, headerValues,
  SPDY_DICTIONARY, serializeFrame, SpdyProtocolError, type SpdyFrame,
} from '../../src/server/streams/spdy-frames.js';

/** Frames written by spdystream's `spdy.Framer` (one framer, so the SYN_STREAM blocks share a context). */
const GO = {
  synStream1Error: '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff',
  synStream3Stdin: '800300010000001700000003000000000000c22e555c92929907000000ffff',
  synStream5PortFin: '800300010100001c00000005000000000000824ab114e41781338885818501000000ffff',
  data3Hello: '000000030000000568656c6c6f',
  data3Fin: '0000000301000000',
  rst3Cancel: '80030003000000080000000300000005',
  ping1: '800300060000000400000001',
  goAway0Ok: '80030007000000080000000000000000',
  settingsInitialWindow: '800300040000000c000000010000000700010000',
  windowUpdate3: '800300090000000800000003000003e8',
  // A second framer (a Go server): its first block, then a two-value header.
  synReply1Empty: '80030002000000140000000178f9e3c6a7c26260606000000000ffff',
  headers1Multi: '800300080000001900000001626060600425be0a5d50f26636643002000000ffff',
};

/** Bytes spdystream's client (as apimachinery drives it for exec) sent to this server over TCP. */
const GO_EXEC_TRACE = '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff'
  + '800300010000001700000003000000000000c22e555c92929907000000ffff800300010000001900000005000000000000c22ac5565c92925f5a02000000ffff'
  + '800300010000001500000007000000000000c229975a5404000000ffff800300010000001800000009000000000000c22e57945a9c59950a000000ffff'
  + '00000009000000187b225769647468223a38302c22486569676874223a32347d000000030000000668656c6c6f200000000300000006776f726c640a'
  + '0000000301000000800300060000000400000001800300060000000400000002';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/** Parses `bytes` fed in pieces of `step` bytes, joining the pieces of each DATA frame. */
function parseAll(bytes: Buffer, step = bytes.length, parser = new FrameParser()): SpdyFrame[] {
  const out: SpdyFrame[] = [];
  let pieces: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += step) {
    const { frames, error } = parser.push(bytes.subarray(o, o + step));
    if (error !== null) throw error;
    for (const f of frames) {
      if (f.type !== 'data') out.push(f);
      else if (f.more === true) pieces.push(f.data);
      else {
        out.push({ type: 'data', streamId: f.streamId, flags: f.flags, data: Buffer.concat([...pieces, f.data]) });
        pieces = [];
      }
    }
  }
  expect(pieces).toEqual([]);
  return out;
}

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) { a = (a + x) % 65521; s = (s + a) % 65521; }
  return ((s << 16) | a) >>> 0;
}

describe('SPDY frames', () => {
  it('carries the SPDY/3 dictionary byte for byte (length and Adler-32 of spdystream\'s)', () => {
    expect(SPDY_DICTIONARY.length).toBe(1423);
    expect(adler32(SPDY_DICTIONARY).toString(16)).toBe('e3c6a7c2');
  });

  const fixed: SpdyFrame[] = [
    { type: 'data', streamId: 3, flags: 0, data: Buffer.from('hello') },
    { type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.alloc(0) },
    { type: 'rst_stream', streamId: 3, status: 5 },
    { type: 'ping', id: 1 },
    { type: 'goaway', lastGoodStreamId: 0, status: 0 },
    { type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }] },
    { type: 'window_update', streamId: 3, delta: 1000 },
  ];
  const goFixed = [GO.data3Hello, GO.data3Fin, GO.rst3Cancel, GO.ping1, GO.goAway0Ok, GO.settingsInitialWindow, GO.windowUpdate3];

  it('serializes frames without header blocks exactly as spdystream does', () => {
    fixed.forEach((f, i) => expect(serializeFrame(f).toString('hex')).toBe(goFixed[i]));
  });

  it('round-trips every frame type, whole and fed one byte at a time', () => {
    const frames: SpdyFrame[] = [
      ...fixed,
      { type: 'syn_stream', streamId: 5, associatedId: 1, priority: 7, slot: 2, flags: 3, headerBlock: Buffer.from('abc') },
      { type: 'syn_reply', streamId: 5, flags: FLAG_FIN, headerBlock: Buffer.from('de') },
      { type: 'headers', streamId: 7, flags: 0, headerBlock: Buffer.alloc(0) },
      { type: 'settings', flags: 1, entries: [] },
      { type: 'unknown', controlType: 10, flags: 0, payload: Buffer.from([1, 2]) },
      { type: 'data', streamId: 0x7fffffff, flags: 0, data: Buffer.alloc(5000, 7) },
    ];
    const wire = Buffer.concat(frames.map(serializeFrame));
    expect(parseAll(wire)).toEqual(frames);
    expect(parseAll(wire, 1)).toEqual(frames);
    expect(parseAll(wire, 13)).toEqual(frames);
  });

  it('passes DATA payloads on as they arrive, FIN only on the last piece', () => {
    const parser = new FrameParser();
    const wire = serializeFrame({ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(100, 1) });
    const first = parser.push(wire.subarray(0, 50)).frames;
    expect(first).toEqual([{ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(42, 1), more: true }]);
    expect(parser.push(wire.subarray(50)).frames).toEqual([{ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(58, 1) }]);
    // A frame of the largest length costs nothing up front.
    const big = Buffer.from('0000000900ffffff', 'hex');
    expect(parser.push(big).frames).toEqual([]);
    expect(parser.push(Buffer.alloc(10)).frames[0]).toMatchObject({ streamId: 9, flags: 0 });
  });

  it('encodes header blocks lower-cased, values NUL-joined', () => {
    const block = encodeHeaderBlock({ StreamType: 'error', port: '8080', 'X-A': 'a', 'x-a': 'b' });
    const h = decodeHeaderBlock(block, 1);
    expect({ ...h }).toEqual({ streamtype: 'error', port: '8080', 'x-a': 'a\0b' });
    expect(headerValues(h['x-a'] ?? '')).toEqual(['a', 'b']);
    expect(Object.getPrototypeOf(h)).toBeNull();
  });

  it('refuses malformed header blocks as stream errors', () => {
    const block = (...parts: (number | string)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p >>> 24, (p >>> 16) & 255, (p >>> 8) & 255, p & 255]) : Buffer.from(p))));
    const bad = [
      block(1, 4, 'Port', 1, '1'), // upper case
      block(2, 1, 'a', 0, 1, 'a', 0), // duplicate
      block(1, 0, 1, 'x'), // empty name
      block(2, 1, 'a', 1, 'x'), // truncated
      block(1, 1, 'a', 100, 'x'), // value past the end
      Buffer.concat([block(1, 1, 'a', 1, 'x'), Buffer.from([0])]), // trailing byte
      block(2001),
      Buffer.from([0, 0]),
    ];
    for (const b of bad) {
      const err = (() => { try { decodeHeaderBlock(b, 9); } catch (e) { return e; } return null; })();
      expect(err).toBeInstanceOf(SpdyProtocolError);
      expect(err).toMatchObject({ scope: 'stream', streamId: 9, status: 1 });
    }
  });

  it('compresses with one context per direction: later blocks depend on earlier ones', async () => {
    const out = new HeaderCompressor();
    const inn = new HeaderDecompressor();
    const a = await out.compress({ streamtype: 'stdout', port: '8080', requestid: '0' });
    const b = await out.compress({ streamtype: 'stdout', port: '8080', requestid: '1' });
    expect(b.length).toBeLessThan(a.length);
    expect(b.subarray(-4).toString('hex')).toBe('0000ffff'); // Z_SYNC_FLUSH per block
    expect({ ...(await inn.decompress(a, 1)) }).toEqual({ streamtype: 'stdout', port: '8080', requestid: '0' });
    expect({ ...(await inn.decompress(b, 3)) }).toEqual({ streamtype: 'stdout', port: '8080', requestid: '1' });
    // The second block alone, in a fresh context, is not decodable.
    const fresh = new HeaderDecompressor();
    await expect(fresh.decompress(b, 3)).rejects.toBeInstanceOf(SpdyProtocolError);
    await expect(fresh.decompress(a, 1)).rejects.toThrow(/decompression/); // a broken context stays broken
    out.close();
    inn.close();
  });

  it('bounds the inflated size of a header block', async () => {
    const out = new HeaderCompressor();
    const inn = new HeaderDecompressor({ maxControlFrameLength: 1 << 20, maxHeaderBlockSize: 10_000, maxHeaders: 10 });
    const block = await out.compress({ big: 'x'.repeat(100_000) }); // compresses to ~200 bytes
    await expect(inn.decompress(block, 1)).rejects.toMatchObject({ scope: 'session' });
    out.close();
    inn.close();
  });

  it('reads what spdystream writes: SYN_STREAMs in one context, DATA, RST, PING, GOAWAY, SETTINGS, WINDOW_UPDATE', async () => {
    const wire = hex(Object.values(GO).slice(0, 10).join(''));
    const frames = parseAll(wire, 1);
    expect(frames.map((f) => f.type)).toEqual(['syn_stream', 'syn_stream', 'syn_stream', 'data', 'data', 'rst_stream', 'ping', 'goaway', 'settings', 'window_update']);
    const inn = new HeaderDecompressor();
    const headers = [];
    for (const f of frames) if (f.type === 'syn_stream') headers.push({ id: f.streamId, fin: f.flags, h: { ...(await inn.decompress(f.headerBlock, f.streamId)) } });
    expect(headers).toEqual([
      { id: 1, fin: 0, h: { streamtype: 'error' } },
      { id: 3, fin: 0, h: { streamtype: 'stdin' } },
      { id: 5, fin: FLAG_FIN, h: { port: '8080' } },
    ]);
    const replies = parseAll(hex(GO.synReply1Empty + GO.headers1Multi));
    const inn2 = new HeaderDecompressor();
    const [r, h] = replies as [SpdyFrame & { headerBlock: Buffer }, SpdyFrame & { headerBlock: Buffer }];
    expect({ ...(await inn2.decompress(r.headerBlock, 1)) }).toEqual({});
    expect({ ...(await inn2.decompress(h.headerBlock, 1)) }).toEqual({ 'x-a': '1\x002' });
    inn.close();
    inn2.close();
  });

  it('decodes a spdystream client\'s exec session fed in every split', async () => {
    for (const step of [1, 2, 7, 64, 1000]) {
      const frames = parseAll(hex(GO_EXEC_TRACE), step);
      const inn = new HeaderDecompressor();
      const summary: string[] = [];
      for (const f of frames) {
        if (f.type === 'syn_stream') summary.push(`syn ${f.streamId} ${(await inn.decompress(f.headerBlock, f.streamId)).streamtype}`);
        else if (f.type === 'data') summary.push(`data ${f.streamId} ${f.flags} ${f.data.toString()}`);
        else summary.push(f.type);
      }
      inn.close();
      expect(summary).toEqual([
        'syn 1 error', 'syn 3 stdin', 'syn 5 stdout', 'syn 7 stderr', 'syn 9 resize',
        'data 9 0 {"Width":80,"Height":24}', 'data 3 0 hello ', 'data 3 0 world\n', 'data 3 1 ', 'ping', 'ping',
      ]);
    }
  });

  it('stops at malformed frames with a typed, sticky error, keeping the frames before it', () => {
    const ping = serializeFrame({ type: 'ping', id: 1 });
    const cases: [string, string][] = [
      ['80020006000000040000000', 'version'], // SPDY/2
      ['800300060000000500000001ff', 'PING'], // bad length
      ['8003000300000008000000010000000' + '0', 'status 0'],
      ['800300030000000800000000' + '00000001', 'stream 0'],
      ['0000000000000001ff', 'stream 0'],
      ['8003000700000004' + '00000000', 'GOAWAY'],
      ['8003000400000008' + '0000000200000000', 'SETTINGS'],
      ['8003000100000004' + '00000001', 'SYN_STREAM'],
      ['8003000100100001', 'exceeds'], // 1 MiB + 1 control frame, refused before buffering
    ];
    for (const [bytes, why] of cases) {
      const parser = new FrameParser();
      const r = parser.push(Buffer.concat([ping, hex(bytes.length % 2 ? `${bytes}0` : bytes), ping]));
      expect(r.frames).toEqual([{ type: 'ping', id: 1 }]);
      expect(r.error).toBeInstanceOf(SpdyProtocolError);
      expect(r.error?.message).toContain(why);
      expect(parser.push(ping)).toEqual({ frames: [], error: r.error });
    }
  });

  it('refuses to serialize what the format cannot carry', () => {
    expect(() => serializeFrame({ type: 'data', streamId: 2 ** 31, flags: 0, data: Buffer.alloc(0) })).toThrow(RangeError);
    expect(() => serializeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(1 << 24) })).toThrow(RangeError);
  });
});
