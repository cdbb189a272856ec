/**
 * The Kubernetes CRI container log format, the one the kubelet reads (`parseCRILog` in
 * `pkg/kubelet/kuberuntime/logs/logs.go`) and containerd or `conmon --log-path k8s-file:PATH`
 * write: one record per line,
 *
 *     <RFC 3339 timestamp> <stdout|stderr> <P|F>[:<more tags>] <content>\n
 *
 * `P` (partial) means the content continues in the next record of the same stream and carries
 * no newline of its own; `F` (full) means the line ends with this record. The content is raw
 * bytes: it may hold any byte but `\n`.
 *
 * Times are epoch nanoseconds as `bigint` (a `number` cannot hold them exactly). Parsing
 * accepts what writers produce: `Z` or a numeric `±hh:mm` offset (conmon writes `+00:00`),
 * and no fraction or one to nine fraction digits. Writing has one canonical form, Go's
 * `time.RFC3339Nano` in UTC (`2026-12-06T23:48:13.816883954Z`, trailing zeros of the fraction
 * dropped), as containerd writes it. Every time this module formats lies in years 0000-9999;
 * a parsed timestamp whose instant falls outside them is refused, so formatting a parsed time
 * never throws.
 *
 * Pure: no I/O, no clock.
 */

/** The stream a record came from. */
export type CriStream = 'stdout' | 'stderr';

/** One parsed record. `C` is the type the line was given as: `string` or bytes. */
export interface CriRecord<C extends string | Uint8Array = Uint8Array> {
  /** The record's time, epoch nanoseconds. */
  timeNs: bigint;
  stream: CriStream;
  /** True for a `P` record: the content continues in the next record of the stream. */
  partial: boolean;
  /** The content, without the line's `\n`. For bytes a view into the line given (copy it to keep it). */
  content: C;
}

/** The format of a container log file: CRI records, or plain text written before the upgrade. */
export type LogFormat = 'cri' | 'legacy';

const NS_PER_S = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;
/** 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in seconds since the epoch. */
const MIN_SECONDS = daysFromCivil(0, 1, 1) * SECONDS_PER_DAY;
const END_SECONDS = daysFromCivil(10000, 1, 1) * SECONDS_PER_DAY;
/** Longest header (timestamp, stream, tags and their three spaces): 35 + 8 + 2 and room for more tags. */
const MAX_HEADER_BYTES = 64;
/** Longest timestamp this module parses: `2006-01-02T15:04:05.999999999-07:00`. */
const MAX_TIMESTAMP_CHARS = 35;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The proleptic Gregorian date of a day number (inverse of {@link daysFromCivil}). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/**
 * Parses an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339Nano, s)` does for the forms
 * log writers produce: `T` and `Z` upper case, an optional fraction of 1-9 digits, `Z` or
 * `±hh:mm`; the date and time fields range-checked (no leap second). Returns epoch nanoseconds,
 * or undefined for anything else and for instants outside years 0000-9999 (UTC).
 */
export function parseRfc3339Nano(text: string): bigint | undefined {
  if (text.length > MAX_TIMESTAMP_CHARS) return undefined;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  let offset = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[8] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = daysFromCivil(y, mo, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + s - offset;
  if (seconds < MIN_SECONDS || seconds >= END_SECONDS) return undefined;
  return BigInt(seconds) * NS_PER_S + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC) and the nanoseconds of a time; RangeError outside years 0000-9999. */
function splitTime(timeNs: bigint): [string, string] {
  let seconds = timeNs / NS_PER_S;
  let nanos = timeNs % NS_PER_S;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS_PER_S;
  }
  const secs = Number(seconds);
  if (secs < MIN_SECONDS || secs >= END_SECONDS) throw new RangeError(`time ${timeNs} ns is outside years 0000-9999`);
  const days = Math.floor(secs / SECONDS_PER_DAY);
  const sod = secs - days * SECONDS_PER_DAY;
  const [y, mo, d] = civilFromDays(days);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const date = `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}`;
  const clock = `${p2(Math.floor(sod / 3600))}:${p2(Math.floor(sod / 60) % 60)}:${p2(sod % 60)}`;
  return [`${date}T${clock}`, nanos.toString().padStart(9, '0')];
}

/**
 * Formats epoch nanoseconds as Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction
 * dropped, no fraction at all for whole seconds (`2023-11-14T22:13:20.12Z`). The canonical
 * timestamp of {@link formatCriRecord}. RangeError outside years 0000-9999.
 */
export function formatRfc3339Nano(timeNs: bigint): string {
  const [base, frac] = splitTime(timeNs);
  const trimmed = frac.replace(/0+$/, '');
  return trimmed === '' ? `${base}Z` : `${base}.${trimmed}Z`;
}

/**
 * Formats epoch nanoseconds with always nine fraction digits, in UTC
 * (`2023-11-14T22:13:20.120000000Z`): the kubelet's `timeFormatOut` (`RFC3339NanoFixed`),
 * which prefixes lines of `timestamps=true` output. RangeError outside years 0000-9999.
 */
