/** The CRI log format (api/cri-log.ts): timestamps, records, the legacy detector; properties with fast-check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  detectLogFormat,
  formatCriRecord,
  formatRfc3339Nano,
  formatRfc3339NanoFixed,
  parseCriRecord,
  parseRfc3339Nano,
  type CriStream,
} from '../../src/api/cri-log.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const ns = (iso: string, frac = 0n): bigint => BigInt(Date.parse(iso)) * 1_000_000n + frac;

/** 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z, epoch ns. */
const MIN_NS = -62_167_219_200n * 1_000_000_000n;
const END_NS = 253_402_300_800n * 1_000_000_000n;

describe('parseRfc3339Nano', () => {
  it('reads the forms log writers produce', () => {
    const t = ns('2026-12-06T23:48:13Z');
    expect(parseRfc3339Nano('2026-12-06T23:48:13.816883954+00:00')).toBe(t + 816_883_954n); // conmon 2.1.6
    expect(parseRfc3339Nano('2026-12-06T23:48:13.816883954Z')).toBe(t + 816_883_954n);
    expect(parseRfc3339Nano('2026-12-06T23:48:13Z')).toBe(t);
    expect(parseRfc3339Nano('2026-12-06T23:48:13.5Z')).toBe(t + 500_000_000n);
    expect(parseRfc3339Nano('2026-12-07T01:48:13.5+02:00')).toBe(t + 500_000_000n);
    expect(parseRfc3339Nano('2026-12-06T18:18:13-05:30')).toBe(t);
    expect(parseRfc3339Nano('2024-02-29T00:00:00Z')).toBe(ns('2024-02-29T00:00:00Z'));
    expect(parseRfc3339Nano('1969-12-31T23:59:59.999999999Z')).toBe(-1n);
    expect(parseRfc3339Nano('0000-01-01T00:00:00Z')).toBe(MIN_NS);
    expect(parseRfc3339Nano('9999-12-31T23:59:59.999999999Z')).toBe(END_NS - 1n);
  });

  it('refuses what Go refuses, and instants outside years 0000-9999', () => {
    for (const bad of [
      '', 'x', '2026-12-06', '2026-12-06T23:48:13', '2026-12-06 23:48:13Z', '2026-12-06t23:48:13Z', '2026-12-06T23:48:13z',
      '2026-13-01T00:00:00Z', '2026-00-01T00:00:00Z', '2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-12-06T24:00:00Z',
      '2026-12-06T23:60:00Z', '2026-12-06T23:59:60Z', '2026-12-06T23:48:13.Z', '2026-12-06T23:48:13.1234567890Z',
      '2026-12-06T23:48:13+0000', '2026-12-06T23:48:13+00', '2026-12-06T23:48:13+24:00', '2026-12-06T23:48:13+00:60',
      '+2026-12-06T23:48:13Z', '2026-12-06T23:48:13Z ', '0000-01-01T00:00:00+00:01', '9999-12-31T23:59:59-00:01',
    ]) expect(parseRfc3339Nano(bad), bad).toBeUndefined();
  });
});

