/**
 * Streams a container log file to a `GET …/pods/{name}/log` response, as the kubelet's
 * `ReadLogs` (`pkg/kubelet/kuberuntime/logs/logs.go`) does over CRI log files:
 *
 * - only the content of each record is written, both streams interleaved in file order; a
 *   partial (`P`) record is written as it comes, without a newline, so it joins its
 *   continuation;
 * - `timestamps` prefixes every output line with the time of the record that starts it, in the
 *   kubelet's `RFC3339NanoFixed` form. (The kubelet prefixes every record, which puts a stamp in
 *   the middle of a line joined from partial records; here each line has exactly one.)
 * - `sinceSeconds`/`sinceTime` skip records older than the bound (a record at the bound is
 *   kept); `tailLines` starts that many records (file lines) before the end; `limitBytes`
 *   bounds the bytes written, timestamps included; an unparsable line is skipped.
 * - `follow` waits for appends, woken by a watch of the log's directory (appends, and the file
 *   of a new instance), by the container's state changes (`onStateChange`), by the client
 *   leaving, and by a safety timer (default 1 s) for events a file system does not deliver. A
 *   record is written only once its line is complete, however the reads split it. It ends when
 *   the container stops or a new instance replaces the file, after the last bytes were read.
 *
 * Files written before the CRI format (plain text; their first line is not a record) are
 * streamed as they always were: the bytes as they are, stamped with the file's modification
 * time, followed bytes with the time of reading; `since` then keeps or skips the whole file.
 */
import { watch } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { detectLogFormat, formatRfc3339NanoFixed, parseCriRecord, type LogFormat } from '../api/cri-log.js';
import type { LogOptions } from './logs.js';

/** Options of {@link streamLog}. */
export interface StreamLogOptions extends LogOptions {
  /** True while the container still runs (`follow` ends when it stops). */
  running: () => boolean;
  /** False once the followed file is no longer the container's current log (a new instance started). */
  stillCurrent?: () => boolean;
  /** Subscribes `wake` to changes of the container's state, so `follow` sees a stop at once; returns the unsubscribe. */
  onStateChange?: (wake: () => void) => () => void;
  /** Period of the safety re-check of `follow`, ms (default 1000): file events can be missed. */
  recheckMs?: number;
  /** Clock (epoch ms) for the timestamps of followed lines of legacy plain files. */
  now: () => number;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const NEWLINE_BYTES = Buffer.from('\n');

/** Offset where the last `n` lines of the first `size` bytes begin (a final newline ends the last line). */
export async function tailOffset(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  const buf = Buffer.alloc(CHUNK);
  let count = 0;
  let pos = size;
  while (pos > 0) {
    const len = Math.min(buf.length, pos);
    pos -= len;
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== NEWLINE || pos + i === size - 1) continue;
      if (++count === n) return pos + i + 1;
    }
  }
  return 0;
}

/** The response side: `limitBytes`, backpressure, the client leaving. */
class LogOutput {
  private remaining: number;
  private closed = false;

  constructor(private readonly res: ServerResponse, limitBytes: number | undefined, onClose: () => void) {
    this.remaining = limitBytes ?? Number.POSITIVE_INFINITY;
    res.once('close', () => {
      this.closed = true;
      onClose();
    });
  }

  /** True once `limitBytes` bytes were written or the client left: nothing more will be written. */
  get done(): boolean {
    return this.closed || this.res.destroyed || this.remaining <= 0;
  }

