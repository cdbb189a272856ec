/**
 * Fuzzing the server SPDY session (src/server/streams/spdy-session.ts): random bytes, and valid
 * sessions (spdystream's exec trace, and every frame type) with bytes flipped, dropped, inserted
 * and duplicated, fed in random splits. The session must never throw, never leave an unhandled
 * rejection, and either keep going or end with a SpdyProtocolError; then close cleanly. Bounded
 * to a few seconds.
 */
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG_FIN, HeaderCompressor, serializeFrame, SpdyProtocolError, type SpdyFrame } from '../../src/server/streams/spdy-frames.js';
import { SpdySession } from '../../src/server/streams/spdy-session.js';

/** Bytes Go's spdystream client sent for an exec session (see spdy.test.ts). */
const GO_EXEC_TRACE = Buffer.from('80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff'
  + '800300010000001700000003000000000000c22e555c92929907000000ffff800300010000001900000005000000000000c22ac5565c92925f5a02000000ffff'
  + '800300010000001500000007000000000000c229975a5404000000ffff800300010000001800000009000000000000c22e57945a9c59950a000000ffff'
  + '00000009000000187b225769647468223a38302c22486569676874223a32347d000000030000000668656c6c6f200000000300000006776f726c640a'
  + '0000000301000000800300060000000400000001800300060000000400000002', 'hex');

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => { unhandled.push(e); };
let corpus: Buffer[] = [];

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const z = new HeaderCompressor();
  const syn = async (streamId: number, flags: number, h: Record<string, string>): Promise<SpdyFrame> =>
    ({ type: 'syn_stream', streamId, associatedId: 0, priority: 3, slot: 0, flags, headerBlock: await z.compress(h) });
  const frames: SpdyFrame[] = [
    await syn(1, 0, { streamtype: 'error', port: '80', requestid: '0' }),
    { type: 'data', streamId: 1, flags: 0, data: Buffer.from('abc') },
    await syn(3, FLAG_FIN, { streamtype: 'data', port: '80', requestid: '0' }),
    { type: 'headers', streamId: 1, flags: 0, headerBlock: await z.compress({ a: 'b\0c' }) },
    { type: 'syn_reply', streamId: 2, flags: 0, headerBlock: await z.compress({}) },
    { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 1 << 20 }] },
    { type: 'window_update', streamId: 1, delta: 65536 },
    { type: 'ping', id: 5 },
    { type: 'rst_stream', streamId: 3, status: 5 },
    { type: 'unknown', controlType: 10, flags: 0, payload: Buffer.from('cred') },
    { type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(3000, 1) },
    { type: 'goaway', lastGoodStreamId: 0, status: 0 },
  ];
  z.close();
  corpus = [GO_EXEC_TRACE, Buffer.concat(frames.map(serializeFrame))];
});

afterAll(() => { process.off('unhandledRejection', onUnhandled); });

/** A transport the test writes into; what the session writes is discarded; ending it ends the peer too. */
function fakeTransport(): Duplex {
  return new Duplex({
    read() { /* fed by push */ },
    write(_c, _e, cb) { cb(); },
    final(cb) { this.push(null); cb(); },
  });
}

/** Feeds `chunks` to a fresh server session, lets it settle, checks its state, closes it. */
async function feed(chunks: Buffer[]): Promise<void> {
  const t = fakeTransport();
  const session = new SpdySession(t, {
    role: 'server',
    closeTimeoutMs: 50,
    limits: { maxControlFrameLength: 4096, maxHeaderBlockSize: 4096, maxHeaders: 16 },
    onStream: (s) => {
      if (s.id % 3 === 0) s.reset();
      else { s.reply(); s.pipe(s); }
    },
  });
  const closed = once(session, 'close');
  for (const c of chunks) t.push(c);
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  if (session.closeError !== undefined) expect(session.closeError).toBeInstanceOf(SpdyProtocolError);
  session.close();
  const [err] = (await closed) as [Error | undefined];
  if (err !== undefined) expect(err).toBeInstanceOf(SpdyProtocolError);
  expect(unhandled).toEqual([]);
}

/** Splits `bytes` at the given cut points. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) { if (p > prev) out.push(bytes.subarray(prev, p)); prev = p; }
  return out;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    if (m.kind === 'flip' && at < b.length) b[at] = m.value;
    else if (m.kind === 'drop') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.kind === 'repeat') b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
  }
  return b;
}

describe('SPDY session fuzzing', () => {
  it('survives random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), async (chunks) => {
      await feed(chunks.map((c) => Buffer.from(c)));
    }), { numRuns: 300, interruptAfterTimeLimit: 1500 });
  });

  it('survives mutated valid sessions fed in random splits', async () => {
    await fc.assert(fc.asyncProperty(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), async (pick, ms, cuts) => {
      const base = corpus[pick % corpus.length] as Buffer;
      await feed(split(mutate(base, ms), cuts));
    }), { numRuns: 600, interruptAfterTimeLimit: 2500 });
  });

  it('keeps serving an unmutated session in any split', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
      await feed(split(GO_EXEC_TRACE, cuts));
    }), { numRuns: 50, interruptAfterTimeLimit: 800 });
  });
});
