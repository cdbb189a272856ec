/**
 * Byte-level encodings as the API server's Go code treats them, for the kinds that carry bytes
 * (Secret `data`, ConfigMap `binaryData`): UTF-8, standard base64 with Go's decoding errors
 * (`encoding/base64`, `StdEncoding`), and the JSON syntax check `json.Unmarshal` makes of a
 * `.dockercfg` value, with `encoding/json`'s messages. Pure: no `Buffer`, no I/O.
 *
 * The behaviour follows the Go standard library (`encoding/base64` `decodeQuantum`,
 * `encoding/json` `scanner.go`); the code is podvisor's own.
 */

/** The UTF-8 bytes of a string; a lone surrogate becomes U+FFFD, as Go's JSON decoding makes it. */
export function utf8Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
    } else if (c < 0x10000) {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
    } else {
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 0x3f);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
    }
    out[n++] = 0x80 | (c & 0x3f);
  }
  return out.slice(0, n);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE_MAP: readonly number[] = (() => {
  const m = new Array<number>(256).fill(0xff);
  for (let i = 0; i < ALPHABET.length; i++) m[ALPHABET.charCodeAt(i)] = i;
  return m;
})();
const PAD = 0x3d; // '='
const isNewline = (b: number | undefined): boolean => b === 0x0a || b === 0x0d;

const ENCODE_MAP = Uint8Array.from([...ALPHABET].map((c) => c.charCodeAt(0)));
const ASCII = new TextDecoder();

/** Standard base64 (with padding) of some bytes: what the API server writes for a `[]byte` field. */
export function base64Encode(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out[o++] = ENCODE_MAP[(n >> 18) & 63] ?? 0;
    out[o++] = ENCODE_MAP[(n >> 12) & 63] ?? 0;
    out[o++] = i + 1 < bytes.length ? (ENCODE_MAP[(n >> 6) & 63] ?? 0) : PAD;
    out[o++] = i + 2 < bytes.length ? (ENCODE_MAP[n & 63] ?? 0) : PAD;
  }
  return ASCII.decode(out);
}

/** Result of {@link base64Decode}: the bytes, or Go's error text. */
export type Base64Result = { ok: true; bytes: Uint8Array } | { ok: false; error: string };

/**
 * Decodes standard base64 exactly as Go's `base64.StdEncoding.DecodeString` (which
 * `encoding/json` uses for a `[]byte` field): padding is required, `\r` and `\n` are skipped
 * anywhere, unused trailing bits are ignored (not strict). A bad input fails with Go's
 * `illegal base64 data at input byte N`, N counting UTF-8 bytes of the input.
 */
export function base64Decode(text: string): Base64Result {
  const src = utf8Bytes(text);
  const out = new Uint8Array(Math.ceil(src.length / 4) * 3);
  let n = 0;
  let si = 0;
  while (si < src.length) {
    // Fast path: four alphabet characters make three bytes.
    if (si + 4 <= src.length) {
      const a = DECODE_MAP[src[si] ?? 0] ?? 0xff;
      const b = DECODE_MAP[src[si + 1] ?? 0] ?? 0xff;
      const c = DECODE_MAP[src[si + 2] ?? 0] ?? 0xff;
      const d = DECODE_MAP[src[si + 3] ?? 0] ?? 0xff;
      if ((a | b | c | d) < 64) {
        const v = (a << 18) | (b << 12) | (c << 6) | d;
        out[n++] = (v >> 16) & 0xff;
        out[n++] = (v >> 8) & 0xff;
        out[n++] = v & 0xff;
        si += 4;
        continue;
      }
    }
    const q = decodeQuantum(src, si);
    if (q.error !== undefined) return { ok: false, error: `illegal base64 data at input byte ${q.error}` };
    for (const byte of q.bytes) out[n++] = byte;
    si = q.si;
    if (q.done) break;
  }
  return { ok: true, bytes: out.slice(0, n) };
}

