/**
 * One stream of a SPDY session (spdy-session.ts): the byte `Duplex` that carries a kubectl exec
 * channel or a port-forward connection. The stream turns writes into DATA frames, its end into a
 * FIN, and the peer's frames the session hands it into reads and events; it reaches the session
 * only through {@link SpdyStreamHost}, so this module does not import the session's. Re-exported
 * by spdy-session.ts.
 */
import { Duplex } from 'node:stream';
import type { SpdyFrame } from './spdy-frames.js';
import type { SpdyHeaders } from './spdy-headers.js';
import { FLAG_FIN, RstStatus } from './spdy-protocol.js';

/**
 * @internal What a {@link SpdyStream} needs from its session (implemented by `SpdySession`):
 * queueing its frames in order, the write back-pressure, the read back-pressure of the transport,
 * and forgetting the stream once it is over.
 */
export interface SpdyStreamHost {
  /** Largest DATA payload written per frame. */
  readonly maxDataFrameSize: number;
  /** Queues a frame (never throws; nothing is sent once the transport ended). */
  sendFrame(frame: SpdyFrame): void;
  /** Queues a frame carrying `headers`, compressed in the order of these calls. */
  sendHeaders(type: 'syn_reply' | 'headers', streamId: number, flags: number, headers: SpdyHeaders): void;
  /** Calls `cb` once queued frames were handed to the transport without it asking to wait. */
  whenWritable(cb: () => void): void;
  /** The stream's reader is full: stop reading the transport. */
  block(stream: SpdyStream): void;
  /** The stream's reader wants more (or it is gone). */
  unblock(stream: SpdyStream): void;
  /** The stream is over at the protocol level (or destroyed): forget it. */
  retire(stream: SpdyStream): void;
}

/**
 * One SPDY stream: a byte `Duplex` (writes become DATA frames of at most `maxDataFrameSize`,
 * `end()` a FIN, the peer's FIN ends the readable side; both directions close independently).
 * Events besides the stream ones: `'reply'` (headers of the peer's SYN_REPLY), `'headers'` (a
 * HEADERS frame), `'reset'` (status, `byPeer`) just before an RST_STREAM either way destroys it.
 * A reset stream is destroyed without an error, so an unreported reset never crashes the process.
 * Destroying a stream not finished both ways sends RST_STREAM CANCEL (spdystream's `Reset`): do
 * not read one with `for await`, which destroys it at the end, unless done writing
 * (`stream.iterator({ destroyOnReturn: false })` does not).
 */
export class SpdyStream extends Duplex {
  /** Headers the peer replied with (streams we opened), once `'reply'` was emitted. */
  replyHeaders: SpdyHeaders | undefined;
  /** The RST_STREAM status that ended the stream, whoever sent it. */
  resetStatus: number | undefined;
  private replied: boolean;
  private sentFin = false;
  private remoteFin = false;

  /** @internal Created by the session (`SpdySession`); `headers` are the SYN_STREAM's, the peer's or ours. */
  constructor(private readonly session: SpdyStreamHost, readonly id: number, readonly headers: SpdyHeaders, readonly peerInitiated: boolean) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.replied = !peerInitiated;
  }

  /** Sends SYN_REPLY (peer streams only; once: later calls and calls after a write do nothing). */
  reply(headers: SpdyHeaders = {}, opts: { fin?: boolean } = {}): void {
    if (this.replied || this.destroyed) return;
    this.replied = true;
    const fin = opts.fin === true && !this.sentFin;
    if (fin) this.sentFin = true;
    this.session.sendHeaders('syn_reply', this.id, fin ? FLAG_FIN : 0, headers);
    if (fin) { this.end(); this.retireIfDone(); }
  }

  /** Sends RST_STREAM `status` (default CANCEL) and destroys the stream. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.destroyed || this.resetStatus !== undefined) return;
    this.resetStatus = status;
    this.session.sendFrame({ type: 'rst_stream', streamId: this.id, status });
    this.emit('reset', status, false);
    this.destroy();
  }

  /** True once both sides sent FIN or the stream was reset. */
  get done(): boolean { return this.resetStatus !== undefined || (this.sentFin && this.remoteFin); }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.sentFin) { cb(new Error(`SPDY stream ${this.id} is closed for writing`)); return; }
    this.reply();
    const max = this.session.maxDataFrameSize;
    for (let o = 0; o < chunk.length; o += max) this.session.sendFrame({ type: 'data', streamId: this.id, flags: 0, data: chunk.subarray(o, o + max) });
    this.session.whenWritable(cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.sentFin && this.resetStatus === undefined) {
      this.reply();
      this.sentFin = true;
      this.session.sendFrame({ type: 'data', streamId: this.id, flags: FLAG_FIN, data: Buffer.alloc(0) });
      this.retireIfDone();
    }
    this.session.whenWritable(cb);
  }

  override _read(): void { this.session.unblock(this); }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.done) {
      this.resetStatus = RstStatus.CANCEL;
      this.session.sendFrame({ type: 'rst_stream', streamId: this.id, status: RstStatus.CANCEL });
    }
    this.session.retire(this);
    this.session.unblock(this);
    cb(err);
  }

  /** @internal The peer's DATA payload (FIN: its last). */
  onData(data: Buffer, fin: boolean): void {
    if (this.remoteFin || this.destroyed) return;
    if (data.length > 0 && !this.push(data)) this.session.block(this);
    if (fin) this.onRemoteFin();
  }

  /** @internal The peer half-closed the stream. */
  onRemoteFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    this.push(null);
    this.retireIfDone();
  }

  /** @internal The peer's SYN_REPLY. */
  onReply(headers: SpdyHeaders, fin: boolean): void {
    if (this.replyHeaders !== undefined || this.peerInitiated) return;
    this.replyHeaders = headers;
    this.emit('reply', headers);
    if (fin) this.onRemoteFin();
  }

  /** @internal The peer's HEADERS frame. */
  onHeaders(headers: SpdyHeaders, fin: boolean): void {
    this.emit('headers', headers);
    if (fin) this.onRemoteFin();
  }

  /** @internal The peer's RST_STREAM. */
  onReset(status: number): void {
    if (this.destroyed) return;
    this.resetStatus = status;
    this.emit('reset', status, true);
    this.destroy();
  }

  /** @internal Sending is over before the first byte (UNIDIRECTIONAL, or our SYN_STREAM had FIN). */
  closeLocal(): void {
    this.sentFin = true;
    this.end();
  }

  private retireIfDone(): void { if (this.done) this.session.retire(this); }
}
