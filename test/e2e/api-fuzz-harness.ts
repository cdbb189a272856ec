/**
 * Harness of the API fuzz (`api-fuzz.test.ts`): a real `podvisor serve` on the host runtime in
 * a fresh temp root that is also its cwd, HOME, TMPDIR and XDG dirs, with the data dir and an
 * empty sibling `escape-target` inside; requests over HTTPS with a deadline that never wait on
 * a stream; the check that an error is a Kubernetes `Status`; and snapshots of every file
 * around the data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { expect } from 'vitest';
import { CLI, until } from './helpers.js';

/** A word in every odd name the fuzz sends: a file or directory bearing it outside the data dir is an escape. */
export const MARKER = 'pvfz';

/** The reasons of the API server's `StatusReason`s by HTTP code (k8s.io/apimachinery `metav1.StatusReason`). */
export const REASONS: Readonly<Record<number, readonly string[]>> = {
  400: ['BadRequest'],
  401: ['Unauthorized'],
  403: ['Forbidden'],
  404: ['NotFound'],
  405: ['MethodNotAllowed'],
  406: ['NotAcceptable'],
  408: ['Timeout'],
  409: ['AlreadyExists', 'Conflict'],
  410: ['Gone', 'Expired'],
  413: ['RequestEntityTooLarge'],
  415: ['UnsupportedMediaType'],
  422: ['Invalid'],
  429: ['TooManyRequests'],
  500: ['InternalError'],
  503: ['ServiceUnavailable'],
  504: ['Timeout'],
};

/** One request. */
export interface Req {
  method?: string;
  /** Sent byte for byte (no normalisation). */
  path: string;
  /** `token` (the default): the daemon's bearer token; `none`: no Authorization; else the raw header value. */
  auth?: 'token' | 'none' | string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Content-Type (default application/json when there is a body). */
  type?: string;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
  /**
   * Declare this Content-Length but send only `body` (a client announcing a large body): the
   * server must answer from the head alone; the connection is not reused.
   */
  declaredLength?: number;
  /** Read a 2xx body too (by default a 2xx answer is cut off: watches, follows and streams never end). */
  read?: boolean;
  /** The answer (its head, and an error's body) must come within this (default 15 s): a hang is a failure. */
  timeoutMs?: number;
}

/** One answer. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Empty for a 2xx answer not read. */
  body: string;
  /** Until the head, ms. */
  ms: number;
}

/** What a request was, for messages. */
export const describeReq = (r: Req): string => `${r.method ?? 'GET'} ${r.path.length > 160 ? `${r.path.slice(0, 160)}…` : r.path} (${r.type ?? (r.body !== undefined ? 'application/json' : 'no body')}, auth ${r.auth === undefined || r.auth === 'token' ? 'token' : JSON.stringify(r.auth.slice(0, 20))})`;

/**
 * Checks that an error answer is a Kubernetes `Status` as the API server writes it: JSON,
 * `kind: Status`, `apiVersion: v1`, `status: Failure`, `code` equal to the HTTP status, a
 * reason of that code, a message. Returns the Status.
 */
export function expectStatus(a: Answer, what: string, codes?: readonly number[]): Record<string, any> {
  if (codes) expect(codes, `${what} -> ${a.status} ${a.body.slice(0, 300)}`).toContain(a.status);
  expect(a.status, `${what}: not an error`).toBeGreaterThanOrEqual(400);
  expect(String(a.headers['content-type']), `${what}: content type`).toMatch(/^application\/json/);
  let s: Record<string, any>;
  try {
    s = JSON.parse(a.body) as Record<string, any>;
  } catch {
    throw new Error(`${what} -> ${a.status}: body is not JSON: ${JSON.stringify(a.body.slice(0, 200))}`);
  }
  expect(s, `${what} -> ${a.body.slice(0, 300)}`).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: a.status });
  expect(REASONS[a.status] ?? [], `${what}: reason ${String(s['reason'])} for ${a.status}`).toContain(s['reason']);
  expect(typeof s['message'], `${what}: message`).toBe('string');
  return s;
}

