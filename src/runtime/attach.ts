/**
 * `kubectl attach` (the `ContainerRuntime.attach` port), shared by the runtimes: clients
 * attached to a running instance's main process. The start side (the stdin FIFO, the keeper,
 * the terminal under `script`) is stdio.ts.
 *
 * Output: the instance's CRI log followed from its end at the moment of the attach
 * (log-follow.ts), decoded into stdout and stderr (one stream on a tty, where the log holds the
 * terminal's output as stdout). Both monitors write what they read at once (`P` records for
 * pieces without a newline), so output reaches clients as it is written. The streams end once
 * the instance has exited and its monitor has finished the log (the direct monitor's writer
 * flushed; conmon writes its exit record only after draining the output), after its last
 * output; or at `detach()`. No attach changes what the monitor does: output is never lost or
 * held up for a slow client (the client's part stays in the file until it reads on).
 *
 * Input (containers with `stdin`): each client with `stdin` opens its own writer of the FIFO
 * (`O_WRONLY | O_NONBLOCK`, wrapped in a `net.Socket`: libuv then treats it as a pipe, waiting
 * for room when the FIFO is full rather than failing with EAGAIN). Writes of several clients
 * interleave by chunk. A client's end closes its writer; the container only reads EOF when no
 * writer is left, which never happens without `stdinOnce` (it holds one itself). With
 * `stdinOnce` the first end of a client with stdin (its stdin stream ends or it detaches, as
 * containerd's CRI does it) closes the container's stdin: that client's input is flushed, then
 * its writer, every other client's writer and podvisor's keeper are closed, so the container
 * reads EOF after the input. Input of later clients is dropped. On a tty, script reads that EOF
 * and types the terminal's EOF character (^D) once the terminal's input was read: a command
 * reading the terminal in canonical mode then sees EOF (after a pending line without newline
 * only the next ^D would be one).
 *
 * Resize: `stty -F /proc/<script>/fd/<slave> rows H cols W`, in order per instance; the kernel
 * sends SIGWINCH to the terminal's foreground process group.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { cells, ptySlaveOf, ttyTools } from './tty.js';
import { LogFollower } from './log-follow.js';
import { procStartTime, run, within } from './proc-util.js';
import { STDIN_FIFO, type PreparedStdio, type StdioRecord } from './stdio.js';
import { StreamUnavailableError, type AttachOptions, type AttachStream, type ContainerStdio, type TerminalSize } from './types.js';

/**
 * The stdio of one instance started with `stdin` or `tty`: its FIFO, the keeper, the terminal's
 * holder, and the clients writing to it. Created from the start's {@link PreparedStdio}, or from
 * a launch record after a podvisor restart ({@link InstanceStdio.adopted}).
 */
export class InstanceStdio {
  readonly stdio: ContainerStdio;
  private readonly fifo: string;
  private keeper: number | undefined;
  /** `stdinOnce`: the container's stdin was closed (its input is dropped from now on). */
  private stdinClosed = false;
  /** Writers of attached clients. */
  private readonly writers = new Set<net.Socket>();
  /** With `tty`: the process holding the terminal (script), and its start time. */
  private ttyPid: number | undefined;
  private ttyStartTime: string | undefined;
  private resizes: Promise<void> = Promise.resolve();

  constructor(p: PreparedStdio) {
    this.stdio = p.stdio;
    this.fifo = p.fifo;
    this.keeper = p.keeper;
  }

  /**
   * The stdio of an instance an earlier podvisor process started, from its record: its FIFO is
   * in `bundle`. With `stdinOnce` its stdin is closed (the keeper ended with that process).
   */
  static adopted(rec: StdioRecord, bundle: string): InstanceStdio {
    const s = new InstanceStdio({ stdio: { stdin: rec.stdin, stdinOnce: rec.stdinOnce, tty: rec.tty }, fifo: path.join(bundle, STDIN_FIFO) });
    if (rec.stdinOnce) s.stdinClosed = true;
    if (rec.ttyPid !== undefined) {
      s.ttyPid = rec.ttyPid;
      s.ttyStartTime = rec.ttyStartTime;
    }
    return s;
  }