/** One quantum (Go's `decodeQuantum`): its bytes and where the next starts, or the bad offset. */
function decodeQuantum(src: Uint8Array, start: number): { si: number; bytes: number[]; done: boolean; error?: number } {
  const dbuf = [0, 0, 0, 0];
  let si = start;
  let dlen = 4;
  let done = false;
  for (let j = 0; j < 4; j++) {
    if (si === src.length) {
      // Input ended inside a quantum: with padding required, that is an error (or nothing left).
      if (j === 0) return { si, bytes: [], done: true };
      return { si, bytes: [], done: true, error: si - j };
    }
    const c = src[si] ?? 0;
    si++;
    const v = DECODE_MAP[c] ?? 0xff;
    if (v !== 0xff) {
      dbuf[j] = v;
      continue;
    }
    if (isNewline(c)) {
      j--;
      continue;
    }
    if (c !== PAD) return { si, bytes: [], done: true, error: si - 1 };
    // Padding: only after 2 or 3 characters of the quantum.
    if (j === 0 || j === 1) return { si, bytes: [], done: true, error: si - 1 };
    if (j === 2) {
      while (si < src.length && isNewline(src[si])) si++;
      if (si === src.length) return { si, bytes: [], done: true, error: src.length };
      if (src[si] !== PAD) return { si, bytes: [], done: true, error: si - 1 };
      si++;
    }
    while (si < src.length && isNewline(src[si])) si++;
    if (si < src.length) return { si, bytes: [], done: true, error: si };
    dlen = j;
    done = true;
    break;
  }
  const v = ((dbuf[0] ?? 0) << 18) | ((dbuf[1] ?? 0) << 12) | ((dbuf[2] ?? 0) << 6) | (dbuf[3] ?? 0);
  return { si, bytes: [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff].slice(0, dlen - 1), done };
}

const CANONICAL = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The number of bytes a base64 text decodes to (0 when it does not decode). */
export function base64ByteLength(text: string): number {
  if (text.length % 4 === 0 && CANONICAL.test(text)) return (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
  const r = base64Decode(text);
  return r.ok ? r.bytes.length : 0;
}

// ---------------------------------------------------------------- JSON (encoding/json)

/** Go's `quoteChar` of a byte in a JSON syntax error (`'x'`, `'\n'`, `'\x00'`, `'\u0080'`). */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return '\'"\'';
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 0x5c: '\\\\' };
  const n = named[c];
  if (n !== undefined) return `'${n}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // A byte >= 0x80 is shown as the rune of that value; C1 controls, NBSP and SHY are not printable.
  if ((c >= 0x80 && c < 0xa0) || c === 0xa0 || c === 0xad) return `'\\u${c.toString(16).padStart(4, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** `encoding/json`'s `maxNestingDepth`. */
const MAX_NESTING_DEPTH = 10000;

/**
 * The error `json.Unmarshal(bytes, &map[string]interface{}{})` returns, or undefined when it
 * succeeds: a syntax error (`invalid character 'x' looking for beginning of value`,
 * `unexpected end of JSON input`, ...) or, for valid JSON that is neither an object nor null,
 * `json: cannot unmarshal array into Go value of type map[string]interface {}`.
 */
