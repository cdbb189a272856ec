/**
 * SPDY sessions (src/server/streams/spdy-session.ts) in pairs over loopback TCP and over a
 * WebSocket tunnel (`ws`'s createWebSocketStream, as kubectl 1.31+ port-forward tunnels SPDY):
 * kubectl's exec streams (error, stdin, stdout, stderr, resize) and port-forward pairs, data both
 * ways, half-close, reset, 10 MB with back-pressure, PING, GOAWAY, the idle timeout; and, from a
 * raw peer, the stream-id rules, refusals and protocol errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketStream, WebSocket, WebSocketServer } from 'ws';
import { constants as zlibConstants, createDeflate } from 'node:zlib';
import {
  FLAG_FIN, FLAG_UNIDIRECTIONAL, FrameParser, HeaderCompressor, serializeFrame, SPDY_DICTIONARY, SpdyProtocolError, type SpdyFrame, type SpdyHeaders,
} from '../../src/server/streams/spdy-frames.js';
import { SpdySession, type SpdySessionOptions, type SpdyStream } from '../../src/server/streams/spdy-session.js';

/** The bytes Go's spdystream client sent for an exec (see spdy.test.ts): 5 SYN_STREAMs, resize, stdin, FIN, PINGs. */
const GO_EXEC_TRACE = '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff'
  + '800300010000001700000003000000000000c22e555c92929907000000ffff800300010000001900000005000000000000c22ac5565c92925f5a02000000ffff'
  + '800300010000001500000007000000000000c229975a5404000000ffff800300010000001800000009000000000000c22e57945a9c59950a000000ffff'
  + '00000009000000187b225769647468223a38302c22486569676874223a32347d000000030000000668656c6c6f200000000300000006776f726c640a'
  + '0000000301000000800300060000000400000001800300060000000400000002';

const cleanup: (() => void)[] = [];
afterEach(() => { for (const c of cleanup.splice(0)) c(); });

