/**
 * Follows a container's CRI format log file from its current end (the output side of
 * `kubectl attach`, see attach.ts): event-driven (an inotify watch on the file, then reading to
 * its end; a 100 ms poll only where no watch can be had), decoding each record `<time> <stream>
 * <P|F> <content>` into the bytes the container wrote (`F` ends a line: its content plus a
 * newline; `P` is a piece without one, which both monitors write at once: conmon and the direct
 * monitor's writer log every chunk they read, so a prompt such as `/ # ` arrives as it is
 * printed). Reading pauses while the consumer applies back-pressure (the file keeps the rest).
 */
import * as fs from 'node:fs';

/** Where decoded output goes: false asks to pause until {@link LogFollower.resume}. */
export type LogSink = (stream: 'stdout' | 'stderr', data: Buffer) => boolean;

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const SPACE = 0x20;
/** Poll interval where the file cannot be watched (inotify watch limit reached). */
const POLL_MS = 100;

/** One follower of one log file. Create with {@link LogFollower.start}. */
export class LogFollower {
  /** The log file, open for reading (undefined once done). */
  private fd: number | undefined;
  private position = 0;
  /** Bytes after the last complete record read so far. */
  private rest: Buffer = Buffer.alloc(0);
  /** The start was inside a record: everything up to the next newline is skipped. */
  private skipping = false;
  private watcher: fs.FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private paused = false;
  private ending = false;
  private done = false;
  /** The descriptor to close once the read under way is over. */
  private closing: number | undefined;

  private constructor(private readonly sink: LogSink, private readonly onEnd: () => void) {}

  /**
   * Starts following `file` from its current end: what is appended from now on goes to `sink`.
   * Once `ended` settled (the instance exited and its monitor finished the log), the rest of the
   * file is read and `onEnd` is called, once; also when the file cannot be read (gone).
   */
  static start(file: string, sink: LogSink, ended: Promise<unknown>, onEnd: () => void): LogFollower {
    const f = new LogFollower(sink, onEnd);
    f.open(file);
    const end = (): void => {
      f.ending = true;
      f.pump();
    };
    void ended.then(end, end);
    return f;
  }

  private open(file: string): void {
    // The watch first: what is written between the size read and the watch is not missed.
    try {
      this.watcher = fs.watch(file, { persistent: false }, () => this.pump());
      this.watcher.on('error', () => this.finish());
    } catch {
      this.poll = setInterval(() => this.pump(), POLL_MS);
      this.poll.unref();
    }
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      this.finish();
      return;
    }
    this.fd = fd;
    try {
      this.position = fs.fstatSync(fd).size;
      // A start inside a record (its writer is between two writes) skips to the next record.
      if (this.position > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, this.position - 1);
        this.skipping = last[0] !== NEWLINE;
      }
    } catch {
      this.finish();
    }
  }

  /** The consumer took what was queued: reading goes on. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pump();
  }

  /** Stops following (the client detached); `onEnd` is not called. Idempotent. */
  stop(): void {
    this.finish(false);
  }

  /** Reads to the end of the file (again, when more was written meanwhile). */
  private pump(): void {
    if (this.done) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.paused || this.fd === undefined) return;
    this.pumping = true;
    void this.readToEnd().finally(() => {
      this.pumping = false;
      if (this.closing !== undefined) {
        closeQuietly(this.closing);
        this.closing = undefined;
      }
      if (this.again && !this.done) {
        this.again = false;
        this.pump();
      }
    });
  }

  private async readToEnd(): Promise<void> {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      this.again = false;
      if (this.done || this.fd === undefined) return;
      let n: number;
      try {
        n = await readAt(this.fd, buf, this.position);
      } catch {
        this.finish();
        return;
      }
      if (this.done) return;
      if (n === 0) {
        if (this.ending) this.finish();
        return;
      }
      this.position += n;
      if (!this.decode(buf.subarray(0, n))) {
        this.paused = true;
        return;
      }
    }
  }

  /** Passes the complete records of `chunk` (after what was left) on; false: the sink is full. */
  private decode(chunk: Buffer): boolean {
    let data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    if (this.skipping) {
      const nl = data.indexOf(NEWLINE);
      if (nl < 0) {
        this.rest = Buffer.alloc(0);
        return true;
      }
      this.skipping = false;
      data = data.subarray(nl + 1);
    }
    let ok = true;
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      const rec = decodeRecord(data.subarray(start, nl));
      start = nl + 1;
      if (rec && !this.sink(rec.stream, rec.data)) ok = false;
    }
    this.rest = Buffer.from(data.subarray(start));
    return ok;
  }

  private finish(notify = true): void {
    if (this.done) return;
    this.done = true;
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
    // Closed once no read is under way (a read of a closed, maybe reused, descriptor is never made).
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      if (this.pumping) this.closing = fd;
      else closeQuietly(fd);
    }
    if (notify) queueMicrotask(this.onEnd);
  }
}

/** Reads up to `buf.length` bytes at `position` of `fd` (0 at its end). */
function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // closed already
  }
}

/**
 * The stream and bytes of one CRI log record (the line without its newline): `F` adds the
 * newline the container wrote, `P` does not. Undefined for a line that is no record.
 */
export function decodeRecord(line: Buffer): { stream: 'stdout' | 'stderr'; data: Buffer } | undefined {
  const s1 = line.indexOf(SPACE);
  const s2 = s1 < 0 ? -1 : line.indexOf(SPACE, s1 + 1);
  if (s2 < 0) return undefined;
  const name = line.toString('latin1', s1 + 1, s2);
  if (name !== 'stdout' && name !== 'stderr') return undefined;
  const tag = line[s2 + 1];
  if (tag !== 0x46 /* F */ && tag !== 0x50 /* P */) return undefined;
  // The tag may be followed by a space and the content (an empty full line may end at the tag).
  const content = line.subarray(Math.min(line.length, s2 + (line[s2 + 2] === SPACE ? 3 : 2)));
  return { stream: name, data: tag === 0x46 ? Buffer.concat([content, Buffer.from('\n')]) : Buffer.from(content) };
}
