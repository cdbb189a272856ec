/**
 * A SPDY/3.1 session over any byte `Duplex` (a socket after an HTTP upgrade, or a WebSocket made
 * a stream), behaving as Go's `moby/spdystream` does towards kubectl and the kubelet:
 *
 * - Stream ids: the client opens odd ids from 1, the server even ids from 2; a peer's new id must
 *   have the peer's parity and exceed every id it used before, else RST_STREAM PROTOCOL_ERROR.
 * - Flow control: none. spdystream never sends WINDOW_UPDATE or SETTINGS and ignores those it
 *   receives, so honouring SPDY/3.1's 64 KiB windows would stall kubectl; both are parsed and
 *   ignored here too. Back-pressure comes from the transport: writes wait for its `drain`, and
 *   while any stream's reader is full the transport is paused (spdystream blocks its frame
 *   workers the same way: a stream nobody reads stalls the connection).
 * - DATA before SYN_REPLY is dropped by spdystream, so a stream the peer opened is replied to
 *   (empty headers) before its first DATA or FIN if the caller did not `reply()` first.
 * - PING: a peer's ping (other parity) is echoed; ours resolve {@link SpdySession.ping}.
 * - GOAWAY: sent by {@link SpdySession.close} (status OK, last peer stream accepted) and on a
 *   protocol error; after the peer's, no stream opens and the session closes once none is open.
 * - Nothing is sent before the peer's first frame unless asked: kubectl reads the 101 response
 *   through a buffered reader it then drops, so early bytes would be lost.
 * - Bounds: frame and header limits (see spdy-protocol.ts), `maxConcurrentStreams`, and replies
 *   the peer provokes (PING echoes, refusals) are dropped while our output is backed up.
 *
 * The streams ({@link SpdyStream}) are in spdy-stream.ts, re-exported here.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { FrameParser, serializeFrame, type SpdyFrame } from './spdy-frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './spdy-headers.js';
import {
  DEFAULT_FRAME_LIMITS, FLAG_FIN, FLAG_UNIDIRECTIONAL, GoAwayStatus, MAX_STREAM_ID, RstStatus, SpdyProtocolError, type FrameLimits,
} from './spdy-protocol.js';
import { SpdyStream, type SpdyStreamHost } from './spdy-stream.js';

export { SpdyStream } from './spdy-stream.js';

/**
 * Bytes the transport may hold unsent before replies the peer provokes (PING echoes, RST_STREAM
 * refusals) are dropped: a peer that floods without reading must not grow our memory.
 */
const REPLY_BACKLOG = 1024 * 1024;

/** Options of a {@link SpdySession}. */
export interface SpdySessionOptions {
  /** `'server'`: the peer opens odd streams (kubectl's side is the client). */
  role: 'server' | 'client';
  /** Called for each stream the peer opens (also the `'stream'` event); with no listener streams are refused. */
  onStream?: (stream: SpdyStream) => void;
  /**
   * Close the session (GOAWAY) when nothing was received for this long and no stream is open
   * (0: never, the default; the kubelet uses 4 h). spdystream's `SetIdleTimeout` also drops silent
   * connections with open streams; kubectl pings every 5 s, so a live kubectl never idles out.
   */
  idleTimeoutMs?: number;
  /** Largest DATA payload written per frame (default 32 KiB, Go's `io.Copy` buffer: what the kubelet sends). */
  maxDataFrameSize?: number;
  /** Most streams open at once; further peer streams are refused (default 1000; spdystream has no bound). */
  maxConcurrentStreams?: number;
  /** How long `close()` lets the peer close the transport before destroying it (default 5000 ms). */
  closeTimeoutMs?: number;
  /** Parser and header bounds (defaults: {@link DEFAULT_FRAME_LIMITS}). */
  limits?: Partial<FrameLimits>;
}

/**
 * A SPDY session (see the module comment for the protocol behaviour). Events: `'stream'`
 * (a {@link SpdyStream} the peer opened), `'goaway'` (lastGoodStreamId, status), `'settings'`
 * (entries, for diagnostics), `'close'` (the error that ended it, if any: a
 * {@link SpdyProtocolError} or the transport's error). It never emits `'error'`.
 */
