/**
 * `GET …/pods/{name}/log` over CRI log files (the format conmon and containerd write), in
 * process with the fake agent: content only, per-line timestamps, sinceTime/sinceSeconds,
 * tailLines, limitBytes, partial records, interleaved streams, legacy plain files, and an
 * event-driven follow (the safety re-check is set to a minute, so only events can wake it).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCriRecord, formatRfc3339Nano, formatRfc3339NanoFixed, type CriStream } from '../../src/api/cri-log.js';
import { LineReader, podManifest, startApi, until, type TestApi } from './helpers.js';

const LOG = '/api/v1/namespaces/default/pods/web/log';
/** 2026-12-06T23:48:13Z, epoch ns. */
const BASE = BigInt(Date.parse('2026-12-06T23:48:13Z')) * 1_000_000n;
const S = 1_000_000_000n;
/** The clock of the server: 10 s after BASE. */
const NOW_MS = Number(BASE / 1_000_000n) + 10_000;

/** Record `i` of the fixture: time BASE + i s + i ns. */
const at = (i: number): bigint => BASE + BigInt(i) * S + BigInt(i);
const rec = (i: number, stream: CriStream, partial: boolean, content: string): string => formatCriRecord(at(i), stream, partial, content);
const stamp = (i: number): string => formatRfc3339NanoFixed(at(i));

/** stdout and stderr interleaved, a line split into three partial records, and conmon's `+00:00` form. */
const FIXTURE = [
  rec(0, 'stdout', false, 'one'),
  rec(1, 'stderr', false, 'err one'),
  rec(2, 'stdout', true, 'par'),
  rec(3, 'stdout', true, 't'),
  rec(4, 'stdout', false, 'ial'),
  rec(5, 'stderr', false, 'err two'),
  `${formatRfc3339NanoFixed(at(6)).replace('Z', '+00:00')} stdout F out 1\n`,
].join('');

let api: TestApi;

async function text(query = ''): Promise<string> {
  const res = await api.req(`${LOG}${query}`);
  expect(res.status).toBe(200);
  return res.text();
}

