/**
 * The CRI log follower of `kubectl attach` (src/runtime/log-follow.ts) on files written by the
 * test: record decoding, the start at the file's end, pieces completed by later writes, the end.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogFollower, decodeRecord } from '../../src/runtime/log-follow.js';
import { makeTempDir, waitFor } from './helpers.js';

// ---- the log follower -----------------------------------------------------------------------

describe('log follower', () => {
  let tmp: { dir: string; remove: () => void };
  beforeEach(() => { tmp = makeTempDir('podvisor-follow-'); });
  afterEach(() => tmp.remove());
  const T = '2024-01-01T00:00:00.000000000Z';

  it('decodes records: F ends a line, P is a piece, an empty full line, no record', () => {
    expect(decodeRecord(Buffer.from(`${T} stdout F hello`))).toEqual({ stream: 'stdout', data: Buffer.from('hello\n') });
    expect(decodeRecord(Buffer.from(`${T} stderr P / # `))).toEqual({ stream: 'stderr', data: Buffer.from('/ # ') });
    expect(decodeRecord(Buffer.from(`${T} stdout F `))).toEqual({ stream: 'stdout', data: Buffer.from('\n') });
    expect(decodeRecord(Buffer.from(`${T} stdout F`))).toEqual({ stream: 'stdout', data: Buffer.from('\n') });
    expect(decodeRecord(Buffer.from(`${T} stdin F x`))).toBeUndefined();
    expect(decodeRecord(Buffer.from('garbage'))).toBeUndefined();
  });

  it('follows from the end (a start inside a record skips it), passes records as they complete, ends after `ended` at the end of the file', async () => {
    const file = join(tmp.dir, 'log');
    writeFileSync(file, `${T} stdout F old\n${T} stdout P half`);
    const got: string[] = [];
    let resolveEnded!: () => void;
    const ended = new Promise<void>((r) => { resolveEnded = r; });
    let done = false;
    LogFollower.start(file, (stream, data) => {
      got.push(`${stream}:${data.toString()}`);
      return true;
    }, ended, () => { done = true; });
    appendFileSync(file, ` line\n${T} stdout P pro`);
    appendFileSync(file, `mpt\n${T} stderr F err\n`);
    await waitFor(() => got.length === 2, 10_000, 'two records');
    expect(got).toEqual(['stdout:prompt', 'stderr:err\n']);
    appendFileSync(file, `${T} stdout F last\n`);
    resolveEnded();
    await waitFor(() => done, 10_000, 'the end');
    expect(got).toEqual(['stdout:prompt', 'stderr:err\n', 'stdout:last\n']);
  });
});

