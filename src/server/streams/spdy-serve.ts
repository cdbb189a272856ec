/**
 * The streaming subresources over SPDY/3.1 sessions, as the kubelet serves them
 * (pkg/kubelet/cri/streaming/{remotecommand,portforward}/httpstream.go):
 * - remote command (exec, attach): the client opens one stream per channel, each with a
 *   `streamtype` header (`error`, `stdin`, `stdout`, `stderr`, `resize`); the session starts
 *   once every stream the request asked for is there (30 s at most), and ends with the outcome
 *   on the error stream;
 * - port-forward: the client opens an `error` and a `data` stream per connection, paired by
 *   their `requestid` header and naming the `port`; any number of them, concurrently.
 * Every peer stream is answered (SYN_REPLY) at once: kubectl waits for each before opening the
 * next.
 */
import type { SpdySession, SpdyStream } from './spdy-session.js';
import type { RemoteCommandStreams } from './remotecommand.js';

/** How long a session waits for the streams its request announced (the kubelet's stream creation timeout). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** The remote-command protocols over SPDY, newest first (`X-Stream-Protocol-Version`). */
export const SPDY_REMOTECOMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;

/** The port-forward protocol over SPDY. */
export const SPDY_PORTFORWARD_PROTOCOL = 'portforward.k8s.io';

/** The remote-command version of a negotiated protocol (1 for `channel.k8s.io`). */
export function remoteCommandVersion(protocol: string): number {
  const m = /^v(\d+)\./.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/** Which streams a remote-command request announced. */
export interface AnnouncedStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Ends `s` (FIN) and resolves once it is written, or at once when it is gone. */
function endStream(s: SpdyStream | undefined): Promise<void> {
  if (!s || s.destroyed || s.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('finish', resolve);
    s.once('close', resolve);
    s.end();
  });
}

/**
 * Collects the remote-command streams of a SPDY session as they are opened (call
 * {@link RemoteCommandCollector.onStream} from the session's `onStream`) and calls `start` with
 * them once all announced streams are there; closes the session when they do not come in time.
 */
export class RemoteCommandCollector {
  private readonly streams = new Map<string, SpdyStream>();
  private started = false;
  private session: SpdySession | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly version: number,
    private readonly want: AnnouncedStreams,
    private readonly start: (streams: RemoteCommandStreams) => void,
  ) {
    this.timer = setTimeout(() => {
      if (!this.started) this.session?.close();
    }, STREAM_CREATION_TIMEOUT_MS);
    this.timer.unref();
  }

  /** The session, once upgraded (for closing it). */
  attach(session: SpdySession): void {
    this.session = session;
    session.once('close', () => clearTimeout(this.timer));
  }

  private expected(): string[] {
    const e = ['error'];
    if (this.want.stdin) e.push('stdin');
    if (this.want.stdout) e.push('stdout');
    if (this.want.stderr && !this.want.tty) e.push('stderr');
    if (this.want.tty && this.version >= 3) e.push('resize');
    return e;
  }

  /** A stream the client opened: answered at once, kept by its type; unknown types are reset. */
  onStream(s: SpdyStream): void {
    const type = (s.headers['streamtype'] ?? '').toLowerCase();
    s.on('error', () => {});
    if (!['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type) || this.streams.has(type) || this.started) {
      s.reset();
      return;
    }
    s.reply();
    this.streams.set(type, s);
    // Streams we only write: what the client might send on them is dropped.
    if (type === 'stdout' || type === 'stderr' || type === 'error') s.resume();
    if (this.expected().every((t) => this.streams.has(t))) {
      this.started = true;
      clearTimeout(this.timer);
      this.start(this.remoteCommandStreams());
    }
  }

  private remoteCommandStreams(): RemoteCommandStreams {
    const get = (t: string): SpdyStream | undefined => this.streams.get(t);
    const error = get('error');
    const stdin = get('stdin');
    const stdout = get('stdout');
    const stderr = get('stderr');
    const resize = get('resize');
    const session = this.session;
    const closed = new Promise<void>((resolve) => {
      if (!session || session.closed) resolve();
      else session.once('close', () => resolve());
    });
    return {
      version: this.version,
      ...(stdin ? { stdin } : {}),
      ...(stdout ? { stdout } : {}),
      ...(stderr ? { stderr } : {}),
      ...(resize ? { resize } : {}),
      writeError: (data) => new Promise((resolve, reject) => {
        if (!error || error.destroyed) {
          reject(new Error('no error stream'));
          return;
        }
        error.write(data, (err) => (err ? reject(err) : resolve()));
      }),
      finish: () => {
        // Flush what the client still has to read before the session goes (close resets unfinished streams).
        void Promise.all([endStream(stdout), endStream(stderr), endStream(error)]).then(() => session?.close());
      },
      closed,
    };
  }
}

/** One port-forward connection's streams, paired by `requestid`. */
interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Pairs the port-forward streams of a SPDY session (call {@link PortForwardPairs.onStream}
 * from the session's `onStream`) and calls `forward` for each complete pair; a pair whose second
 * stream does not come in time is reset.
 */
export class PortForwardPairs {
  private readonly pairs = new Map<string, Pair>();

  constructor(private readonly forward: (port: string, data: SpdyStream, error: SpdyStream) => void) {}

  /** A stream the client opened: answered at once and paired. */
  onStream(s: SpdyStream): void {
    s.on('error', () => {});
    const type = (s.headers['streamtype'] ?? '').toLowerCase();
    const id = s.headers['requestid'] ?? '';
    if ((type !== 'data' && type !== 'error') || id === '') {
      s.reset();
      return;
    }
    let pair = this.pairs.get(id);
    if (!pair) {
      const timer = setTimeout(() => {
        const p = this.pairs.get(id);
        this.pairs.delete(id);
        p?.data?.reset();
        p?.error?.reset();
      }, STREAM_CREATION_TIMEOUT_MS);
      timer.unref();
      pair = { timer };
      this.pairs.set(id, pair);
    }
    if (pair[type]) {
      s.reset();
      return;
    }
    s.reply();
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      this.pairs.delete(id);
      // The client sends nothing on the error stream (it half-closes it at once).
      pair.error.resume();
      this.forward(s.headers['port'] ?? pair.data.headers['port'] ?? '', pair.data, pair.error);
    }
  }

  /** Cancels the waits (the session closed). */
  dispose(): void {
    for (const p of this.pairs.values()) clearTimeout(p.timer);
    this.pairs.clear();
  }
}

export { endStream };