  /** Records `pid` as the process holding the terminal (script), once the start found it. */
  setTerminalHolder(pid: number): void {
    this.ttyPid = pid;
    this.ttyStartTime = procStartTime(pid);
  }

  /** What a launch record keeps of it. */
  record(): StdioRecord {
    const r: StdioRecord = { ...this.stdio };
    if (this.ttyPid !== undefined) r.ttyPid = this.ttyPid;
    if (this.ttyStartTime !== undefined) r.ttyStartTime = this.ttyStartTime;
    return r;
  }

  /**
   * A writer of the FIFO for a client; undefined when input is dropped (`stdinOnce` closed it,
   * or the container no longer reads it).
   */
  openWriter(): net.Socket | undefined {
    if (this.stdinClosed) return undefined;
    let fd: number;
    try {
      fd = fs.openSync(this.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch {
      return undefined; // ENXIO: no reader (the container is gone)
    }
    const w = new net.Socket({ fd, readable: false, writable: true });
    w.on('error', () => w.destroy()); // EPIPE: the container is gone; the input is dropped
    w.once('close', () => this.writers.delete(w));
    this.writers.add(w);
    return w;
  }

  /**
   * A client's input ended (its stdin stream ended, or it detached) with `writer` (if it had
   * one): with `stdinOnce` the container's stdin is closed after that input (see the module
   * comment), else only the writer.
   */
  inputEnded(writer: net.Socket | undefined): void {
    if (!this.stdio.stdinOnce) {
      writer?.end();
      return;
    }
    if (this.stdinClosed) {
      writer?.destroy();
      return;
    }
    this.stdinClosed = true;
    for (const w of this.writers) if (w !== writer) w.destroy();
    if (writer && !writer.destroyed) writer.end(() => this.closeKeeper());
    else this.closeKeeper();
  }

  /** The instance ended: every writer and the keeper are closed. Idempotent. */
  end(): void {
    this.stdinClosed = this.stdinClosed || this.stdio.stdinOnce;
    for (const w of this.writers) w.destroy();
    this.closeKeeper();
  }

  private closeKeeper(): void {
    const k = this.keeper;
    this.keeper = undefined;
    if (k === undefined) return;
    try {
      fs.closeSync(k);
    } catch {
      // closed already
    }
  }

  /** Sets the terminal's size (in order; never of a process that reused script's PID). */
  resize(size: TerminalSize): void {
    const pid = this.ttyPid;
    if (!this.stdio.tty || pid === undefined) return;
    const rows = String(cells(size.height));
    const cols = String(cells(size.width));
    this.resizes = this.resizes.then(async () => {
      const tools = ttyTools();
      if ('missing' in tools || (this.ttyStartTime !== undefined && procStartTime(pid) !== this.ttyStartTime)) return;
      const slave = ptySlaveOf(pid);
      if (slave !== undefined) await run([tools.stty, '-F', slave, 'rows', rows, 'cols', cols], { timeoutMs: 5_000 });
    }).catch(() => {});
  }
}

/** How long attaches wait for the monitor to finish the log of an instance that exited. */
const LOG_DRAIN_MS = 2_000;

/**
 * Settles once the instance's `exited` settled and its monitor finished the log (`logged`,
 * where the monitor says it; bounded): when an attach's output ends.
 */
export function outputEnded(exited: Promise<unknown>, logged: Promise<void> | undefined): Promise<void> {
  return exited.then(async () => {
    if (logged) await within(logged, LOG_DRAIN_MS);
  }, () => undefined);
}

/** What an attach needs of an instance. */
export interface AttachTarget {
  /** The container ID (for messages). */
  id: string;
  /** Its CRI log file. */
  logFile: string;
  /** Settles once the instance has exited and its monitor finished the log. */
  ended: Promise<unknown>;
  /** Its stdio; undefined for a container started without `stdin` and `tty` (output only). */
  stdio?: InstanceStdio;
}

/** One attached client. */
class Attachment implements AttachStream {
  readonly stdout = new PassThrough();
  readonly stderr?: PassThrough;
  readonly stdin?: Writable;
  private readonly follower: LogFollower;
  private writer: net.Socket | undefined;
  private inputDone = false;
  private detached = false;

  constructor(private readonly target: AttachTarget, opts: AttachOptions, private readonly onDone: (a: Attachment) => void) {
    const tty = target.stdio?.stdio.tty === true;
    if (!tty) this.stderr = new PassThrough();
    const outs = [this.stdout, ...(this.stderr ? [this.stderr] : [])];
    this.follower = LogFollower.start(target.logFile, (stream, data) => {
      const dst = stream === 'stderr' && this.stderr ? this.stderr : this.stdout;
      return dst.destroyed || dst.writableEnded ? true : dst.write(data);
    }, target.ended, () => this.endOutput());
    for (const o of outs) {
      o.on('drain', () => this.follower.resume());
      // A client that went away (its stream destroyed) is detached.
      o.once('close', () => this.detach());
    }
    if (opts.stdin && target.stdio) {
      const stdio = target.stdio;
      this.writer = stdio.openWriter();
      this.stdin = new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          const w = this.writer;
          if (!w || w.destroyed || w.writableEnded) {
            cb(); // dropped: the container's stdin is closed
            return;
          }
          w.write(chunk, () => cb()); // a failed write (container gone) drops the input
        },
        final: (cb) => {
          this.endInput();
          cb();
        },
      });
      this.stdin.on('error', () => {});
    }
  }

  resize(size: TerminalSize): void {
    if (!this.detached) this.target.stdio?.resize(size);
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.follower.stop();
    this.endInput();
    this.stdin?.destroy();
    this.stdout.end();
    this.stderr?.end();
    this.onDone(this);
  }

  /** This client's input is over (once): its writer closes, and with `stdinOnce` the container's stdin. */
  private endInput(): void {
    if (this.inputDone || !this.stdin) return;
    this.inputDone = true;
    this.target.stdio?.inputEnded(this.writer);
  }

  /** The instance ended and its output was passed on. */
  private endOutput(): void {
    if (this.detached) return;
    this.stdout.end();
    this.stderr?.end();
    this.writer?.destroy();
    this.detached = true;
    this.onDone(this);
  }
}

/** The live attaches of a runtime (all detached when it closes). */
export class Attaches {
  private readonly live = new Set<Attachment>();

  /**
   * Attaches a client to `target` (see the module comment). Throws
   * {@link StreamUnavailableError} when `stdin` is asked of a container started without it.
   */
  attach(target: AttachTarget, opts: AttachOptions): AttachStream {
    if (opts.stdin && target.stdio?.stdio.stdin !== true) {
      throw new StreamUnavailableError(`container ${target.id} was not started with stdin (its spec does not set stdin: true)`);
    }
    const a = new Attachment(target, opts, (x) => this.live.delete(x));
    this.live.add(a);
    return a;
  }

  /**
   * The port's `attach`: {@link attach} to `target`, or a rejection with
   * {@link StreamUnavailableError} when the instance `id` does not run (`target` undefined) or
   * has no stdin to give.
   */
  open(id: string, target: AttachTarget | undefined, opts: AttachOptions): Promise<AttachStream> {
    try {
      if (!target) throw new StreamUnavailableError(`container ${id} is not running`);
      return Promise.resolve(this.attach(target, opts));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Detaches every client (the runtime closes). */
  detachAll(): void {
    for (const a of [...this.live]) a.detach();
  }
}