  /** Writes the parts as one chunk (cut at `limitBytes`); resolves when the response can take more. */
  async write(parts: (string | Uint8Array)[]): Promise<void> {
    let out = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    if (out.length === 0 || this.done) return;
    if (out.length > this.remaining) out = out.subarray(0, this.remaining);
    this.remaining -= out.length;
    if (this.res.write(out)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}

/** A level-triggered wake-up: `wake` before `wait` is not lost; `wait` also ends after `ms`. */
class Wakeup {
  private woken = false;
  private resolve: (() => void) | undefined;

  readonly wake = (): void => {
    this.woken = true;
    const r = this.resolve;
    this.resolve = undefined;
    r?.();
  };

  /** Forgets earlier wake-ups (call before looking at the state they announce). */
  clear(): void {
    this.woken = false;
  }

  wait(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.resolve = undefined;
        resolve();
      }, ms);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Reads the file from a position on, in format-specific ways, writing to the output. */
class LogReader {
  private format: LogFormat | undefined;
  /** Bytes of a CRI line whose newline has not been read yet. */
  private pending: Buffer[] = [];
  /** Output of the records of one chunk, written at once (views into `buf` until written). */
  private batch: (string | Uint8Array)[] = [];
  /** True when nothing was written yet or the last byte written was a newline. */
  private atLineStart = true;
  private readonly buf = Buffer.alloc(CHUNK);

  constructor(
    private readonly fh: FileHandle,
    private readonly out: LogOutput,
    private readonly opts: StreamLogOptions,
    /** Next offset to read. */
    private pos: number,
    /** Size and modification time when the request came (legacy stamps and `since`). */
    private readonly initial: { size: number; mtimeNs: bigint },
  ) {}

  /** The file shrank below what was read (truncated): start over from its beginning. */
  restart(): void {
    this.pos = 0;
    this.pending = [];
  }

  /** Offset read up to. */
  get position(): number {
    return this.pos;
  }

  /**
   * Writes what lies between the position and `end`. `final` says the file will not grow: the
   * format is then decided whatever the first line looks like, and an unfinished last line is
   * written as it is (as the kubelet does at the end of a log it does not follow).
   */
  async drain(end: number, final: boolean): Promise<void> {
    if (this.format === undefined) {
      const { bytesRead } = await this.fh.read(this.buf, 0, Math.min(this.buf.length, end), 0);
      this.format = detectLogFormat(this.buf.subarray(0, bytesRead), final);
      if (this.format === undefined) return;
      if (this.format === 'legacy' && this.opts.sinceNs !== undefined && this.initial.mtimeNs < this.opts.sinceNs) this.pos = Math.max(this.pos, this.initial.size);
    }
    if (this.format === 'legacy') {
      const mtime = formatRfc3339NanoFixed(this.initial.mtimeNs);
      await this.copy(Math.min(end, this.initial.size), (chunk) => this.writeLegacy(chunk, mtime));
      await this.copy(end, (chunk) => this.writeLegacy(chunk, formatRfc3339NanoFixed(BigInt(Math.floor(this.opts.now())) * 1_000_000n)));
      return;
    }
    await this.copy(end, (chunk) => this.splitCri(chunk));
    if (final && this.pending.length > 0 && !this.out.done) {
      const rest = Buffer.concat(this.pending);
      this.pending = [];
      this.addCri(rest, false);
      await this.flush();
    }
  }

  /** Reads from the position to `end` in chunks, handing each to `sink` (which must not keep it). */
  private async copy(end: number, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    while (this.pos < end && !this.out.done) {
      const { bytesRead } = await this.fh.read(this.buf, 0, Math.min(this.buf.length, end - this.pos), this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      await sink(this.buf.subarray(0, bytesRead));
    }
  }

  /** Plain bytes, stamped at every line start. */
  private async writeLegacy(chunk: Buffer, stamp: string): Promise<void> {
    for (let start = 0; start < chunk.length; ) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl < 0 ? chunk.length : nl + 1;
      if (this.opts.timestamps && this.atLineStart) this.batch.push(`${stamp} `);
      this.batch.push(chunk.subarray(start, end));
      this.atLineStart = nl >= 0;
      start = end;
    }
    await this.flush();
  }

  /** Splits a chunk into complete lines (written) and an unfinished rest (kept, copied). */
  private async splitCri(chunk: Buffer): Promise<void> {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      let line = chunk.subarray(start, nl);
      if (this.pending.length > 0) {
        line = Buffer.concat([...this.pending, line]);
        this.pending = [];
      }
      start = nl + 1;
      this.addCri(line, true);
    }
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
    await this.flush();
  }

  /** Adds one record's content to the batch; `terminated` says its line had a newline. */
  private addCri(line: Buffer, terminated: boolean): void {
    const rec = parseCriRecord(line);
    if (rec === undefined) return;
    if (this.opts.sinceNs !== undefined && rec.timeNs < this.opts.sinceNs) return;
    if (this.opts.timestamps && this.atLineStart) this.batch.push(`${formatRfc3339NanoFixed(rec.timeNs)} `);
    this.batch.push(rec.content);
    this.atLineStart = !rec.partial && terminated;
    if (this.atLineStart) this.batch.push(NEWLINE_BYTES);
  }

  /** Writes the batch. */
  private async flush(): Promise<void> {
    const parts = this.batch;
    this.batch = [];
    await this.out.write(parts);
  }
}

/** True while the container runs and the file is still its current log; false if asking fails. */
function live(opts: StreamLogOptions): boolean {
  try {
    return opts.running() && (opts.stillCurrent?.() ?? true);
  } catch {
    return false;
  }
}

/** Watches the log's directory (appends, a new instance's file); a no-op if the platform refuses. */
async function watchLogDir(file: string, wake: () => void): Promise<() => void> {
  try {
    const w = watch(dirname(await realpath(file)), { persistent: false }, wake);
    w.on('error', () => {}); // the safety timer still runs
    return () => w.close();
  } catch {
    return () => {};
  }
}

/**
 * Writes the log file to `res` (headers already sent) and ends it: the selected records (or,
 * for a legacy plain file, bytes), then with `follow` everything appended until the container
 * stops, the file is no longer its current log, `limitBytes` is reached or the client leaves.
 */
export async function streamLog(res: ServerResponse, file: string, opts: StreamLogOptions): Promise<void> {
  const fh = await open(file, 'r');
  const wakeup = new Wakeup();
  const out = new LogOutput(res, opts.limitBytes, wakeup.wake);
  const cleanups: (() => void)[] = [];
  try {
    if (opts.follow) {
      // Before the first read, so that no append between it and the wait goes unnoticed.
      cleanups.push(await watchLogDir(file, wakeup.wake));
      if (opts.onStateChange) cleanups.push(opts.onStateChange(wakeup.wake));
    }
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    const start = opts.tailLines !== undefined ? await tailOffset(fh, size, opts.tailLines) : 0;
    const reader = new LogReader(fh, out, opts, start, { size, mtimeNs: st.mtimeNs });
    if (!opts.follow) {
      await reader.drain(size, true);
      return;
    }
    const recheck = opts.recheckMs ?? 1000;
    while (!out.done) {
      wakeup.clear();
      // Liveness first: whatever a container wrote before it stopped is in the file by now.
      const still = live(opts);
      const cur = Number((await fh.stat()).size);
      if (cur < reader.position) reader.restart();
      await reader.drain(cur, !still);
      if (!still || out.done) break;
      await wakeup.wait(recheck);
    }
  } finally {
    for (const c of cleanups) c();
    await fh.close();
    if (!res.destroyed) res.end();
  }
}