export function goJsonObjectError(bytes: Uint8Array): string | undefined {
  const syntax = goJsonSyntaxError(bytes);
  if (syntax !== undefined) return syntax;
  let i = 0;
  while (i < bytes.length && isSpace(bytes[i] ?? 0)) i++;
  const first = bytes[i] ?? 0;
  const kind = first === 0x5b ? 'array' : first === 0x22 ? 'string' : first === 0x74 || first === 0x66 ? 'bool' : first === 0x7b || first === 0x6e ? undefined : 'number';
  return kind === undefined ? undefined : `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
}

type Step = 'value' | 'valueOrEmpty' | 'keyOrEmpty' | 'key' | 'end' | 'top' | 'str' | 'esc' | 'u' | 'neg' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'esign' | 'exp' | 'lit';

/** Go's `checkValid`: a scanner over the bytes with `encoding/json`'s error texts. */
function goJsonSyntaxError(bytes: Uint8Array): string | undefined {
  const stack: ('key' | 'value' | 'array')[] = [];
  let step = 'value' as Step;
  let uLeft = 0;
  let lit = '';
  let litWord = '';
  const fail = (c: number, context: string): string => `invalid character ${quoteChar(c)} ${context}`;
  /** Feeds one byte; returns an error text or undefined. */
  const feed = (c: number): string | undefined => {
    for (;;) {
      switch (step) {
        case 'valueOrEmpty':
          if (isSpace(c)) return undefined;
          if (c === 0x5d) return close(c);
          step = 'value';
          continue;
        case 'value':
          if (isSpace(c)) return undefined;
          if (c === 0x7b || c === 0x5b) {
            stack.push(c === 0x7b ? 'key' : 'array');
            if (stack.length > MAX_NESTING_DEPTH) return fail(c, 'exceeded max depth');
            step = c === 0x7b ? 'keyOrEmpty' : 'valueOrEmpty';
            return undefined;
          }
          if (c === 0x22) step = 'str';
          else if (c === 0x2d) step = 'neg';
          else if (c === 0x30) step = 'zero';
          else if (c >= 0x31 && c <= 0x39) step = 'int';
          else if (c === 0x74 || c === 0x66 || c === 0x6e) {
            litWord = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
            lit = litWord.slice(1);
            step = 'lit';
          } else return fail(c, 'looking for beginning of value');
          return undefined;
        case 'keyOrEmpty':
          if (isSpace(c)) return undefined;
          if (c === 0x7d) return close(c);
          step = 'key';
          continue;
        case 'key':
          if (isSpace(c)) return undefined;
          if (c === 0x22) {
            step = 'str';
            return undefined;
          }
          return fail(c, 'looking for beginning of object key string');
        case 'end': {
          const top = stack[stack.length - 1];
          if (top === undefined) {
            step = 'top';
            continue;
          }
          if (isSpace(c)) return undefined;
          if (top === 'key') {
            if (c !== 0x3a) return fail(c, 'after object key');
            stack[stack.length - 1] = 'value';
            step = 'value';
            return undefined;
          }
          if (top === 'value') {
            if (c === 0x2c) {
              stack[stack.length - 1] = 'key';
              step = 'key';
              return undefined;
            }
            if (c === 0x7d) return close(c);
            return fail(c, 'after object key:value pair');
          }
          if (c === 0x2c) {
            step = 'value';
            return undefined;
          }
          if (c === 0x5d) return close(c);
          return fail(c, 'after array element');
        }
        case 'top':
          return isSpace(c) ? undefined : fail(c, 'after top-level value');
        case 'str':
          if (c === 0x22) step = 'end';
          else if (c === 0x5c) step = 'esc';
          else if (c < 0x20) return fail(c, 'in string literal');
          return undefined;
        case 'esc':
          if ('bfnrt\\/"'.includes(String.fromCharCode(c))) step = 'str';
          else if (c === 0x75) {
            step = 'u';
            uLeft = 4;
          } else return fail(c, 'in string escape code');
          return undefined;
        case 'u':
          if (!isHex(c)) return fail(c, 'in \\u hexadecimal character escape');
          if (--uLeft === 0) step = 'str';
          return undefined;
        case 'neg':
          if (c === 0x30) step = 'zero';
          else if (c >= 0x31 && c <= 0x39) step = 'int';
          else return fail(c, 'in numeric literal');
          return undefined;
        case 'int':
          if (isDigit(c)) return undefined;
          step = 'zero';
          continue;
        case 'zero':
          if (c === 0x2e) step = 'dot';
          else if (c === 0x65 || c === 0x45) step = 'e';
          else {
            step = 'end';
            continue;
          }
          return undefined;
        case 'dot':
          if (!isDigit(c)) return fail(c, 'after decimal point in numeric literal');
          step = 'frac';
          return undefined;
        case 'frac':
          if (isDigit(c)) return undefined;
          if (c === 0x65 || c === 0x45) {
            step = 'e';
            return undefined;
          }
          step = 'end';
          continue;
        case 'e':
          if (c === 0x2b || c === 0x2d) {
            step = 'esign';
            return undefined;
          }
          step = 'esign';
          continue;
        case 'esign':
          if (!isDigit(c)) return fail(c, 'in exponent of numeric literal');
          step = 'exp';
          return undefined;
        case 'exp':
          if (isDigit(c)) return undefined;
          step = 'end';
          continue;
        case 'lit': {
          const want = lit.charCodeAt(0);
          if (c !== want) return fail(c, `in literal ${litWord} (expecting '${lit[0] ?? ''}')`);
          lit = lit.slice(1);
          if (lit === '') step = 'end';
          return undefined;
        }
      }
    }
  };
  const close = (_c: number): undefined => {
    stack.pop();
    step = 'end';
    return undefined;
  };
  for (const c of bytes) {
    const err = feed(c);
    if (err !== undefined) return err;
  }
  // Go's `eof`: one more space is fed (it ends a number, and is itself an error inside a
  // literal or after `-`); anything still open is then an unexpected end.
  if (step === 'top') return undefined;
  const last = feed(0x20);
  if (last !== undefined) return last;
  return (step as Step) === 'top' ? undefined : 'unexpected end of JSON input';
}
