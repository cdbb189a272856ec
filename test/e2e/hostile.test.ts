/**
 * End-to-end: hostile clients against the built `podvisor serve` (issue 11, items 2 and 3),
 * measured on the daemon process itself (`/proc/<pid>/status`): a patch that doubles the
 * document twenty times is refused at once while other requests are answered, and fifty
 * watches that never read, under a stream of large updates, are closed before the daemon's
 * memory grows, while a watch that reads receives every event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

type Obj = Record<string, any>;

const tmp = tempDir('podvisor-hostile-');
const dataDir = join(tmp.dir, 'data');
let daemon: ChildProcess;
let port = 0;
let token = '';
let ca: Buffer;
/** Watches the daemon closed for not reading (from its log). */
let slowClosed = 0;
const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
const PODS = '/api/v1/namespaces/default/pods';

function req(method: string, path: string, body?: string, type = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Node's client frames a DELETE body only with an explicit length.
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, 'Content-Type': type };
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const r = https.request({ host: '127.0.0.1', port, path, method, ca, agent, headers }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** The daemon's resident and peak resident memory, MiB. */
function memory(): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
  daemon = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  daemon.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      if (out.slice(0, nl).includes('watch closed: the client does not read')) slowClosed++;
      out = out.slice(nl + 1);
    }
  });
  await until('serve ready', async () => {
    try {
      token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
      ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
      return (await req('GET', '/readyz')).status === 200;
    } catch {
      return false;
    }
  });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'target' }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } };
  expect((await req('POST', PODS, JSON.stringify(pod))).status).toBe(201);
});

afterAll(async () => {
  agent.destroy();
  await new Promise<void>((resolve) => {
    if (daemon.exitCode !== null) return resolve();
    daemon.once('exit', () => resolve());
    daemon.kill('SIGTERM');
  });
  tmp.cleanup();
});

describe('a hostile client against podvisor serve', () => {
  it('refuses the doubling JSON patch at once; memory stays flat and GET /api/v1/pods is answered within 100 ms throughout', async () => {
    const ops: unknown[] = [{ op: 'add', path: '/metadata/x', value: Array.from({ length: 64 }, (_, i) => i) }];
    for (let i = 0; i < 22; i++) ops.push({ op: 'copy', from: '/metadata/x', path: '/metadata/x/-' });
    // Warm up (first requests compile code paths), then measure.
    for (let i = 0; i < 5; i++) await req('GET', '/api/v1/pods');
    await req('PATCH', `${PODS}/target`, JSON.stringify(ops), 'application/json-patch+json');
    const before = memory();
    let done = false;
    let slowest = 0;
    let gets = 0;
    const poll = (async () => {
      while (!done) {
        const t0 = performance.now();
        expect((await req('GET', '/api/v1/pods')).status).toBe(200);
        slowest = Math.max(slowest, performance.now() - t0);
        gets++;
      }
    })();
    const t0 = performance.now();
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await req('PATCH', `${PODS}/target`, JSON.stringify(ops), 'application/json-patch+json'));
    const took = (performance.now() - t0) / 3;
    done = true;
    await poll;
    for (const r of results) {
      expect(r.status).toBe(422);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', reason: 'Invalid', message: expect.stringMatching(/^Unable to complete the copy/) });
    }
    const after = memory();
    console.log(`hostile patch: ${took.toFixed(0)} ms each, slowest GET ${slowest.toFixed(1)} ms of ${gets}, peak RSS ${before.peak.toFixed(0)} -> ${after.peak.toFixed(0)} MiB`);
    expect(took).toBeLessThan(1000);
    expect(gets).toBeGreaterThan(3);
    expect(slowest).toBeLessThan(100);
    // Peak resident memory: copies share their value, so the refused patch built nothing.
    expect(after.peak - before.peak).toBeLessThan(8);
  });

  it('answers the requests of issue 11 item 4 with a 4xx Status from the real agent too, and stays up', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const cases: [string, string, string | undefined, string, number][] = [
      ['DELETE', `${PODS}/target?gracePeriodSeconds=9999999999999999`, undefined, 'application/json', 422],
      ['DELETE', `${PODS}/target`, '{"gracePeriodSeconds": 1e300}', 'application/json', 400],
      ['PATCH', `${PODS}/target`, deep, 'application/merge-patch+json', 400],
      ['PATCH', `${PODS}/target`, deep, 'application/strategic-merge-patch+json', 400],
      ['POST', PODS, deep, 'application/json', 400],
      ['PUT', `${PODS}/target`, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'target' }, spec: { containers: [{ name: 'main', image: 'busybox', ports: [false] }] } }), 'application/json', 422],
    ];
    for (const [method, path, body, type, code] of cases) {
      const r = await req(method, path, body, type);
      expect(r.status, `${method} ${path.slice(0, 80)}`).toBe(code);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', status: 'Failure', code });
    }
    // A pod whose own grace period is the largest safe integer is deleted without a crash.
    const forever = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'forever' }, spec: { terminationGracePeriodSeconds: Number.MAX_SAFE_INTEGER, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } };
    expect((await req('POST', PODS, JSON.stringify(forever))).status).toBe(201);
    const del = await req('DELETE', `${PODS}/forever`);
    expect(del.status).toBe(200);
    expect(JSON.parse(del.body).metadata.deletionTimestamp).toBe('9999-12-31T23:59:59Z');
    expect((await req('GET', '/api/v1/pods')).status).toBe(200);
  });

  it('closes 50 watches that never read under a stream of 200 KB updates (RSS < 300 MB); a reading watch gets every event', async () => {
    const rv = JSON.parse((await req('GET', PODS)).body).metadata.resourceVersion as string;
    const path = `${PODS}?watch=true&resourceVersion=${rv}`;
    const stalled: TLSSocket[] = await Promise.all(Array.from({ length: 50 }, () => new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', rejectUnauthorized: false }, () => {
        s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
        s.pause();
        resolve(s);
      });
      s.once('error', reject);
    })));
    const got: string[] = [];
    let buf = '';
    const reading = await new Promise<IncomingMessage>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path, ca, headers: { Authorization: `Bearer ${token}` } }, resolve).on('error', reject);
    });
    reading.setEncoding('utf8');
    reading.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl)) as Obj;
        buf = buf.slice(nl + 1);
        if (e.type === 'MODIFIED') got.push(e.object.metadata.resourceVersion);
      }
    });
    const sent: string[] = [];
    let maxRss = 0;
    const big = 'v'.repeat(200 * 1024);
    const deadline = Date.now() + 90_000;
    for (let i = 0; i < 400 && slowClosed < stalled.length && Date.now() < deadline; i++) {
      const r = await req('PATCH', `${PODS}/target`, JSON.stringify({ metadata: { annotations: { big: `${i}${big}` } } }), 'application/merge-patch+json');
      expect(r.status).toBe(200);
      sent.push(JSON.parse(r.body).metadata.resourceVersion);
      maxRss = Math.max(maxRss, memory().rss);
    }
    await until('stalled watches closed', () => slowClosed === stalled.length, 10_000);
    for (const s of stalled) s.destroy();
    console.log(`hostile watches: ${sent.length} updates, daemon RSS at most ${maxRss.toFixed(0)} MiB`);
    expect(maxRss).toBeLessThan(300);
    // The reading watch also sees the agent's own status writes; every update is among them, in order.
    const mine = new Set(sent);
    await until('the reading watch received every update', () => got.filter((v) => mine.has(v)).length >= sent.length, 20_000);
    expect(got.filter((v) => mine.has(v))).toEqual(sent);
    reading.destroy();
  });
});
