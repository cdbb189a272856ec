/**
 * `GET …/pods/{name}/log`: container selection and the kubelet's log options (`previous`,
 * `follow`, `tailLines`, `timestamps`, `limitBytes`, `sinceSeconds`, `sinceTime`) over the
 * plain log files the runtime writes. The files carry no per-line times, so `timestamps` uses
 * the file's modification time for existing lines and the time of reading for followed ones.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { FieldError, Status } from '../api/errors.js';
import type { Pod } from '../api/types.js';
import { badRequest, invalid } from './status.js';

/** Parsed log query parameters. */
export interface LogOptions {
  container?: string;
  previous: boolean;
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** Epoch ms: only logs newer than this (from `sinceSeconds` or `sinceTime`). */
  since?: number;
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

/** Parses the log query; a malformed option gives the 422 `Status` the API server returns. */
export function parseLogOptions(q: URLSearchParams, podName: string, now: number): LogOptions | Status {
  const errs: FieldError[] = [];
  const int = (name: string, min: number, detail: string): number | undefined => {
    const raw = q.get(name);
    if (raw === null || raw === '') return undefined;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
      errs.push({ type: 'Invalid', field: name, value: raw, detail: 'must be an integer' });
      return undefined;
    }
    if (n < min) {
      errs.push({ type: 'Invalid', field: name, value: n, detail });
      return undefined;
    }
    return n;
  };
  const opts: LogOptions = { previous: bool(q, 'previous'), follow: bool(q, 'follow'), timestamps: bool(q, 'timestamps') };
  const c = q.get('container');
  if (c !== null && c !== '') opts.container = c;
  const tail = int('tailLines', 0, 'must be greater than or equal to 0');
  if (tail !== undefined) opts.tailLines = tail;
  const limit = int('limitBytes', 1, 'must be greater than 0');
  if (limit !== undefined) opts.limitBytes = limit;
  const sinceSeconds = int('sinceSeconds', 1, 'must be greater than 0');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) errs.push({ type: 'Forbidden', field: '', detail: 'at most one of `sinceTime` or `sinceSeconds` may be specified' });
  else if (sinceSeconds !== undefined) opts.since = now - sinceSeconds * 1000;
  else if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) return badRequest(`parsing time ${JSON.stringify(sinceTime)} as RFC3339: cannot parse`);
    opts.since = t;
  }
  if (errs.length > 0) return invalid('PodLogOptions', podName, errs);
  return opts;
}

/**
 * Which container a log request means, as the API server decides (`pod.LogLocation`): the named
 * one if the pod has it, else the only regular container; otherwise a 400 `Status`.
 */
export function resolveLogContainer(pod: Pod, container: string | undefined): string | Status {
  const name = pod.metadata.name ?? '';
  const regular = pod.spec.containers.map((c) => c.name);
  const init = (pod.spec.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec.ephemeralContainers ?? []).map((c) => c.name);
  if (container === undefined) {
    if (regular.length === 1) return regular[0] as string;
    if (regular.length === 0) return badRequest(`a container name must be specified for pod ${name}`);
    let msg = `a container name must be specified for pod ${name}, choose one of: [${regular.join(' ')}]`;
    if (init.length > 0) msg += ` or one of the init containers: [${init.join(' ')}]`;
    if (ephemeral.length > 0) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    return badRequest(msg);
  }
  if (![...regular, ...init, ...ephemeral].includes(container)) return badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

/** The 400 the kubelet gives when there is no log to show (`validateContainerLogStatus`). */
export function missingLogStatus(pod: Pod, container: string, previous: boolean): Status {
  const name = pod.metadata.name ?? '';
  if (previous) return badRequest(`previous terminated container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} not found`);
  const st = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])].find((s) => s.name === container);
  const reason = st?.state.waiting?.reason || (st?.state.terminated || st?.state.running ? undefined : 'ContainerCreating');
  if (reason === 'ErrImagePull') return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: image can't be pulled`);
  if (reason === 'ImagePullBackOff') return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: trying and failing to pull image`);
  if (reason !== undefined) return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: ${reason}`);
  return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is not available`);
}

/** Go's `time.RFC3339Nano` (trailing zeros of the fraction trimmed) for a time in nanoseconds. */
export function rfc3339Nano(ns: bigint): string {
  const base = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac === '' ? '' : `.${frac}`}Z`;
}