beforeEach(async () => {
  api = await startApi({ now: () => NOW_MS, logRecheckMs: 60_000 });
  const res = await api.req('/api/v1/namespaces/default/pods', { method: 'POST', body: JSON.stringify(podManifest('web')), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
});

afterEach(async () => {
  await api.close();
});

describe('logs over CRI files', () => {
  it('writes the content only, both streams in file order, partial records joined', async () => {
    api.fake.writeLog('default', 'web', 'main', FIXTURE);
    expect(await text()).toBe('one\nerr one\npartial\nerr two\nout 1\n');
  });

  it('prefixes every line with the time of its first record (RFC3339NanoFixed, UTC)', async () => {
    api.fake.writeLog('default', 'web', 'main', FIXTURE);
    expect(await text('?timestamps=true')).toBe(`${stamp(0)} one\n${stamp(1)} err one\n${stamp(2)} partial\n${stamp(5)} err two\n${stamp(6)} out 1\n`);
    expect(stamp(6)).toBe('2026-12-06T23:48:19.000000006Z');
  });

  it('selects records by their own time with sinceTime and sinceSeconds', async () => {
    api.fake.writeLog('default', 'web', 'main', FIXTURE);
    const q = (t: bigint): string => `?sinceTime=${encodeURIComponent(formatRfc3339Nano(t))}`;
    expect(await text(q(at(5)))).toBe('err two\nout 1\n'); // a record at the bound is kept
    expect(await text(q(at(5) + 1n))).toBe('out 1\n');
    expect(await text(q(at(3)))).toBe('tial\nerr two\nout 1\n'); // the continuation of a line begun earlier
    expect(await text(q(at(7)))).toBe('');
    expect(await text(q(BASE - S))).toBe('one\nerr one\npartial\nerr two\nout 1\n');
    // A numeric offset means the same instant.
    expect(await text(`?sinceTime=${encodeURIComponent('2026-12-07T01:48:18.000000005+02:00')}`)).toBe('err two\nout 1\n');
    // now = BASE + 10 s: sinceSeconds=5 keeps records from BASE + 5 s on.
    expect(await text('?sinceSeconds=5&timestamps=true')).toBe(`${stamp(5)} err two\n${stamp(6)} out 1\n`);
    expect(await text('?sinceSeconds=3')).toBe('');
    const bad = await api.req(`${LOG}?sinceTime=yesterday`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe('parsing time "yesterday" as RFC3339: cannot parse');
  });

  it('counts tailLines in records and bounds the output with limitBytes', async () => {
    api.fake.writeLog('default', 'web', 'main', FIXTURE);
    expect(await text('?tailLines=2')).toBe('err two\nout 1\n');
    expect(await text('?tailLines=4')).toBe('tial\nerr two\nout 1\n');
    expect(await text('?tailLines=0')).toBe('');
    expect(await text('?tailLines=100')).toBe('one\nerr one\npartial\nerr two\nout 1\n');
    expect(await text('?limitBytes=6')).toBe('one\ner');
    expect(await text('?limitBytes=34&timestamps=true')).toBe(`${stamp(0)} one`);
    expect(await text('?tailLines=2&limitBytes=10&timestamps=false')).toBe('err two\nou');
    expect(await text(`?tailLines=3&sinceTime=${encodeURIComponent(formatRfc3339Nano(at(6)))}`)).toBe('out 1\n');
  });

  it('skips lines that are not records and writes a final unfinished record as it is', async () => {
    api.fake.writeLog('default', 'web', 'main', `${rec(0, 'stdout', false, 'a')}garbage in the middle\n${rec(1, 'stdout', false, 'b')}${rec(2, 'stderr', false, 'c').slice(0, -1)}`);
    expect(await text()).toBe('a\nb\nc');
  });

  it('keeps serving legacy plain files (before the upgrade) with modification-time stamps', async () => {
    api.fake.writeLog('default', 'web', 'main', 'plain one\nplain two\n');
    expect(await text()).toBe('plain one\nplain two\n');
    expect(await text('?tailLines=1&timestamps=true')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z plain two\n$/);
    // since keeps or skips the whole file by its modification time (the real clock's).
    expect(await text(`?sinceTime=${encodeURIComponent('9999-01-01T00:00:00Z')}`)).toBe('');
    expect(await text(`?sinceTime=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).toBe('plain one\nplain two\n');
  });
});

describe('follow over CRI files', () => {
  it('writes records appended after the request, whole however they are split, and ends when the container stops', async () => {
    api.fake.writeLog('default', 'web', 'main', rec(0, 'stdout', false, 'first'));
    const lines = new LineReader(await api.req(`${LOG}?follow=true&timestamps=true`));
    expect(await lines.next()).toBe(`${stamp(0)} first`);
    // A record and half of the next in one append: the half must wait for its other half.
    const second = rec(2, 'stdout', false, 'second, split across appends');
    api.fake.appendLog('default', 'web', 'main', rec(1, 'stderr', false, 'to stderr') + second.slice(0, 20));
    expect(await lines.next()).toBe(`${stamp(1)} to stderr`);
    api.fake.appendLog('default', 'web', 'main', second.slice(20));
    expect(await lines.next()).toBe(`${stamp(2)} second, split across appends`);
    // A line in partial records, appended one by one.
    api.fake.appendLog('default', 'web', 'main', rec(3, 'stdout', true, 'pro'));
    api.fake.appendLog('default', 'web', 'main', rec(4, 'stdout', true, 'gr'));
    api.fake.appendLog('default', 'web', 'main', rec(5, 'stdout', false, 'ess'));
    expect(await lines.next()).toBe(`${stamp(3)} progress`);
    api.fake.appendLog('default', 'web', 'main', rec(6, 'stdout', false, 'last'));
    api.fake.stopContainer('default', 'web', 'main');
    expect(await lines.next()).toBe(`${stamp(6)} last`);
    expect(await lines.next(3000)).toBeUndefined();
  });

  it('waits for the first record of an empty log, then follows it', async () => {
    api.fake.writeLog('default', 'web', 'main', '');
    const lines = new LineReader(await api.req(`${LOG}?follow=true`));
    api.fake.appendLog('default', 'web', 'main', rec(0, 'stdout', false, 'hello'));
    expect(await lines.next()).toBe('hello');
    api.fake.stopContainer('default', 'web', 'main');
    expect(await lines.next(3000)).toBeUndefined();
  });

  it('ends when a new instance of the container writes another file', async () => {
    api.fake.writeLog('default', 'web', 'main', rec(0, 'stdout', false, 'first instance'));
    const lines = new LineReader(await api.req(`${LOG}?follow=true&tailLines=1`));
    expect(await lines.next()).toBe('first instance');
    api.fake.writeLog('default', 'web', 'main', rec(1, 'stdout', false, 'second instance'), false, '.1');
    expect(api.fake.containerRunning('default', 'web', 'main')).toBe(true);
    expect(await lines.next(3000)).toBeUndefined();
  });

  it('ends at limitBytes, and stops following when the client leaves', async () => {
    api.fake.writeLog('default', 'web', 'main', rec(0, 'stdout', false, 'abc'));
    const limited = new LineReader(await api.req(`${LOG}?follow=true&limitBytes=8`));
    expect(await limited.next()).toBe('abc');
    api.fake.appendLog('default', 'web', 'main', rec(1, 'stdout', false, 'defghij'));
    expect(await limited.next()).toBe('defg');
    expect(await limited.next(3000)).toBeUndefined();

    await until(() => api.api.registry.watcherCount === 0);
    const lines = new LineReader(await api.req(`${LOG}?follow=true`));
    expect(await lines.next()).toBe('abc');
    expect(api.api.registry.watcherCount).toBe(1); // the follow watches the pod
    await lines.cancel();
    await until(() => api.api.registry.watcherCount === 0);
  });

  it('follows a legacy plain file as before, stamping followed lines with the time of reading', async () => {
    api.fake.writeLog('default', 'web', 'main', 'old\n');
    const lines = new LineReader(await api.req(`${LOG}?follow=true&timestamps=true`));
    expect(await lines.next()).toMatch(/^\S+Z old$/);
    api.fake.appendLog('default', 'web', 'main', 'new\n');
    expect(await lines.next()).toBe(`${formatRfc3339NanoFixed(BigInt(NOW_MS) * 1_000_000n)} new`);
    api.fake.stopContainer('default', 'web', 'main');
    expect(await lines.next(3000)).toBeUndefined();
  });
});