/** Every entry under `dir` (recursively) as `path -> d | f:size | l:target`, leaving out `skip`. */
export function tree(dir: string, skip: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (skip.includes(p)) continue;
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) out.set(p, `l:${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(p, 'd');
        walk(p);
      } else out.set(p, `f:${st.size}`);
    }
  };
  walk(dir);
  return out;
}

/** The name of each run's temp root begins with this. */
const ROOT_PREFIX = `podvisor-apifuzz-${MARKER}-root-`;

/** Entries bearing {@link MARKER} at the top of the places a traversal would reach first. */
export function markedOutside(root: string): string[] {
  const places = [tmpdir(), homedir(), '/', '/etc', join(root, '..')];
  return places.flatMap((p) => {
    try {
      // (The temp roots of this fuzz bear the marker by name, also those of another run at the same time.)
      return readdirSync(p).filter((n) => n.includes(MARKER) && !n.startsWith(ROOT_PREFIX)).map((n) => join(p, n));
    } catch {
      return [];
    }
  });
}

/** One `podvisor serve --runtime host` in its own temp root. */
export class FuzzDaemon {
  readonly root: string;
  readonly dataDir: string;
  /** The sibling of the data dir a traversal would aim at; it must stay empty. */
  readonly escapeDir: string;
  port = 0;
  token = '';
  ca: Buffer = Buffer.alloc(0);
  proc: ChildProcess | undefined;
  /** Everything it printed. */
  readonly out: string[] = [];
  readonly agent: https.Agent;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
    this.dataDir = join(this.root, 'data');
    this.escapeDir = join(this.root, 'escape-target');
    for (const d of ['cwd', 'home', 'tmp', 'run', 'cache', 'config', 'escape-target']) mkdirSync(join(this.root, d), { recursive: true });
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  async start(): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin', NO_COLOR: '1',
      HOME: join(this.root, 'home'), TMPDIR: join(this.root, 'tmp'), XDG_RUNTIME_DIR: join(this.root, 'run'),
      XDG_CACHE_HOME: join(this.root, 'cache'), XDG_STATE_HOME: join(this.root, 'home'), XDG_CONFIG_HOME: join(this.root, 'config'),
    };
    const proc = spawn(process.execPath, [CLI, 'serve', '--runtime', 'host', '--stop-pods-on-exit', '--data-dir', this.dataDir, '--listen', '127.0.0.1:0',
      '--backoff-initial', '200ms', '--backoff-max', '1s'], { cwd: join(this.root, 'cwd'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => this.out.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => this.out.push(d.toString()));
    await until('serve ready', async () => {
      if (proc.exitCode !== null) throw new Error(`serve exited: ${this.out.join('')}`);
      const ep = join(this.dataDir, 'endpoint.json');
      if (!existsSync(ep)) return false;
      const e = JSON.parse(readFileSync(ep, 'utf8')) as { listeners: string[]; pid: number };
      if (e.pid !== proc.pid) return false;
      this.port = Number(new URL(e.listeners[0] ?? '').port);
      this.token = readFileSync(join(this.dataDir, 'token'), 'utf8').trim();
      this.ca = readFileSync(join(this.dataDir, 'tls', 'cert.pem'));
      return (await this.send({ path: '/api/v1/namespaces/default/pods', read: true })).status === 200;
    }, 30_000);
  }

  /** Whether the daemon process still runs. */
  alive(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resident memory of the daemon, MiB. */
  rss(): number {
    const s = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN) / 1024;
  }

  /**
   * Lines of its output that tell of a crash, an uncaught error or a 500: anything that is not
   * one of pino's JSON lines (a stack trace, a Node warning), and JSON lines at level error or
   * above (a `request failed`, an `http request` with status 500, a fatal).
   */
  logProblems(): string[] {
    return this.out.join('').split('\n').filter((l) => {
      if (l.trim() === '') return false;
      if (!l.startsWith('{')) return true;
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        return Number(j['level']) >= 50 || (j['msg'] === 'http request' && Number(j['status']) >= 500);
      } catch {
        return true;
      }
    });
  }

  /** SIGTERM and wait (SIGKILL after 30 s). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    }
    this.agent.destroy();
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The Authorization header of `auth`. */
  private authHeader(auth: Req['auth']): string | undefined {
    if (auth === undefined || auth === 'token') return `Bearer ${this.token}`;
    if (auth === 'none') return undefined;
    return auth;
  }

  /** Sends one request; rejects when its answer does not come within its deadline. */
  send(r: Req): Promise<Answer> {
    const headers: Record<string, string> = { ...r.headers };
    const auth = this.authHeader(r.auth);
    if (auth !== undefined) headers['Authorization'] = auth;
    if (r.body !== undefined) {
      headers['Content-Type'] ??= r.type ?? 'application/json';
      // Node's client frames a DELETE body only with an explicit length.
      if (r.declaredLength !== undefined) headers['Content-Length'] = String(r.declaredLength);
      else if (!r.chunked) headers['Content-Length'] = String(Buffer.byteLength(r.body));
      else headers['Transfer-Encoding'] = 'chunked';
    } else if (r.type !== undefined) headers['Content-Type'] = r.type;
    const ownSocket = r.declaredLength !== undefined || Object.keys(headers).some((h) => h.toLowerCase() === 'upgrade');
    const t0 = performance.now();
    const limit = r.timeoutMs ?? 15_000;
    return new Promise<Answer>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, a?: Answer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(a as Answer);
      };
      const req = https.request({
        host: '127.0.0.1', port: this.port, path: r.path, method: r.method ?? 'GET', ca: this.ca, servername: 'localhost',
        checkServerIdentity: () => undefined, headers, agent: ownSocket ? false : this.agent,
      }, (res) => {
        const status = res.statusCode ?? 0;
        const ms = performance.now() - t0;
        if (status < 300 && !r.read) {
          res.destroy();
          finish(undefined, { status, headers: res.headers, body: '', ms });
          return;
        }
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => {
          finish(undefined, { status, headers: res.headers, body: b, ms });
          if (r.declaredLength !== undefined) req.destroy();
        });
        res.on('error', (e) => finish(e));
        res.on('close', () => finish(undefined, { status, headers: res.headers, body: b, ms }));
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        finish(undefined, { status: res.statusCode ?? 101, headers: res.headers, body: '', ms: performance.now() - t0 });
      });
      // A server that answers before it read a large body may close while the body is sent.
      req.on('error', (e) => finish(e));
      const timer = setTimeout(() => {
        req.destroy();
        finish(new Error(`no answer within ${limit} ms: ${describeReq(r)}`));
      }, limit);
      if (r.body !== undefined) {
        if (r.chunked) {
          const b = Buffer.from(r.body);
          for (let i = 0; i < b.length; i += 256 * 1024) req.write(b.subarray(i, i + 256 * 1024));
        } else req.write(r.body);
      }
      if (r.declaredLength === undefined) req.end();
    });
  }

  /** A raw TLS connection to the daemon over a TCP socket that can be reset (`raw.resetAndDestroy()`). */
  connectTls(): Promise<{ raw: net.Socket; tls: TLSSocket }> {
    return new Promise((resolve, reject) => {
      const raw = net.connect({ host: '127.0.0.1', port: this.port }, () => {
        const s = tls.connect({ socket: raw, ca: this.ca, servername: 'localhost', checkServerIdentity: () => undefined }, () => resolve({ raw, tls: s }));
        s.once('error', reject);
      });
      raw.once('error', reject);
    });
  }

  /** A watch `GET path` on its own connection; resolves once the answer's head arrived, with its status. */
  async openWatch(path: string, extraHeaders = ''): Promise<{ status: number; raw: net.Socket; tls: TLSSocket }> {
    const { raw, tls: s } = await this.connectTls();
    s.on('error', () => {});
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${this.token}\r\n${extraHeaders}\r\n`);
    const status = await new Promise<number>((resolve, reject) => {
      let got = '';
      const t = setTimeout(() => reject(new Error(`no answer to the watch ${path} within 10 s`)), 10_000);
      s.on('data', (b: Buffer) => {
        got += b.toString('latin1');
        const m = /^HTTP\/1\.1 (\d+)/.exec(got);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
    });
    return { status, raw, tls: s };
  }

  /** Writes `bytes` (Latin-1) on a new TLS connection and resolves with all it got until the server closed it (or 5 s). */
  async exchange(bytes: string): Promise<string> {
    const { tls: s } = await this.connectTls();
    return new Promise((resolve) => {
      let got = '';
      const t = setTimeout(() => s.destroy(), 5000);
      s.on('data', (b: Buffer) => (got += b.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(t);
        resolve(got);
      });
      s.write(Buffer.from(bytes, 'latin1'));
    });
  }

  /**
   * A slow client: a connection (TLS, or plain TCP with `tls: false`) that sends `first` at
   * once and then `rest` one byte per {@link Trickle.step}.
   */
  async trickle(opts: { tls: boolean; first?: string | Buffer; rest: string | Buffer }): Promise<Trickle> {
    let sock: net.Socket;
    let raw: net.Socket;
    if (opts.tls) ({ raw, tls: sock } = await this.connectTls());
    else sock = raw = await this.connectRaw();
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    sock.on('data', () => {});
    if (opts.first !== undefined) sock.write(opts.first);
    const rest = Buffer.from(opts.rest);
    let at = 0;
    return {
      step: () => {
        if (at < rest.length && !closed) sock.write(rest.subarray(at, ++at));
      },
      closed: () => closed,
      end: () => raw.destroy(),
    };
  }

  /** A raw TCP connection (no TLS). */
  connectRaw(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const raw = net.connect({ host: '127.0.0.1', port: this.port }, () => resolve(raw));
      raw.once('error', reject);
    });
  }
}

/** A slow client of {@link FuzzDaemon.trickle}. */
export interface Trickle {
  /** Sends the next byte. */
  step(): void;
  /** Whether the server closed the connection. */
  closed(): boolean;
  end(): void;
}

/** Runs `tasks` with at most `n` at a time; resolves with their results in order. */
export async function pool<T>(n: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= tasks.length) return;
      out[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return out;
}
