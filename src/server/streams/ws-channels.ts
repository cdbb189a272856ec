/**
 * Kubernetes' channel protocols over WebSocket (`channel.k8s.io` and its versions): every
 * message starts with a channel number (a byte, or an ASCII digit with base64 data in the
 * `base64.` variants); `v5.channel.k8s.io` adds the close signal (`[255, channel]`: the client
 * half-closes one of its channels, e.g. stdin at EOF). This module turns one WebSocket into
 * Node streams, one per channel, with back-pressure both ways. What each channel means
 * (stdin, stdout, …, or a forwarded port's data and errors) is the caller's.
 */
import { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';

/** One WebSocket subprotocol of the channel family. */
export interface ChannelProtocol {
  /** The subprotocol as negotiated (`v5.channel.k8s.io`; empty when the client asked for none). */
  name: string;
  /** `base64`: text messages, channel as an ASCII digit, data base64-encoded. */
  codec: 'binary' | 'base64';
  /** Remote-command version the protocol carries (1 for the unversioned ones). */
  version: number;
}

/** The close signal's channel byte (v5). */
const CLOSE_CHANNEL = 255;

/**
 * The subprotocols a server offers, in its order of preference; `channelProtocols` picks the
 * client's first one the server supports (as `wsstream`'s handshake does), `''` standing for a
 * client that offered none.
 */
export function channelProtocol(offered: readonly string[], supported: readonly ChannelProtocol[]): ChannelProtocol | undefined {
  const asked = offered.length === 0 ? [''] : offered;
  for (const name of asked) {
    const p = supported.find((s) => s.name === name);
    if (p) return p;
  }
  return undefined;
}

/** Options of {@link WsChannels}. */
export interface WsChannelsOptions {
  /** Channels the client may write (others' messages are dropped, as `wsstream` ignores them). */
  inbound: readonly number[];
  /** Bytes a channel may hold unread before the socket is paused. */
  highWaterMark?: number;
}

/**
 * One WebSocket as numbered channels. {@link inbound} streams carry what the client sends on a
 * channel and end at the client's close signal or when the connection ends; {@link outbound}
 * streams send on a channel, each write completing once its message was handed to the socket.
 */
export class WsChannels {
  private readonly readers = new Map<number, Readable>();
  /** Inbound channels whose reader is full: the socket is paused while there is one. */
  private readonly pausedBy = new Set<number>();
  /** Resolves when the WebSocket has closed (either side, or the connection broke). */
  readonly closed: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    readonly protocol: ChannelProtocol,
    opts: WsChannelsOptions,
  ) {
    const hwm = opts.highWaterMark ?? 256 * 1024;
    for (const ch of opts.inbound) {
      const r: Readable = new Readable({
        highWaterMark: hwm,
        read: () => {
          if (this.pausedBy.delete(ch) && this.pausedBy.size === 0) ws.resume();
        },
      });
      this.readers.set(ch, r);
    }
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.onMessage(toBuffer(data), isBinary));
    this.closed = new Promise((resolve) => {
      ws.once('close', () => {
        for (const [ch, r] of this.readers) this.end(ch, r);
        resolve();
      });
    });
    ws.on('error', () => {
      // The close that follows ends everything; an error has nothing else to tell the client.
    });
  }

  /** Inbound channels already ended (a push after EOF throws: `readableEnded` turns true only once read). */
  private readonly ended = new Set<number>();

  private end(ch: number, r: Readable): void {
    if (this.ended.has(ch)) return;
    this.ended.add(ch);
    r.push(null);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (data.length === 0) return;
    const base64 = this.protocol.codec === 'base64';
    if (base64 && isBinary) return;
    let ch = data[0] ?? 0;
    if (base64) ch -= 0x30;
    let body = data.subarray(1);
    if (!base64 && ch === CLOSE_CHANNEL && this.protocol.version >= 5) {
      const target = body[0];
      const r = target === undefined ? undefined : this.readers.get(target);
      if (r && target !== undefined) this.end(target, r);
      return;
    }
    const r = this.readers.get(ch);
    if (!r || this.ended.has(ch)) return;
    if (base64) {
      const text = body.toString('latin1');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return;
      body = Buffer.from(text, 'base64');
    }
    if (body.length === 0) return;
    if (!r.push(Buffer.from(body)) && !this.pausedBy.has(ch)) {
      this.pausedBy.add(ch);
      if (this.pausedBy.size === 1) this.ws.pause();
    }
  }

  /** What the client sends on channel `ch` (one of `inbound`). */
  inbound(ch: number): Readable {
    const r = this.readers.get(ch);
    if (!r) throw new Error(`channel ${ch} is not inbound`);
    return r;
  }

  /** A stream that sends on channel `ch`; ending it sends nothing (channels end with the connection). */
  outbound(ch: number): Writable {
    return new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => this.send(ch, chunk, cb),
    });
  }

  /** Sends `data` on channel `ch`; `cb` runs once the message was handed to the socket (or failed). */
  send(ch: number, data: Buffer, cb: (err?: Error | null) => void = () => {}): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      cb(new Error('the connection is closed'));
      return;
    }
    if (this.protocol.codec === 'base64') this.ws.send(String.fromCharCode(0x30 + ch) + data.toString('base64'), { binary: false }, (err) => cb(err));
    else this.ws.send(Buffer.concat([Buffer.of(ch), data]), { binary: true }, (err) => cb(err));
  }

  /** Ends every inbound channel (what the client still sends is dropped). */
  endInbound(): void {
    for (const [ch, r] of this.readers) {
      this.end(ch, r);
      r.resume();
    }
    this.readers.clear();
    if (this.pausedBy.size > 0) {
      this.pausedBy.clear();
      this.ws.resume();
    }
  }

  /** Sends the close frame (normal closure); the connection ends when the client answers it (ws waits 30 s at most). */
  close(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  /** Drops the connection at once. */
  terminate(): void {
    this.ws.terminate();
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