async function socketPair(): Promise<[Socket, Socket]> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = once(srv, 'connection');
  const client = new Socket().connect((srv.address() as AddressInfo).port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  await once(client, 'connect');
  srv.close();
  cleanup.push(() => { server.destroy(); client.destroy(); });
  return [server, client];
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A server and a client session over loopback; `accepted` collects the streams the server got. */
async function sessions(serverOpts: Partial<SpdySessionOptions> = {}) {
  const [ss, cs] = await socketPair();
  const accepted: SpdyStream[] = [];
  const server = new SpdySession(ss, { onStream: (s) => { s.reply(); accepted.push(s); }, ...serverOpts, role: 'server' });
  const client = new SpdySession(cs, { role: 'client' });
  const next = async (): Promise<SpdyStream> => { await until(() => accepted.length > 0); return accepted.shift() as SpdyStream; };
  return { server, client, ss, cs, next };
}

/** What `s` yields until its end. (Not `for await`: it destroys the stream, i.e. resets it, at the end.) */
async function readAll(s: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await once(s, 'end');
  return Buffer.concat(chunks).toString();
}

async function open(client: SpdySession, headers: SpdyHeaders): Promise<SpdyStream> {
  const s = client.openStream(headers);
  await once(s, 'reply');
  return s;
}

/** A raw peer: frames it receives, and a way to send frames (header blocks through its own context). */
function rawPeer(sock: Socket) {
  const frames: SpdyFrame[] = [];
  const parser = new FrameParser();
  sock.on('data', (c: Buffer) => frames.push(...parser.push(c).frames));
  const deflate = new HeaderCompressor();
  cleanup.push(() => deflate.close());
  return {
    frames,
    compress: (h: SpdyHeaders) => deflate.compress(h),
    send: (f: SpdyFrame) => sock.write(serializeFrame(f)),
    syn: async (streamId: number, headers: SpdyHeaders, flags = 0) => sock.write(serializeFrame({
      type: 'syn_stream', streamId, associatedId: 0, priority: 0, slot: 0, flags, headerBlock: await deflate.compress(headers),
    })),
  };
}

describe('SPDY session', () => {
  it('runs kubectl exec\'s five streams: data both ways, half-close, reset', async () => {
    const { server, client, next } = await sessions();
    const kinds = ['error', 'stdin', 'stdout', 'stderr', 'resize'];
    const c: Record<string, SpdyStream> = {};
    const s: Record<string, SpdyStream> = {};
    for (const k of kinds) { // kubectl creates them one by one, each after the previous reply
      c[k] = await open(client, { streamtype: k });
      s[k] = await next();
      expect({ ...s[k].headers }).toEqual({ streamtype: k });
    }
    expect(kinds.map((k) => c[k]?.id)).toEqual([1, 3, 5, 7, 9]);
    const [ci, si, co, so, ce, se] = [c.stdin, s.stdin, c.stdout, s.stdout, c.error, s.error] as SpdyStream[];
    c.resize?.write('{"Width":80,"Height":24}');
    expect(String((await once(s.resize as SpdyStream, 'data'))[0])).toBe('{"Width":80,"Height":24}');
    ci?.end('hello'); // stdin at EOF: a FIN, the stream half-closed
    expect(await readAll(si as SpdyStream)).toBe('hello');
    si?.end('still writable after the peer\'s FIN');
    expect(await readAll(ci as SpdyStream)).toBe('still writable after the peer\'s FIN');
    so?.end('HELLO');
    expect(await readAll(co as SpdyStream)).toBe('HELLO');
    const resets: unknown[] = [];
    s.stderr?.on('reset', (...a) => resets.push(a));
    c.stderr?.reset();
    await until(() => resets.length === 1);
    expect(resets).toEqual([[5, true]]);
    expect(s.stderr?.destroyed).toBe(true);
    s.stderr?.write('after reset'); // no crash, nothing sent
    se?.end('{"status":"Success"}');
    expect(await readAll(ce as SpdyStream)).toBe('{"status":"Success"}');
    await until(() => server.openStreams === 3); // stdout, error and resize still wait for FINs
    for (const k of ['stdout', 'error', 'resize']) c[k]?.end();
    s.resize?.end();
    await until(() => server.openStreams === 0 && client.openStreams === 0);
  });

  it('runs a kubectl port-forward pair and ends it as kubectl does', async () => {
    const { server, client, next } = await sessions();
    const h = { streamtype: 'error', port: '8080', requestid: '0' };
    const errC = await open(client, h);
    errC.end(); // "we're not writing to this stream"
    const errS = await next();
    const dataC = await open(client, { ...h, streamtype: 'data' });
    const dataS = await next();
    expect({ ...dataS.headers }).toEqual({ streamtype: 'data', port: '8080', requestid: '0' });
    dataS.pipe(dataS); // the "pod" echoes
    dataS.on('finish', () => errS.end());
    const echoed = readAll(dataC);
    dataC.end('GET / HTTP/1.0\r\n\r\n');
    expect(await echoed).toBe('GET / HTTP/1.0\r\n\r\n');
    const resets: unknown[] = [];
    dataS.on('reset', (st) => resets.push(st));
    dataC.reset(); // kubectl resets the data stream once the remote copy is done
    expect(await readAll(errC)).toBe('');
    await until(() => server.openStreams === 0);
    expect(resets).toEqual([]); // both FINs were exchanged: the reset sent nothing
    expect(server.closed).toBe(false);
  });

  it('moves 10 MB through one stream with back-pressure both ways', async () => {
    const { client, ss, next } = await sessions();
    const payload = randomBytes(10 * 1024 * 1024);
    const sc = client.openStream({ streamtype: 'stdin' });
    let drains = 0;
    sc.on('drain', () => drains++); // only after a write() returned false
    const sending = pipeline(Readable.from((function* () {
      for (let o = 0; o < payload.length; o += 100_000) yield payload.subarray(o, o + 100_000);
    })()), sc);
    const s = await next();
    s.pause();
    await new Promise((r) => setTimeout(r, 200));
    expect(ss.isPaused()).toBe(true); // the reader is full: the transport stopped reading
    expect(s.readableLength).toBeLessThan(1024 * 1024);
    const hash = createHash('sha256');
    s.on('data', (c: Buffer) => hash.update(c));
    s.resume();
    await Promise.all([once(s, 'end'), sending]);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(drains).toBeGreaterThan(0);
  });

  it('answers and sends PINGs, ids of each side\'s parity', async () => {
    const { server, client } = await sessions();
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
    expect(await server.ping()).toBeGreaterThanOrEqual(0);
    const [ss, cs] = await socketPair();
    const raw = rawPeer(cs);
    const srv = new SpdySession(ss, { role: 'server', onStream: () => undefined });
    raw.send({ type: 'ping', id: 7 });
    await until(() => raw.frames.length > 0);
    expect(raw.frames).toEqual([{ type: 'ping', id: 7 }]);
    srv.close();
  });

  it('sends nothing before the peer\'s first frame', async () => {
    const [ss, cs] = await socketPair();
    const raw = rawPeer(cs);
    const srv = new SpdySession(ss, { role: 'server', onStream: () => undefined });
    await new Promise((r) => setTimeout(r, 100));
    expect(raw.frames).toEqual([]);
    srv.close();
  });

  it('closes with RST_STREAM for open streams, then GOAWAY, and reports close on both sides', async () => {
    const { server, client, next } = await sessions();
    const a = await open(client, { streamtype: 'stdout' });
    await next();
    const seen: unknown[] = [];
    client.on('goaway', (last, status) => seen.push(['goaway', last, status]));
    a.on('reset', (st, byPeer) => seen.push(['reset', st, byPeer]));
    const closed = Promise.all([once(server, 'close'), once(client, 'close')]);
    server.close();
    expect(server.closed).toBe(true);
    expect(await closed).toEqual([[undefined], [undefined]]);
    expect(seen).toEqual([['reset', 5, true], ['goaway', 1, 0]]);
    expect(() => client.openStream({})).toThrow(/closed/);
    await expect(client.ping()).rejects.toThrow(/closed/);
  });

  it('goes away on a protocol error with GOAWAY PROTOCOL_ERROR', async () => {
    const [ss, cs] = await socketPair();
    const raw = rawPeer(cs);
    const srv = new SpdySession(ss, { role: 'server', onStream: () => undefined });
    const closed = once(srv, 'close');
    cs.write(Buffer.from('80020001000000040000000100', 'hex')); // a SPDY/2 frame
    const [err] = (await closed) as [SpdyProtocolError];
    expect(err).toBeInstanceOf(SpdyProtocolError);
    await until(() => raw.frames.length > 0);
    expect(raw.frames).toEqual([{ type: 'goaway', lastGoodStreamId: 0, status: 1 }]);
  });

  it('enforces stream ids, refuses streams nobody takes and resets streams with bad headers', async () => {
    const [ss, cs] = await socketPair();
    const raw = rawPeer(cs);
    const got: SpdyStream[] = [];
    const srv = new SpdySession(ss, { role: 'server', onStream: (s) => { got.push(s); s.reply(); } });
    const closed = once(srv, 'close');
    await raw.syn(2, { streamtype: 'x' }); // a server id
    await raw.syn(5, { streamtype: 'y' });
    await raw.syn(3, { streamtype: 'z' }); // not increasing
    cs.write(Buffer.concat([serializeFrame({ type: 'syn_stream', streamId: 7, associatedId: 0, priority: 0, slot: 0, flags: 0, headerBlock: Buffer.from('not zlib') })]));
    await until(() => raw.frames.length >= 3 || srv.closed);
    expect(raw.frames.slice(0, 3)).toMatchObject([
      { type: 'rst_stream', streamId: 2, status: 1 },
      { type: 'syn_reply', streamId: 5 },
      { type: 'rst_stream', streamId: 3, status: 1 },
    ]);
    expect(got.map((s) => s.id)).toEqual([5]);
    await closed; // garbage in the header context breaks the session
    expect(raw.frames.at(-1)).toEqual({ type: 'goaway', lastGoodStreamId: 5, status: 1 });

    const [ss2, cs2] = await socketPair();
    const raw2 = rawPeer(cs2);
    const noListener = new SpdySession(ss2, { role: 'server' });
    await raw2.syn(1, { a: '1' });
    await until(() => raw2.frames.length >= 1);
    expect(raw2.frames[0]).toEqual({ type: 'rst_stream', streamId: 1, status: 3 });
    expect(noListener.closed).toBe(false);
    noListener.close();
  });

  it('resets a stream whose header block is invalid but keeps the session', async () => {
    const [ss, cs] = await socketPair();
    const raw = rawPeer(cs);
    const srv = new SpdySession(ss, { role: 'server', onStream: (s) => s.reply() });
    // A block naming `a` twice (encodeHeaderBlock cannot make one), compressed by hand.
    const u32 = (n: number): Buffer => Buffer.from([0, 0, 0, n]);
    const dup = Buffer.concat([u32(2), u32(1), Buffer.from('a'), u32(1), Buffer.from('x'), u32(1), Buffer.from('a'), u32(1), Buffer.from('y')]);
    const z = createDeflate({ dictionary: SPDY_DICTIONARY });
    cleanup.push(() => z.close());
    const out: Buffer[] = [];
    z.on('data', (c: Buffer) => out.push(c));
    z.write(dup);
    await new Promise<void>((r) => z.flush(zlibConstants.Z_SYNC_FLUSH, () => r()));
    raw.send({ type: 'syn_stream', streamId: 1, associatedId: 0, priority: 0, slot: 0, flags: 0, headerBlock: Buffer.concat(out) });
    raw.send({ type: 'ping', id: 1 });
    await until(() => raw.frames.length >= 2);
    expect(raw.frames).toEqual([{ type: 'rst_stream', streamId: 1, status: 1 }, { type: 'ping', id: 1 }]);
    expect(srv.closed).toBe(false);
    srv.close();
  });

  it('honours FIN and UNIDIRECTIONAL on SYN_STREAM, HEADERS, a FIN reply, and the stream bound', async () => {
    const [ss, cs] = await socketPair();
    const raw = rawPeer(cs);
    const got: SpdyStream[] = [];
    const srv = new SpdySession(ss, { role: 'server', maxConcurrentStreams: 1, onStream: (s) => got.push(s) });
    await raw.syn(1, { a: '1' }, FLAG_FIN);
    await until(() => got.length === 1);
    const [s1] = got as [SpdyStream];
    expect(await readAll(s1)).toBe(''); // the peer sends nothing on it
    await raw.syn(3, { b: '2' }); // one stream open already
    const headers: unknown[] = [];
    s1.on('headers', (h: SpdyHeaders) => headers.push({ ...h }));
    raw.send({ type: 'headers', streamId: 1, flags: 0, headerBlock: await raw.compress({ trailer: 'x' }) });
    await until(() => headers.length === 1 && raw.frames.length === 1);
    expect(headers).toEqual([{ trailer: 'x' }]);
    expect(raw.frames[0]).toEqual({ type: 'rst_stream', streamId: 3, status: 3 });
    s1.reply({ result: 'none' }, { fin: true });
    await until(() => raw.frames.length === 2 && srv.openStreams === 0);
    expect(raw.frames[1]).toMatchObject({ type: 'syn_reply', streamId: 1, flags: FLAG_FIN });
    await raw.syn(5, {}, FLAG_UNIDIRECTIONAL);
    await until(() => got.length === 2);
    expect(got[1]?.writableEnded).toBe(true); // we may not send on it
    srv.close();
  });

  it('drops PING echoes while its output is backed up by a peer that does not read', async () => {
    const stuck = new Duplex({ read() { /* fed below */ }, write() { /* never completes: the peer does not read */ } });
    const srv = new SpdySession(stuck, { role: 'server', onStream: () => undefined });
    const ping = serializeFrame({ type: 'ping', id: 1 });
    for (let i = 0; i < 20; i++) stuck.push(Buffer.concat(Array.from({ length: 10_000 }, () => ping)));
    await until(() => stuck.readableLength === 0);
    await new Promise((r) => setImmediate(r));
    expect(stuck.writableLength).toBeGreaterThan(1024 * 1024 - 100);
    expect(stuck.writableLength).toBeLessThan(1024 * 1024 + 100); // not 200,000 echoes
    expect(srv.closed).toBe(false);
    stuck.destroy();
  });

  it('closes after the idle timeout only when no stream is open', async () => {
    const { server, client, next } = await sessions({ idleTimeoutMs: 150 });
    const a = await open(client, { streamtype: 'data' });
    const b = await next();
    await new Promise((r) => setTimeout(r, 400));
    expect(server.closed).toBe(false);
    a.end();
    b.end();
    await readAll(b);
    const t0 = Date.now();
    await once(server, 'close');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('reports the transport closing under it', async () => {
    const { server, client, cs } = await sessions();
    const closed = once(server, 'close');
    const s = client.openStream({ streamtype: 'data' });
    cs.destroy();
    await closed;
    expect(server.closed).toBe(true);
    expect(s.destroyed).toBe(true);
  });

  it('runs over a WebSocket tunnel, whatever the message boundaries', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanup.push(() => wss.close());
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const serverWs = once(wss, 'connection');
    // kubectl offers `SPDY/3.1+portforward.k8s.io`, which `ws` refuses ('/' is no token character).
    const clientWs = new WebSocket(url);
    await once(clientWs, 'open');
    const [sws] = (await serverWs) as [WebSocket];
    const got: SpdyStream[] = [];
    const server = new SpdySession(createWebSocketStream(sws), { role: 'server', onStream: (s) => { s.reply(); got.push(s); s.pipe(s); } });
    const client = new SpdySession(createWebSocketStream(clientWs), { role: 'client' });
    const data = randomBytes(1024 * 1024);
    const s = client.openStream({ streamtype: 'data', port: '80', requestid: '0' });
    const echoed: Buffer[] = [];
    s.on('data', (c: Buffer) => echoed.push(c));
    s.end(data);
    await once(s, 'end');
    expect(Buffer.concat(echoed).equals(data)).toBe(true);
    client.close();
    await once(server, 'close');

    // spdystream writes each field separately: through a tunnel that is one message per field.
    const serverWs2 = once(wss, 'connection');
    const raw = new WebSocket(url);
    await once(raw, 'open');
    const [sws2] = (await serverWs2) as [WebSocket];
    const streams: SpdyStream[] = [];
    const srv2 = new SpdySession(createWebSocketStream(sws2), { role: 'server', onStream: (st) => { st.reply(); streams.push(st); } });
    const trace = Buffer.from(GO_EXEC_TRACE, 'hex');
    for (let o = 0; o < trace.length; o += 3) raw.send(trace.subarray(o, o + 3));
    await until(() => streams.length === 5);
    expect(streams.map((x) => x.headers.streamtype)).toEqual(['error', 'stdin', 'stdout', 'stderr', 'resize']);
    expect(await readAll(streams[1] as SpdyStream)).toBe('hello world\n');
    srv2.close();
  });
});
