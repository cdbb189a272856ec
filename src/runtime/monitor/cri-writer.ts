/**
 * Writes a process's stdout and stderr to a CRI format log file, as conmon's `k8s-file` driver
 * does: every chunk read becomes records `<RFC3339Nano time> <stream> <F|P> <content>`, one per
 * line, `P` for the last piece of a chunk that does not end a line (its continuation follows in
 * a later record of the same stream). Used by the `direct` monitor; under conmon, conmon writes.
 */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * Now as conmon writes it: RFC 3339 with nine fraction digits, in UTC (`…T12:00:00.123456000Z`;
 * the microseconds of the high-resolution clock).
 */
function stamp(): string {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  const iso = new Date(Math.floor(us / 1000)).toISOString(); // …T12:00:00.123Z
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}000Z`;
}

const NEWLINE = Buffer.from('\n');

/** One log file fed by a process's two output streams; closes it when both ended. */
export class CriLogWriter {
  private readonly out: fs.WriteStream;
  private open = 0;
  /** Settles when both streams ended and the file is flushed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(file: string) {
    this.out = fs.createWriteStream(file, { flags: 'a', mode: 0o640 });
    this.out.on('error', () => undefined);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Copies `stream` into the log as `name` records. */
  follow(stream: Readable | null, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    this.open++;
    stream.on('data', (chunk: Buffer) => this.write(chunk, name));
    const end = (): void => {
      if (--this.open === 0) this.out.end(() => this.resolveDone());
    };
    stream.once('close', end);
  }

  private write(chunk: Buffer, name: 'stdout' | 'stderr'): void {
    const t = stamp();
    const parts: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      parts.push(Buffer.from(`${t} ${name} ${nl < 0 ? 'P' : 'F'} `), chunk.subarray(start, end), NEWLINE);
      start = end + 1;
    }
    this.out.write(Buffer.concat(parts));
  }
}
