/**
 * Watches cannot grow the server's memory without limit (issue 11, item 3): a watch whose
 * client stops reading is closed once output piles up, while one that reads gets every event;
 * the number of open watches is bounded per client and in total (429).
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_WATCH_TIMEOUT_SECONDS, watchTimeoutMs, WatchRegistry } from '../../src/server/watch-limits.js';
import { LineReader, podManifest, startApi, until, type TestApi } from './helpers.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PODS = '/api/v1/namespaces/default/pods';
let api: TestApi | undefined;

afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** A watch whose client sends the request and never reads the response. */
function stalledWatch(url: string, path: string): Promise<{ socket: Socket }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
      socket.pause();
      resolve({ socket });
    });
    socket.once('error', reject);
  });
}

describe('watch limits', () => {
  it('closes a watch whose client does not read once output piles up; a reading watch gets every event', async () => {
    api = await startApi({ maxWatchBufferedBytes: 256 * 1024 });
    const a = api;
    expect((await a.req(PODS, { method: 'POST', body: JSON.stringify(podManifest('w')), headers: { 'content-type': 'application/json' } })).status).toBe(201);
    const rv = ((await (await a.req(PODS)).json()) as Obj).metadata.resourceVersion as string;
    const stalled = await stalledWatch(a.url, `${PODS}?watch=true&resourceVersion=${rv}`);
    // The paused client would see the end only by reading: the server's log tells.
    const closed = (): boolean => a.logs.some((l) => l.msg === 'watch closed: the client does not read');
    const reading = new LineReader(await a.req(`${PODS}?watch=true&resourceVersion=${rv}`));
    const sent: string[] = [];
    const got: string[] = [];
    const readAll = (async () => {
      for (;;) {
        const line = await reading.next(20_000).catch(() => undefined);
        if (line === undefined) return;
        const e = JSON.parse(line) as Obj;
        if (e.type === 'MODIFIED') got.push(e.object.metadata.resourceVersion as string);
      }
    })();
    const big = 'v'.repeat(200 * 1024);
    for (let i = 0; i < 400 && !closed(); i++) {
      const res = await a.req(`${PODS}/w`, { method: 'PATCH', body: JSON.stringify({ metadata: { annotations: { big: `${i}${big}` } } }), headers: { 'content-type': 'application/merge-patch+json' } });
      expect(res.status).toBe(200);
      sent.push(((await res.json()) as Obj).metadata.resourceVersion as string);
    }
    expect(closed()).toBe(true);
    expect(a.logs.find((l) => l.msg === 'watch closed: the client does not read')?.fields['bufferedBytes']).toBeGreaterThan(256 * 1024);
    stalled.socket.destroy();
    await until(() => got.length >= sent.length, 10_000);
    expect(got).toEqual(sent);
    await reading.cancel();
    await readAll;
    await until(() => a.api.registry.watcherCount === 0);
  });

  it('answers 429 TooManyRequests (Retry-After) beyond the per-client limit, and admits again once a watch ends', async () => {
    api = await startApi({ watchLimits: { perClient: 2, total: 10 } });
    const a = api;
    const w1 = new LineReader(await a.req(`${PODS}?watch=true`));
    const w2 = new LineReader(await a.req(`${PODS}?watch=true`));
    const refused = await a.req('/api/v1/events?watch=true');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 429, reason: 'TooManyRequests',
      message: 'Too many requests, please try again later: this client has 2 watches open, the limit is 2',
      details: { retryAfterSeconds: 1 },
    });
    await w1.cancel();
    await until(() => a.api.registry.watcherCount === 1);
    const w3 = await a.req(`${PODS}?watch=true`);
    expect(w3.status).toBe(200);
    await new LineReader(w3).cancel();
    await w2.cancel();
  });

  it('bounds the total, and releases the slot of a watch refused after admission (410)', () => {
    const r = new WatchRegistry({ perClient: 5, total: 3 });
    const release = [r.admit('a'), r.admit('b'), r.admit('c')];
    expect(() => r.admit('d')).toThrow('3 watches are open, the limit is 3');
    release[0]?.();
    release[0]?.();
    expect(r.open).toBe(2);
    r.admit('d');
    expect(r.open).toBe(3);
  });

  it('clamps timeoutSeconds to a Node timer and gives the default between 30 and 60 minutes', () => {
    const q = (t: string): URLSearchParams => new URLSearchParams({ timeoutSeconds: t });
    expect(watchTimeoutMs(q('5'), () => 0)).toBe(5000);
    expect(watchTimeoutMs(q('3000000'), () => 0)).toBe(MAX_WATCH_TIMEOUT_SECONDS * 1000);
    expect(MAX_WATCH_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(watchTimeoutMs(q('9223372036854775807'), () => 0)).toBe(MAX_WATCH_TIMEOUT_SECONDS * 1000);
    expect(watchTimeoutMs(q('0'), () => 0.5)).toBe(2_700_000);
    expect(watchTimeoutMs(new URLSearchParams(), () => 0)).toBe(1_800_000);
  });
});
