/**
 * Nothing a stream's client sends can crash the daemon or stall other requests: random and
 * mutated WebSocket messages on every channel protocol of exec and port-forward (channel bytes
 * out of range, v5 close signals, broken base64, resize garbage, huge messages), random bytes
 * after a SPDY upgrade, and an exec into a pod of another namespace through that namespace's
 * path only. The server keeps answering after each run.
 */
import { spawn } from 'node:child_process';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ExecStream, ExecStreamOptions } from '../../src/agent/node-api.js';
import { podManifest, startApi, type TestApi } from './helpers.js';

const TOKEN = 'fuzz-token';
let api: TestApi;

function childExec(command: string[], opts: ExecStreamOptions): ExecStream {
  const child = spawn(command[0] ?? 'false', command.slice(1), { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
  return {
    ...(child.stdin ? { stdin: child.stdin } : {}),
    stdout: child.stdout as NodeJS.ReadableStream,
    stderr: child.stderr as NodeJS.ReadableStream,
    resize: () => {},
    kill: () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    },
    exited: new Promise((resolve) => {
      child.on('error', () => resolve({ exitCode: 127 }));
      child.on('close', (code) => resolve({ exitCode: code ?? 137 }));
    }),
  };
}

async function request(method: string, path: string, body?: unknown): Promise<number> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(`${api.url}${path}`, { method, rejectUnauthorized: false, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

beforeAll(async () => {
  api = await startApi({ token: TOKEN }, true);
  api.fake.exec = childExec;
  expect(await request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } })).toBe(201);
  expect(await request('POST', '/api/v1/namespaces/default/pods', podManifest('box'))).toBe(201);
  expect(await request('POST', '/api/v1/namespaces/other/pods', podManifest('elsewhere', { namespace: 'other' }))).toBe(201);
});

afterAll(async () => {
  await api.close();
});

/** Opens a WebSocket to `path` with `protocol`; resolves once open (or with the error). */
function open(path: string, protocol: string): Promise<WebSocket | Error> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${api.url.replace('https', 'wss')}${path}`, [protocol], { rejectUnauthorized: false, headers: { authorization: `Bearer ${TOKEN}` } });
    ws.once('open', () => resolve(ws));
    ws.once('error', (e) => resolve(e));
    ws.once('unexpected-response', (_req, res) => resolve(new Error(`status ${res.statusCode ?? 0}`)));
  });
}

const stillServing = async (): Promise<void> => {
  expect(await request('GET', '/api/v1/namespaces/default/pods/box')).toBe(200);
};

describe('stream framing fuzz', () => {
  it('random messages on exec and port-forward channels never crash the server', async () => {
    const targets = [
      ['/api/v1/namespaces/default/pods/box/exec?command=cat&stdin=true&stdout=true&stderr=true', 'v5.channel.k8s.io'],
      ['/api/v1/namespaces/default/pods/box/exec?command=cat&stdin=true&stdout=true&tty=true', 'v4.channel.k8s.io'],
      ['/api/v1/namespaces/default/pods/box/exec?command=cat&stdin=true&stdout=true', 'v4.base64.channel.k8s.io'],
      ['/api/v1/namespaces/default/pods/box/portforward?ports=1', 'v4.channel.k8s.io'],
      // (The SPDY tunnel's subprotocol is no token `ws`'s client accepts; its framing is fuzzed in spdy-fuzz.test.ts.)
      ['/api/v1/namespaces/default/pods/box/portforward?ports=1,2', 'v4.base64.channel.k8s.io'],
    ] as const;
    const message = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 64 }),
      fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 254, 255), fc.uint8Array({ maxLength: 32 })).map(([c, b]) => Uint8Array.from([c, ...b])),
      fc.constantFrom(Uint8Array.from([255]), Uint8Array.from([255, 0]), Uint8Array.from([255, 200]), Buffer.from('4{"Width":-1,"Height":"x"}'), Buffer.from([4, ...Buffer.from('{"Width":99999999}{')])),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(fc.asyncProperty(fc.constantFrom(...targets), fc.array(message, { maxLength: 12 }), async ([path, protocol], msgs) => {
      const ws = await open(path, protocol);
      if (ws instanceof Error) throw ws;
      for (const m of msgs) ws.send(m, { binary: typeof m !== 'string' });
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        setTimeout(() => ws.terminate(), 50);
      });
    }), { numRuns: 60 });
    await stillServing();
  });

  it('a message over the bound closes that stream only', async () => {
    const ws = await open('/api/v1/namespaces/default/pods/box/exec?command=cat&stdin=true&stdout=true', 'v5.channel.k8s.io');
    if (ws instanceof Error) throw ws;
    const code = await new Promise<number>((resolve) => {
      ws.once('close', (c) => resolve(c));
      ws.send(Buffer.alloc(2 * 1024 * 1024));
    });
    expect(code).toBe(1009);
    await stillServing();
  });

  it('random bytes after a SPDY upgrade never crash the server', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
      const url = new URL(api.url);
      await new Promise<void>((resolve) => {
        const s = tlsConnect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
          s.write(`POST /api/v1/namespaces/default/pods/box/exec?command=cat&stdin=true&stdout=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n`);
          s.write(bytes);
          setTimeout(() => s.destroy(), 30);
        });
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
    }), { numRuns: 40 });
    await stillServing();
  });

  it('a stream idle longer than the idle timeout is closed, and its command killed', async () => {
    const idle = await startApi({ token: TOKEN, streamIdleTimeoutMs: 300 }, true);
    try {
      let killed = false;
      idle.fake.exec = (command, opts) => {
        const e = childExec(command, opts);
        const kill = e.kill;
        return { ...e, kill: () => { killed = true; kill(); } };
      };
      const https = await import('node:https');
      await new Promise<void>((resolve, reject) => {
        const req = https.request(`${idle.url}/api/v1/namespaces/default/pods`, { method: 'POST', rejectUnauthorized: false, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
        req.on('response', (res) => { res.resume(); resolve(); });
        req.on('error', reject);
        req.end(JSON.stringify(podManifest('box')));
      });
      const ws = await new Promise<WebSocket>((resolve, reject) => {
        const w = new WebSocket(`${idle.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/box/exec?command=sleep&command=100&stdout=true`, ['v5.channel.k8s.io'], { rejectUnauthorized: false, headers: { authorization: `Bearer ${TOKEN}` } });
        w.once('open', () => resolve(w));
        w.once('error', reject);
      });
      const t0 = Date.now();
      await new Promise<void>((resolve) => ws.once('close', () => resolve()));
      expect(Date.now() - t0).toBeLessThan(5_000);
      const deadline = Date.now() + 5_000;
      while (!killed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(killed).toBe(true);
    } finally {
      await idle.close();
    }
  });

  it('an exec reaches a pod of another namespace only through that namespace\'s path', async () => {
    const wrong = await open('/api/v1/namespaces/default/pods/elsewhere/exec?command=true&stdout=true', 'v5.channel.k8s.io');
    expect(wrong).toBeInstanceOf(Error);
    expect(String(wrong)).toContain('404');
    const right = await open('/api/v1/namespaces/other/pods/elsewhere/exec?command=true&stdout=true', 'v5.channel.k8s.io');
    expect(right).toBeInstanceOf(WebSocket);
    if (right instanceof WebSocket) right.terminate();
    expect(api.fake.calls.some((c) => c[0] === 'execStream' && c[1] === 'other' && c[2] === 'elsewhere')).toBe(true);
  });
});