describe('formatRfc3339Nano and formatRfc3339NanoFixed', () => {
  it('write Go RFC3339Nano (trimmed) and the kubelet RFC3339NanoFixed, in UTC', () => {
    expect(formatRfc3339Nano(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(formatRfc3339Nano(1_700_000_000_120_000_000n)).toBe('2023-11-14T22:13:20.12Z');
    expect(formatRfc3339Nano(1_700_000_000_000_000_000n)).toBe('2023-11-14T22:13:20Z');
    expect(formatRfc3339NanoFixed(1_700_000_000_120_000_000n)).toBe('2023-11-14T22:13:20.120000000Z');
    expect(formatRfc3339NanoFixed(1_700_000_000_000_000_000n)).toBe('2023-11-14T22:13:20.000000000Z');
    expect(formatRfc3339Nano(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(formatRfc3339Nano(MIN_NS)).toBe('0000-01-01T00:00:00Z');
    expect(formatRfc3339NanoFixed(END_NS - 1n)).toBe('9999-12-31T23:59:59.999999999Z');
    expect(() => formatRfc3339Nano(MIN_NS - 1n)).toThrow(RangeError);
    expect(() => formatRfc3339Nano(END_NS)).toThrow(RangeError);
  });

  it('agree with Date for millisecond times', () => {
    fc.assert(fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (ms) => {
      const iso = new Date(ms).toISOString();
      expect(formatRfc3339NanoFixed(BigInt(ms) * 1_000_000n)).toBe(iso.replace('Z', '000000Z'));
      expect(formatRfc3339Nano(BigInt(ms) * 1_000_000n)).toBe(iso.replace(/\.?0*Z$/, 'Z'));
    }), { numRuns: 1000 });
  });

  it('read back what they write, also with any numeric offset', () => {
    const time = fc.bigInt({ min: MIN_NS + 86_400n * 1_000_000_000n, max: END_NS - 86_400n * 1_000_000_000n - 1n });
    fc.assert(fc.property(time, fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), (t, offMin) => {
      expect(parseRfc3339Nano(formatRfc3339Nano(t))).toBe(t);
      expect(parseRfc3339Nano(formatRfc3339NanoFixed(t))).toBe(t);
      // The same instant written as local time at `offMin` (conmon's `+00:00` form is offMin 0).
      const local = formatRfc3339NanoFixed(t + BigInt(offMin) * 60_000_000_000n).slice(0, -1);
      const a = Math.abs(offMin);
      const off = `${offMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
      expect(parseRfc3339Nano(`${local}${off}`)).toBe(t);
    }), { numRuns: 1000 });
  });
});

describe('parseCriRecord', () => {
  it('parses conmon and containerd records, as text and as bytes', () => {
    const t = ns('2026-12-06T23:48:13Z', 816_883_954n);
    expect(parseCriRecord('2026-12-06T23:48:13.816883954+00:00 stdout F out 1')).toEqual({ timeNs: t, stream: 'stdout', partial: false, content: 'out 1' });
    expect(parseCriRecord('2026-12-06T23:48:13.816883954Z stderr P err ')).toEqual({ timeNs: t, stream: 'stderr', partial: true, content: 'err ' });
    expect(parseCriRecord('2026-12-06T23:48:13.816883954Z stdout F ')?.content).toBe('');
    expect(parseCriRecord('2026-12-06T23:48:13.816883954Z stdout F:x:y  two  spaces ')?.content).toBe(' two  spaces ');
    const bytes = Uint8Array.from([...enc('2026-12-06T23:48:13.816883954Z stdout F '), 0xff, 0xfe, 0x00, 0x0d]);
    const rec = parseCriRecord(bytes);
    expect(rec?.timeNs).toBe(t);
    expect([...(rec?.content ?? [])]).toEqual([0xff, 0xfe, 0x00, 0x0d]);
  });

  it('refuses lines that are not records, as the kubelet does', () => {
    for (const bad of [
      '', 'hello world', 'plain text with several words in it',
      '2026-12-06T23:48:13Z stdout F', '2026-12-06T23:48:13Z stdout', '2026-12-06T23:48:13Z',
      '2026-12-06T23:48:13Z stdin F x', '2026-12-06T23:48:13Z STDOUT F x', '2026-12-06T23:48:13Z stdout X x',
      '2026-12-06T23:48:13Z stdout  F x', '2026-12-06T23:48:13Z stdout p x', 'Dec 6 23:48:13 stdout F x',
      '2026-12-06T23:48:13 stdout F x', ' 2026-12-06T23:48:13Z stdout F x',
    ]) {
      expect(parseCriRecord(bad), bad).toBeUndefined();
      expect(parseCriRecord(enc(bad)), bad).toBeUndefined();
    }
    expect(parseCriRecord(Uint8Array.from([...enc('2026-12-06T23:48:13Z std'), 0xc3, 0xb6, ...enc(' F x')]))).toBeUndefined();
    expect(parseCriRecord('2026-12-06T23:48:13Z stdout F:é x')).toBeUndefined();
    // A header (timestamp, stream, tags, spaces) longer than 64 bytes is not one.
    const header = '2026-12-06T23:48:13.816883954+00:00 stdout F:';
    expect(parseCriRecord(`${header}${'t'.repeat(63 - header.length)} x`)?.content).toBe('x');
    expect(parseCriRecord(`${header}${'t'.repeat(64 - header.length)} x`)).toBeUndefined();
  });
});

describe('formatCriRecord', () => {
  it('writes the canonical line', () => {
    const t = ns('2026-12-06T23:48:13Z', 816_883_950n);
    expect(formatCriRecord(t, 'stdout', false, 'out 1')).toBe('2026-12-06T23:48:13.81688395Z stdout F out 1\n');
    expect(formatCriRecord(t, 'stderr', true, '')).toBe('2026-12-06T23:48:13.81688395Z stderr P \n');
    expect(dec(formatCriRecord(t, 'stdout', false, enc('é')))).toBe('2026-12-06T23:48:13.81688395Z stdout F é\n');
    expect(() => formatCriRecord(t, 'stdout', false, 'a\nb')).toThrow(RangeError);
    expect(() => formatCriRecord(t, 'stdout', false, enc('a\n'))).toThrow(RangeError);
  });

  it('round-trips through parseCriRecord (text and bytes)', () => {
    const time = fc.bigInt({ min: MIN_NS, max: END_NS - 1n });
    const stream = fc.constantFrom<CriStream>('stdout', 'stderr');
    const codePoint = fc.integer({ min: 0, max: 0x10ffff }).filter((c) => (c < 0xd800 || c > 0xdfff) && c !== 0x0a);
    const text = fc.string({ unit: codePoint.map((c) => String.fromCodePoint(c)), maxLength: 200 });
    const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => b.filter((x) => x !== 0x0a));
    fc.assert(fc.property(time, stream, fc.boolean(), text, (t, s, p, c) => {
      const line = formatCriRecord(t, s, p, c);
      expect(line.endsWith('\n')).toBe(true);
      expect(parseCriRecord(line.slice(0, -1))).toEqual({ timeNs: t, stream: s, partial: p, content: c });
      expect(detectLogFormat(line, true)).toBe('cri');
    }), { numRuns: 1000 });
    fc.assert(fc.property(time, stream, fc.boolean(), bytes, (t, s, p, c) => {
      const line = formatCriRecord(t, s, p, c);
      const rec = parseCriRecord(line.subarray(0, -1));
      expect(rec && { timeNs: rec.timeNs, stream: rec.stream, partial: rec.partial }).toEqual({ timeNs: t, stream: s, partial: p });
      expect(Buffer.compare(rec?.content ?? new Uint8Array([0x0a]), c)).toBe(0);
    }), { numRuns: 1000 });
  });
});

describe('detectLogFormat', () => {
  it('decides by the first line', () => {
    expect(detectLogFormat('2026-12-06T23:48:13.816883954+00:00 stdout F out 1\nanything\n', false)).toBe('cri');
    expect(detectLogFormat(enc('2026-12-06T23:48:13Z stderr P x\n'), false)).toBe('cri');
    expect(detectLogFormat('hello\n2026-12-06T23:48:13Z stdout F x\n', false)).toBe('legacy');
    expect(detectLogFormat(enc('no newline at end'), true)).toBe('legacy');
    expect(detectLogFormat('', true)).toBeUndefined();
    expect(detectLogFormat(new Uint8Array(), false)).toBeUndefined();
  });

  it('waits while an unfinished first line could still become a record', () => {
    expect(detectLogFormat('2026-12-06T23:48', false)).toBeUndefined();
    expect(detectLogFormat('2026-12-06T23:48', true)).toBe('legacy');
    expect(detectLogFormat('progress 10%', false)).toBeUndefined();
    expect(detectLogFormat('2026-12-06T23:48:13Z stdout F partial conte', false)).toBe('cri');
    expect(detectLogFormat(enc('a few words, then more'), false)).toBe('legacy');
    expect(detectLogFormat('x'.repeat(63), false)).toBeUndefined();
    expect(detectLogFormat('x'.repeat(64), false)).toBe('legacy');
    expect(detectLogFormat('Grüße', false)).toBe('legacy');
    expect(detectLogFormat(enc('\tindented'), false)).toBe('legacy');
  });

  it('tells random text that is not a record from a log', () => {
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => {
      const want = parseCriRecord(s.split('\n')[0] ?? '') ? 'cri' : 'legacy';
      expect(detectLogFormat(`${s}\n`, true)).toBe(want);
    }), { numRuns: 1000 });
  });
});
