/**
 * Test harness for the API server: the handler (with the real registry and a real store in a
 * temporary directory) on a real `node:http` server on 127.0.0.1:0, the pod lifecycle behind
 * it a small fake agent, plus helpers to read watch streams.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src/server/http.js';
import { FileStore } from '../../src/store/file-store.js';
import { FakeAgent } from './fake-agent.js';

/** A running test server. */
export interface TestApi {
  url: string;
  fake: FakeAgent;
  /** The server (its registry: open watches). */
  api: ApiServer;
  store: FileStore;
  dir: string;
  /** Request log lines the server wrote. */
  logs: { level: string; msg: string; fields: Record<string, unknown> }[];
  /** fetch relative to the server, with the token when one is configured. */
  req(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** Starts the API with a fresh fake backend; `tls` serves HTTPS with the self-signed test certificate. */
export async function startApi(opts: Partial<Omit<ApiServerOptions, 'backend' | 'store'>> = {}, tls = false): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), 'podvisor-server-'));
  const store = new FileStore(join(dir, 'store'));
  store.open();
  const fake = new FakeAgent(store, join(dir, 'logs'));
  const logs: TestApi['logs'] = [];
  const api = createApiServer({ backend: fake, store, logger: (level, msg, fields) => logs.push({ level, msg, fields }), ...opts });
  const fixtures = new URL('./fixtures/', import.meta.url);
  const server: Server = tls
    ? createHttpsServer({ key: readFileSync(new URL('localhost-key.pem', fixtures)), cert: readFileSync(new URL('localhost-cert.pem', fixtures)) }, api.handler)
    : createServer(api.handler);
  server.on('upgrade', api.upgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr !== 'object') throw new Error('no address');
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`;
  return {
    url,
    fake,
    api,
    store,
    dir,
    logs,
    req(path, init = {}) {
      const headers = new Headers(init.headers);
      if (opts.token !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${opts.token}`);
      return fetch(url + path, { ...init, headers });
    },
    async close() {
      api.close();
      fake.dispose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes a kubeconfig for the test server at `<dir>/kubeconfig` (the server's URL, its
 * self-signed certificate not verified, the bearer `token`) and returns its path.
 */
export function writeKubeconfig(api: TestApi, token: string): string {
  const file = join(api.dir, 'kubeconfig');
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
- name: podvisor
  cluster:
    server: ${api.url}
    insecure-skip-tls-verify: true
users:
- name: podvisor
  user:
    token: ${token}
contexts:
- name: podvisor
  context:
    cluster: podvisor
    user: podvisor
    namespace: default
current-context: podvisor
`);
  return file;
}

/** A minimal valid pod manifest. */
export function podManifest(name: string, extra: { labels?: Record<string, string>; containers?: string[]; namespace?: string } = {}): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name };
  if (extra.labels) metadata['labels'] = extra.labels;
  if (extra.namespace) metadata['namespace'] = extra.namespace;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers: (extra.containers ?? ['main']).map((c) => ({ name: c, image: 'busybox', command: ['sleep', '3600'] })) },
  };
}

/** Reads newline-separated JSON from a streaming response. */
export class LineReader {
  private buf = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  /** True once the server ended the stream. */
  done = false;

  constructor(res: Response) {
    if (!res.body) throw new Error('no body');
    this.reader = res.body.getReader();
  }

  /** The next line, or undefined at the end of the stream. Rejects after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return line;
      }
      if (this.done) {
        if (this.buf === '') return undefined;
        const rest = this.buf;
        this.buf = '';
        return rest;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
      ]);
      clearTimeout(timer);
      if (r === 'timeout') throw new Error(`no line within ${timeoutMs} ms`);
      if (r.done) this.done = true;
      else this.buf += this.decoder.decode(r.value, { stream: true });
    }
  }

  /** The next line parsed as JSON. */
  async json<T = { type: string; object: Record<string, unknown> }>(timeoutMs = 5000): Promise<T> {
    const line = await this.next(timeoutMs);
    if (line === undefined) throw new Error('stream ended');
    return JSON.parse(line) as T;
  }

  /** Everything until the end of the stream. */
  async rest(timeoutMs = 5000): Promise<string> {
    let out = '';
    for (;;) {
      const line = await this.next(timeoutMs);
      if (line === undefined) return out;
      out += `${line}\n`;
    }
  }

  /** Stops reading (the client leaves). */
  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

/** Polls `fn` until it returns true or the deadline passes. */
export async function until(fn: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