/** Offset where the last `n` lines of the first `size` bytes begin (a final newline ends the last line). */
export async function tailOffset(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  const buf = Buffer.alloc(64 * 1024);
  let count = 0;
  let pos = size;
  while (pos > 0) {
    const len = Math.min(buf.length, pos);
    pos -= len;
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a || pos + i === size - 1) continue;
      if (++count === n) return pos + i + 1;
    }
  }
  return 0;
}

/** Prefixes lines with timestamps and enforces `limitBytes` on what is written. */
class LogWriter {
  private atLineStart = true;
  private remaining: number;

  constructor(
    private readonly res: ServerResponse,
    private readonly timestamps: boolean,
    limitBytes: number | undefined,
  ) {
    this.remaining = limitBytes ?? Number.POSITIVE_INFINITY;
  }

  /** True once `limitBytes` bytes were written. */
  get full(): boolean {
    return this.remaining <= 0;
  }

  /** Writes a chunk; resolves when the response can take more. */
  async write(chunk: Buffer, stamp: string): Promise<void> {
    let out = chunk;
    if (this.timestamps) {
      const parts: Buffer[] = [];
      let start = 0;
      while (start < chunk.length) {
        if (this.atLineStart) parts.push(Buffer.from(`${stamp} `));
        const nl = chunk.indexOf(0x0a, start);
        const end = nl < 0 ? chunk.length : nl + 1;
        parts.push(chunk.subarray(start, end));
        this.atLineStart = nl >= 0;
        start = end;
      }
      out = Buffer.concat(parts);
    }
    if (out.length > this.remaining) out = out.subarray(0, this.remaining);
    this.remaining -= out.length;
    if (out.length === 0 || this.res.destroyed) return;
    if (!this.res.write(out)) {
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
}

/** Options of {@link streamLog}. */
export interface StreamLogOptions extends LogOptions {
  /** True while the container still runs (`follow` ends when it stops). */
  running: () => boolean;
  /** False once the followed file is no longer the container's current log (a new instance started). */
  stillCurrent?: () => boolean;
  /** Poll interval of `follow`, ms. */
  pollMs?: number;
  /** Clock for the timestamps of followed lines. */
  now: () => number;
}

/**
 * Writes the log file to `res` (headers already sent) and ends it: the selected part of the
 * file, then with `follow` every new byte until the container stops or the client leaves.
 */
export async function streamLog(res: ServerResponse, file: string, opts: StreamLogOptions): Promise<void> {
  const fh = await open(file, 'r');
  let closed = false;
  const onClose = (): void => {
    closed = true;
  };
  res.on('close', onClose);
  try {
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    let pos = opts.tailLines !== undefined ? await tailOffset(fh, size, opts.tailLines) : 0;
    if (opts.since !== undefined && Number(st.mtimeMs) < opts.since) pos = size;
    const w = new LogWriter(res, opts.timestamps, opts.limitBytes);
    const mtimeStamp = rfc3339Nano(st.mtimeNs);
    const buf = Buffer.alloc(64 * 1024);
    const copy = async (end: number, stamp: () => string): Promise<void> => {
      while (pos < end && !closed && !w.full) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        await w.write(Buffer.from(buf.subarray(0, bytesRead)), stamp());
      }
    };
    await copy(size, () => mtimeStamp);
    if (opts.follow) {
      const nowStamp = (): string => rfc3339Nano(BigInt(opts.now()) * 1_000_000n);
      const poll = opts.pollMs ?? 200;
      while (!closed && !w.full) {
        let running: boolean;
        try {
          running = opts.running() && (opts.stillCurrent?.() ?? true);
        } catch {
          running = false;
        }
        let cur: number;
        try {
          cur = Number((await stat(file)).size);
        } catch {
          break;
        }
        if (cur < pos) pos = 0;
        if (cur > pos) await copy(cur, nowStamp);
        else if (!running) break;
        else await new Promise((r) => setTimeout(r, poll));
      }
    }
  } finally {
    res.off('close', onClose);
    await fh.close();
    if (!res.destroyed) res.end();
  }
}