export class SpdySession extends EventEmitter implements SpdyStreamHost {
  readonly role: 'server' | 'client';
  /** @internal */
  readonly maxDataFrameSize: number;
  /** The error that ended the session, if one did. */
  closeError: Error | undefined;
  private readonly parser: FrameParser;
  private readonly inflater: HeaderDecompressor;
  private readonly deflater = new HeaderCompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly maxStreams: number;
  private readonly closeTimeoutMs: number;
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private readonly pings = new Map<number, { start: number; resolve: (ms: number) => void; reject: (e: Error) => void }>();
  private inbox: (SpdyFrame | SpdyProtocolError)[] = [];
  private inboxHead = 0;
  private pumping = false;
  /** A header block is being inflated: reading stops meanwhile, so the frames behind it stay few. */
  private inflating = false;
  /** Frames to write, in order; `null` while a header block is still being compressed. */
  private readonly out: { buf: Buffer | null }[] = [];
  private needDrain = false;
  private waiters: (() => void)[] = [];
  private readonly blocked = new Set<SpdyStream>();
  private paused = false;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private peerGoneAway = false;
  private lastReceived = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly transport: Duplex, options: SpdySessionOptions) {
    super();
    this.role = options.role;
    const limits = { ...DEFAULT_FRAME_LIMITS, ...options.limits };
    this.parser = new FrameParser(limits);
    this.inflater = new HeaderDecompressor(limits);
    this.maxDataFrameSize = Math.max(1, Math.min(options.maxDataFrameSize ?? 32 * 1024, 0xffffff));
    this.maxStreams = options.maxConcurrentStreams ?? 1000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.nextStreamId = this.role === 'client' ? 1 : 2;
    this.nextPingId = this.nextStreamId;
    if (options.onStream) this.on('stream', options.onStream);
    transport.on('data', (chunk: Buffer) => this.onChunk(chunk));
    transport.on('drain', () => { this.needDrain = false; this.flushOut(); });
    transport.on('end', () => this.shutdown());
    transport.on('error', (e: Error) => { this.closeError ??= e; this.finish(); });
    transport.on('close', () => this.finish());
    const idle = options.idleTimeoutMs ?? 0;
    if (idle > 0) this.armIdle(idle, idle);
    if (transport.destroyed) queueMicrotask(() => this.finish());
  }

  /** True once the session stopped accepting frames (closing or closed). */
  get closed(): boolean { return this.state !== 'open'; }

  /** Streams currently open (not yet finished both ways, reset or destroyed). */
  get openStreams(): number { return this.streams.size; }

  /**
   * Opens a stream with SYN_STREAM `headers` and returns it at once, as spdystream's
   * `CreateStream` does (data may be written before the reply; `'reply'` tells when it came).
   * `fin`: nothing will be sent on it. Throws when the session is closed or went away, or the
   * ids are exhausted.
   */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean; priority?: number } = {}): SpdyStream {
    if (this.state !== 'open' || this.peerGoneAway) throw new Error('SPDY session is closed');
    const id = this.nextStreamId;
    if (id > MAX_STREAM_ID) throw new Error('SPDY stream ids exhausted');
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, { ...headers }, false);
    this.streams.set(id, stream);
    const flags = opts.fin === true ? FLAG_FIN : 0;
    this.sendAsync(this.deflater.compress(headers).then((headerBlock) =>
      serializeFrame({ type: 'syn_stream', streamId: id, associatedId: 0, priority: opts.priority ?? 0, slot: 0, flags, headerBlock })));
    if (opts.fin === true) stream.closeLocal();
    return stream;
  }

  /** Sends a PING; resolves with the round trip in ms, rejects if the session closes first. */
  ping(): Promise<number> {
    if (this.state !== 'open') return Promise.reject(new Error('SPDY session is closed'));
    const id = this.nextPingId;
    this.nextPingId = id > 0x7ffffffe ? id - 0x7ffffffe : id + 2;
    return new Promise((resolve, reject) => {
      this.pings.set(id, { start: Date.now(), resolve, reject });
      this.sendFrame({ type: 'ping', id });
    });
  }

  /**
   * Ends the session as the kubelet's `conn.Close()` does: RST_STREAM CANCEL for every unfinished
   * stream (data a stream still buffers is dropped: end streams and await `'finish'` first), then
   * GOAWAY, then ends the transport, destroying it if the peer has not closed after `closeTimeoutMs`.
   */
  close(): void { this.shutdown(GoAwayStatus.OK); }

  /** @internal Queues a frame (never throws; nothing is sent once the transport ended). */
  sendFrame(frame: SpdyFrame): void {
    if (this.state === 'closed') return;
    const buf = serializeFrame(frame);
    if (this.out.length === 0) this.write(buf);
    else this.out.push({ buf });
  }

  /** @internal Queues a frame carrying `headers`, compressed in the order of these calls. */
  sendHeaders(type: 'syn_reply' | 'headers', streamId: number, flags: number, headers: SpdyHeaders): void {
    if (this.state === 'closed') return;
    this.sendAsync(this.deflater.compress(headers).then((headerBlock) => serializeFrame({ type, streamId, flags, headerBlock })));
  }

  /** @internal Calls `cb` once queued frames were handed to the transport without it asking to wait. */
  whenWritable(cb: () => void): void {
    if (this.state === 'closed' || (this.out.length === 0 && !this.needDrain)) cb();
    else this.waiters.push(cb);
  }

  /** @internal A stream's reader is full: stop reading the transport. */
  block(stream: SpdyStream): void {
    this.blocked.add(stream);
    this.updateFlow();
  }

  /** @internal A stream's reader wants more (or it is gone). */
  unblock(stream: SpdyStream): void { if (this.blocked.delete(stream)) this.updateFlow(); }

  /** @internal The stream is over at the protocol level (or destroyed): forget it. */
  retire(stream: SpdyStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (this.peerGoneAway && this.streams.size === 0) this.shutdown(GoAwayStatus.OK);
  }

  private sendAsync(frame: Promise<Buffer>): void {
    const slot: { buf: Buffer | null } = { buf: null };
    this.out.push(slot);
    frame.then((buf) => { slot.buf = buf; this.flushOut(); }, (e: unknown) => this.fail(e));
  }

  private write(buf: Buffer): void {
    if (this.transport.destroyed || this.transport.writableEnded) return;
    if (!this.transport.write(buf)) this.needDrain = true;
  }

  private flushOut(): void {
    while (this.out.length > 0 && this.out[0]?.buf) this.write((this.out.shift() as { buf: Buffer }).buf);
    if (this.out.length > 0) return;
    if (this.state === 'closing' && !this.transport.writableEnded && !this.transport.destroyed) this.transport.end();
    if (this.needDrain && this.state !== 'closed') return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private updateFlow(): void {
    const pause = this.state === 'open' && (this.blocked.size > 0 || this.inflating);
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.transport.pause();
    else this.transport.resume();
  }

  private onChunk(chunk: Buffer): void {
    this.lastReceived = Date.now();
    if (this.state !== 'open') return;
    const { frames, error } = this.parser.push(chunk);
    for (const f of frames) this.inbox.push(f);
    if (error !== null) this.inbox.push(error);
    if (!this.pumping) void this.pump();
  }

  /** Handles inbox frames in order; header blocks are awaited, everything else handled at once. Never rejects. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.inboxHead < this.inbox.length && this.state === 'open') {
        const f = this.inbox[this.inboxHead++] as SpdyFrame | SpdyProtocolError;
        if (f instanceof SpdyProtocolError) throw f;
        if (f.type !== 'syn_stream' && f.type !== 'syn_reply' && f.type !== 'headers') { this.handle(f); continue; }
        let headers: SpdyHeaders;
        this.inflating = true;
        this.updateFlow();
        try {
          headers = await this.inflater.decompress(f.headerBlock, f.streamId);
        } catch (e) {
          if (!(e instanceof SpdyProtocolError) || e.scope !== 'stream') throw e;
          this.answer({ type: 'rst_stream', streamId: f.streamId, status: e.status });
          this.streams.get(f.streamId)?.onReset(e.status);
          continue;
        }
        if (this.state !== 'open') break;
        this.handle(f, headers);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.inbox = this.inbox.slice(this.inboxHead);
      this.inboxHead = 0;
      this.pumping = false;
      this.inflating = false;
      this.updateFlow();
    }
  }

  /** One frame, in order; header-bearing frames come with their decoded `headers`. */
  private handle(f: SpdyFrame, headers: SpdyHeaders = {}): void {
    const stream = 'streamId' in f ? this.streams.get(f.streamId) : undefined;
    const fin = 'flags' in f && (f.flags & FLAG_FIN) !== 0;
    switch (f.type) {
      case 'data': stream?.onData(f.data, fin); break;
      case 'syn_stream': this.onSynStream(f.streamId, f.flags, headers); break;
      case 'syn_reply': stream?.onReply(headers, fin); break;
      case 'headers': stream?.onHeaders(headers, fin); break;
      case 'rst_stream': stream?.onReset(f.status); break;
      case 'settings': this.emit('settings', f.entries); break;
      case 'ping': this.onPing(f.id); break;
      case 'goaway': this.onGoAway(f.lastGoodStreamId, f.status); break;
      default: break; // WINDOW_UPDATE and unknown control frames: ignored, as spdystream does
    }
  }

  /** A reply the peer provoked, dropped while our output is backed up (see {@link REPLY_BACKLOG}). */
  private answer(frame: SpdyFrame): void { if (this.transport.writableLength <= REPLY_BACKLOG) this.sendFrame(frame); }

  private onSynStream(id: number, flags: number, headers: SpdyHeaders): void {
    const peerParity = this.role === 'server' ? 1 : 0;
    if ((id & 1) !== peerParity || id <= this.lastPeerStreamId) {
      this.answer({ type: 'rst_stream', streamId: id, status: RstStatus.PROTOCOL_ERROR });
      return;
    }
    this.lastPeerStreamId = id;
    if (this.streams.size >= this.maxStreams || this.listenerCount('stream') === 0) {
      this.answer({ type: 'rst_stream', streamId: id, status: RstStatus.REFUSED_STREAM });
      return;
    }
    const stream = new SpdyStream(this, id, headers, true);
    this.streams.set(id, stream);
    if ((flags & FLAG_UNIDIRECTIONAL) !== 0) stream.closeLocal();
    if ((flags & FLAG_FIN) !== 0) stream.onRemoteFin();
    try {
      this.emit('stream', stream);
    } catch {
      stream.reset(RstStatus.INTERNAL_ERROR); // a throwing handler must not take the session down
    }
  }

  private onPing(id: number): void {
    if ((id & 1) !== (this.nextPingId & 1)) { this.answer({ type: 'ping', id }); return; }
    const p = this.pings.get(id);
    if (p === undefined) return;
    this.pings.delete(id);
    p.resolve(Date.now() - p.start);
  }

  private onGoAway(lastGood: number, status: number): void {
    this.peerGoneAway = true;
    this.emit('goaway', lastGood, status);
    // Our streams above its last good id were never seen by the peer.
    for (const s of [...this.streams.values()]) if (!s.peerInitiated && s.id > lastGood) s.onReset(RstStatus.REFUSED_STREAM);
    if (this.streams.size === 0) this.shutdown(GoAwayStatus.OK);
  }

  private armIdle(idle: number, wait: number): void {
    this.idleTimer = setTimeout(() => {
      const quiet = Date.now() - this.lastReceived;
      if (quiet >= idle && this.streams.size === 0) this.close();
      else if (this.state === 'open') this.armIdle(idle, Math.max(idle - quiet, 1));
    }, wait);
    this.idleTimer.unref();
  }

  private fail(e: unknown): void {
    if (this.state === 'closed') return; // a pending compression rejected by finish()
    const err = e instanceof Error ? e : new Error(String(e));
    this.closeError ??= err;
    this.shutdown(err instanceof SpdyProtocolError ? err.status : GoAwayStatus.INTERNAL_ERROR);
  }

  /** Resets the streams, sends GOAWAY (`status`; none when the transport ended), ends the transport. */
  private shutdown(status?: number): void {
    if (this.state !== 'open') return;
    this.state = 'closing'; // first: destroying the last stream would call back into shutdown
    for (const s of [...this.streams.values()]) s.destroy();
    if (status !== undefined) this.sendFrame({ type: 'goaway', lastGoodStreamId: this.lastPeerStreamId, status });
    this.updateFlow();
    this.flushOut();
    this.closeTimer = setTimeout(() => this.transport.destroy(), this.closeTimeoutMs);
    this.closeTimer.unref();
  }

  /** The transport is gone: drop everything and tell. */
  private finish(): void {
    if (this.state === 'closed') return;
    if (this.state === 'open') this.shutdown();
    this.state = 'closed';
    clearTimeout(this.idleTimer);
    clearTimeout(this.closeTimer);
    this.transport.destroy();
    this.inflater.close();
    this.deflater.close();
    for (const s of [...this.streams.values()]) s.destroy();
    this.streams.clear();
    this.blocked.clear();
    for (const p of this.pings.values()) p.reject(new Error('SPDY session closed'));
    this.pings.clear();
    this.out.length = 0;
    this.flushOut();
    this.emit('close', this.closeError);
  }
}