export function formatRfc3339NanoFixed(timeNs: bigint): string {
  const [base, frac] = splitTime(timeNs);
  return `${base}.${frac}Z`;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;

/**
 * The header of a record, up to and including the space after the tags, as text: at most
 * {@link MAX_HEADER_BYTES} printable ASCII characters and three spaces. Undefined if the line
 * has no such header.
 */
function headerOf(line: string | Uint8Array): string | undefined {
  const text = typeof line === 'string';
  const n = Math.min(line.length, MAX_HEADER_BYTES);
  let header = '';
  let spaces = 0;
  for (let i = 0; i < n; i++) {
    const c = text ? line.charCodeAt(i) : (line[i] as number);
    if (c === SPACE) {
      header += ' ';
      if (++spaces === 3) return header;
    } else if (c < 0x21 || c > 0x7e) {
      return undefined;
    } else {
      header += String.fromCharCode(c);
    }
  }
  return undefined;
}

/** The fields of a header (see {@link headerOf}), or undefined if one is malformed. */
function parseHeader(header: string): Omit<CriRecord, 'content'> | undefined {
  const [ts = '', stream = '', tags = ''] = header.split(' ');
  const timeNs = parseRfc3339Nano(ts);
  if (timeNs === undefined || (stream !== 'stdout' && stream !== 'stderr')) return undefined;
  // Tags are `:`-separated for forward compatibility; only the first one means something.
  const colon = tags.indexOf(':');
  const tag = colon < 0 ? tags : tags.slice(0, colon);
  if (tag !== 'P' && tag !== 'F') return undefined;
  return { timeNs, stream, partial: tag === 'P' };
}

/**
 * Parses one record, given as the line without its terminating `\n`: the timestamp (see
 * {@link parseRfc3339Nano}), the stream, the tags (the first must be `P` or `F`; more may
 * follow after `:`), each followed by one space, then the content (possibly empty). Returns
 * undefined for a line that is not a record, as the kubelet's `parseCRILog` refuses it; like
 * the kubelet it requires the space after the tags. Unlike the kubelet it also refuses a
 * header (timestamp, stream, tags and their spaces) longer than 64 bytes, which no writer
 * produces: so a plain line is told from a record by its first 64 bytes.
 */
export function parseCriRecord(line: string): CriRecord<string> | undefined;
export function parseCriRecord(line: Uint8Array): CriRecord<Uint8Array> | undefined;
export function parseCriRecord(line: string | Uint8Array): CriRecord<string> | CriRecord<Uint8Array> | undefined {
  const header = headerOf(line);
  const h = header === undefined ? undefined : parseHeader(header);
  if (h === undefined || header === undefined) return undefined;
  if (typeof line === 'string') return { timeNs: h.timeNs, stream: h.stream, partial: h.partial, content: line.slice(header.length) };
  return { timeNs: h.timeNs, stream: h.stream, partial: h.partial, content: line.subarray(header.length) };
}

/**
 * Writes one record: `<RFC3339Nano UTC> <stream> <P|F> <content>\n`, the timestamp in the
 * canonical form of {@link formatRfc3339Nano}. What containerd writes, and what conmon writes
 * but for its `+00:00` and fixed nine digits; both read back the same with
 * {@link parseCriRecord}. The content must not contain `\n` (a writer splits lines into
 * records first): RangeError otherwise, and for times outside years 0000-9999.
 */
export function formatCriRecord(timeNs: bigint, stream: CriStream, partial: boolean, content: string): string;
export function formatCriRecord(timeNs: bigint, stream: CriStream, partial: boolean, content: Uint8Array): Uint8Array;
export function formatCriRecord(timeNs: bigint, stream: CriStream, partial: boolean, content: string | Uint8Array): string | Uint8Array {
  const header = `${formatRfc3339Nano(timeNs)} ${stream} ${partial ? 'P' : 'F'} `;
  if (typeof content === 'string') {
    if (content.includes('\n')) throw new RangeError('the content of a CRI record cannot contain a newline');
    return `${header}${content}\n`;
  }
  if (content.includes(NEWLINE)) throw new RangeError('the content of a CRI record cannot contain a newline');
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(head.length + content.length + 1);
  out.set(head);
  out.set(content, head.length);
  out[out.length - 1] = NEWLINE;
  return out;
}

/** True if `line` may still grow into a record's header: printable ASCII, under three spaces, under 64 bytes. */
function couldStartHeader(line: string | Uint8Array): boolean {
  if (line.length >= MAX_HEADER_BYTES) return false;
  let spaces = 0;
  for (let i = 0; i < line.length; i++) {
    const c = typeof line === 'string' ? line.charCodeAt(i) : (line[i] as number);
    if (c === SPACE) spaces++;
    else if (c < 0x21 || c > 0x7e) return false;
  }
  return spaces < 3;
}

/**
 * Tells a CRI log from a legacy plain one by its first line, as the kubelet picks its parser
 * from the first line it reads: `cri` if it parses as a record, else `legacy`. `head` is the
 * start of the file; `complete` says no more bytes will come (the file is final). While the
 * first line is unfinished and could still grow into a record's header (printable ASCII with
 * fewer than three spaces, shorter than 64 bytes) the answer is undefined: wait for more. An
 * empty file is undefined too.
 */
export function detectLogFormat(head: string | Uint8Array, complete: boolean): LogFormat | undefined {
  const nl = typeof head === 'string' ? head.indexOf('\n') : head.indexOf(NEWLINE);
  const line = nl >= 0 ? head.slice(0, nl) : head;
  if (nl < 0 && (line.length === 0 || (!complete && couldStartHeader(line)))) return undefined;
  const rec = typeof line === 'string' ? parseCriRecord(line) : parseCriRecord(line);
  return rec ? 'cri' : 'legacy';
}
