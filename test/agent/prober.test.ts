/** Probe handlers against real local endpoints: httpGet, tcpSocket, exec (spec §2.5). */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbeOnce } from '../../src/agent/prober.js';
import type { ContainerRuntime, ExecResult } from '../../src/runtime/types.js';

let server: http.Server;
let port = 0;
let tcpClosedPort = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? 200 : req.url === '/redirect' ? 302 : 500;
    res.end(req.headers['x-probe'] ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  // A port that refuses connections: bind, read the port, close.
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  tcpClosedPort = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const runtime = {
  exec: async (_id: string, cmd: string[]): Promise<ExecResult> =>
    cmd[0] === 'ok' ? { exitCode: 0, output: 'fine\n', timedOut: false } : cmd[0] === 'slow' ? { exitCode: 137, output: '', timedOut: true } : { exitCode: 1, output: 'broken\n', timedOut: false },
} as unknown as ContainerRuntime;
const deps = (ports: { name: string; containerPort: number }[] = []) => ({ runtime, instanceId: 'x', host: '127.0.0.1', container: { name: 'c', ports } });

describe('probe handlers', () => {
  it('httpGet: 200-399 succeed, others fail with the status code, named ports resolve', async () => {
    expect(await runProbeOnce({ httpGet: { port, path: '/healthz' } }, deps())).toEqual({ ok: true, output: '' });
    expect((await runProbeOnce({ httpGet: { port, path: '/redirect' } }, deps())).ok).toBe(true);
    expect(await runProbeOnce({ httpGet: { port, path: '/' } }, deps())).toEqual({ ok: false, output: 'HTTP probe failed with statuscode: 500' });
    expect((await runProbeOnce({ httpGet: { port: 'web', path: '/healthz' } }, deps([{ name: 'web', containerPort: port }]))).ok).toBe(true);
    expect((await runProbeOnce({ httpGet: { port: 'nope' } }, deps())).output).toBe('unknown port nope');
  });

  it('httpGet: a refused connection fails with the dial error', async () => {
    const r = await runProbeOnce({ httpGet: { port: tcpClosedPort, path: '/' } }, deps());
    expect(r.ok).toBe(false);
    expect(r.output).toContain(`Get "http://127.0.0.1:${tcpClosedPort}/"`);
    expect(r.output).toContain('ECONNREFUSED');
  });

  it('tcpSocket: connect succeeds, refused fails', async () => {
    expect((await runProbeOnce({ tcpSocket: { port } }, deps())).ok).toBe(true);
    const r = await runProbeOnce({ tcpSocket: { port: tcpClosedPort } }, deps());
    expect(r.ok).toBe(false);
    expect(r.output).toContain(`dial tcp 127.0.0.1:${tcpClosedPort}`);
  });

  it('exec: exit 0 succeeds, non-zero fails with the output, a timeout fails', async () => {
    expect(await runProbeOnce({ exec: { command: ['ok'] } }, deps())).toEqual({ ok: true, output: 'fine' });
    expect(await runProbeOnce({ exec: { command: ['bad'] } }, deps())).toEqual({ ok: false, output: 'broken' });
    expect(await runProbeOnce({ exec: { command: ['slow'] }, timeoutSeconds: 2 }, deps())).toEqual({ ok: false, output: 'command timed out after 2s' });
  });
});
