/**
 * The web UI's routes under `/ui/`: the built static files (Vite's output, shipped in the
 * package), the login form, the session and sign-out. Only the login page and the assets it
 * references are served without a session; the app itself and everything else need one.
 * The app then calls the Kubernetes API with its cookie (see `http.ts`: a cookie is accepted
 * where a bearer token is, and a state-changing request made with it needs the CSRF token).
 */
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { Status } from '../../api/errors.js';
import { failure, unauthorized } from '../status.js';
import { clearedSessionCookie, cookieValue, csrfMatches, SESSION_COOKIE, sessionCookie, type SessionKeys, type UiSession } from './session.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.map': 'application/json', '.woff2': 'font/woff2',
};

/** Every UI response: nothing from elsewhere, no framing, no sniffing, no referrer. */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

const MAX_LOGIN_BODY = 8 * 1024;

/** Methods that change nothing (no CSRF token needed with the session). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A path segment (a namespace or a pod name; percent-escapes allowed). */
const SEG = '[^/]+';
/**
 * What the web UI's session may do: the pages' reads and the restart verbs, nothing else (no
 * Secrets, no changes to objects, no streams). Clients that need more send the bearer token.
 */
const SESSION_SCOPE: { methods: ReadonlySet<string>; path: RegExp }[] = [
  { methods: new Set(['GET', 'HEAD']), path: new RegExp(`^/api/v1/(?:pods|namespaces|namespaces/${SEG}/(?:pods|events)|namespaces/${SEG}/pods/${SEG}(?:/log|/restarts)?)$`) },
  { methods: new Set(['POST']), path: new RegExp(`^/api/v1/namespaces/${SEG}/pods/${SEG}/(?:restart|recreate)$`) },
];

/** The web UI's session may make this request. */
export function sessionMayUse(method: string, path: string): boolean {
  return SESSION_SCOPE.some((r) => r.methods.has(method) && r.path.test(path));
}

export interface WebUiOptions {
  /** The built UI (`dist/ui`); absent or unbuilt: `/ui/` says how to build it. */
  dir?: string;
  /** Undefined when the API runs without a token (no sign-in then). */
  keys?: SessionKeys;
  now: () => number;
}

export class WebUi {
  private readonly files = new Map<string, Buffer>();
  private loginAssets: Set<string> | undefined;

  constructor(private readonly o: WebUiOptions) {}

  /** The session of a request (always one when the API has no token). */
  session(req: IncomingMessage): UiSession | undefined {
    if (!this.o.keys) return { csrfToken: '', expiresAt: Number.MAX_SAFE_INTEGER };
    return this.o.keys.sessionOf(req, this.o.now());
  }

  /** A cookie-authenticated request that changes something must carry the session's CSRF token. */
  csrfOk(req: IncomingMessage, session: UiSession): boolean {
    return !this.o.keys || csrfMatches(req, session);
  }

  /**
   * Why an API request without the bearer token is refused, or undefined when its session
   * cookie stands for the token: the session must be valid, the request within its scope
   * ({@link sessionMayUse}), carry the CSRF token when it changes something, and come from the
   * UI's own pages (a page of another origin of the same site, such as another port of the
   * host, is refused by its `Sec-Fetch-Site`). Streams (exec, attach, port-forward upgrades)
   * never get here: a WebSocket carries no CSRF header.
   */
  refusal(req: IncomingMessage, method: string, path: string): Status | undefined {
    const session = this.session(req);
    if (!session) return unauthorized();
    if (!sessionMayUse(method, path)) {
      return failure(403, 'Forbidden', `the web UI session may not ${method} ${path}: it reads pods, their logs, events and restart records, and restarts or re-creates pods; send the bearer token (podvisor kubeconfig) for the rest`);
    }
    if (!SAFE_METHODS.has(method) && !this.csrfOk(req, session)) {
      return failure(403, 'Forbidden', 'a request of the web UI session that changes something needs the X-CSRF-Token header of the session (GET /ui/session)');
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return failure(403, 'Forbidden', `the web UI session serves only its own pages (Sec-Fetch-Site: ${String(site)}); other clients send the bearer token`);
    }
    return undefined;
  }

  private file(name: string): Buffer | undefined {
    const hit = this.files.get(name);
    if (hit) return hit;
    if (this.o.dir === undefined) return undefined;
    const path = join(this.o.dir, name);
    try {
      if (!statSync(path).isFile()) return undefined;
      const data = readFileSync(path);
      this.files.set(name, data);
      return data;
    } catch {
      return undefined;
    }
  }

  /** The asset paths `login.html` references (`/ui/assets/x.js` → `assets/x.js`). */
  private loginRefs(): Set<string> {
    if (this.loginAssets) return this.loginAssets;
    const html = this.file('login.html')?.toString('utf8') ?? '';
    const refs = new Set<string>();
    for (const m of html.matchAll(/(?:src|href)="\/ui\/(assets\/[A-Za-z0-9._-]+)"/g)) refs.add(m[1] as string);
    this.loginAssets = refs;
    return refs;
  }

  private send(res: ServerResponse, status: number, body: Buffer | string, type: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  }

  private redirect(res: ServerResponse, to: string, extra: Record<string, string> = {}): void {
    res.writeHead(303, { ...SECURITY_HEADERS, Location: to, 'Content-Length': '0', 'Cache-Control': 'no-store', ...extra });
    res.end();
  }

  private static(res: ServerResponse, name: string): void {
    const data = this.file(name);
    if (!data) {
      if (name === 'index.html' || name === 'login.html') {
        this.send(res, 503, 'The web UI is not built: run `npm run build` (it builds dist/ui with Vite).\n', 'text/plain; charset=utf-8');
      } else this.send(res, 404, 'not found: the web UI has no such file; start at /ui/\n', 'text/plain; charset=utf-8');
      return;
    }
    // Vite names assets by their content: they never change under the same name.
    const cache = name.startsWith('assets/') ? 'private, max-age=31536000, immutable' : 'no-store';
    this.send(res, 200, data, TYPES[extname(name)] ?? 'application/octet-stream', { 'Cache-Control': cache });
  }

  /** Handles a request under `/ui`. */
  handle(req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams): void {
    const rest = path === '/ui' ? '' : path.slice('/ui/'.length);
    const session = this.session(req);
    if (rest === 'login') {
      if (method === 'POST') {
        void this.login(req, res);
        return;
      }
      if (method !== 'GET' && method !== 'HEAD') return this.send(res, 405, 'method not allowed: GET shows the sign-in form, POST signs in\n', 'text/plain; charset=utf-8', { Allow: 'GET, POST' });
      if (session && this.o.keys && query.get('failed') === null) return this.redirect(res, '/ui/');
      return this.static(res, 'login.html');
    }
    if (rest === 'logout') {
      if (method !== 'POST') return this.send(res, 405, 'method not allowed: sign out with POST\n', 'text/plain; charset=utf-8', { Allow: 'POST' });
      if (!session) return this.send(res, 401, 'not signed in: nothing to sign out of; sign in at /ui/login\n', 'text/plain; charset=utf-8');
      if (!this.csrfOk(req, session)) return this.send(res, 403, 'missing or wrong X-CSRF-Token: send the csrfToken of GET /ui/session\n', 'text/plain; charset=utf-8');
      req.resume();
      const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
      try {
        if (value !== undefined) this.o.keys?.revoke(value, this.o.now());
      } catch (e) {
        return this.send(res, 500, `signed out until the daemon restarts, but the sign-out could not be stored (${e instanceof Error ? e.message : String(e)}): sign out again once the data dir is writable\n`, 'text/plain; charset=utf-8', { 'Set-Cookie': clearedSessionCookie() });
      }
      return this.redirect(res, '/ui/login', { 'Set-Cookie': clearedSessionCookie() });
    }
    if (method !== 'GET' && method !== 'HEAD') return this.send(res, 405, 'method not allowed: the web UI serves its files with GET\n', 'text/plain; charset=utf-8', { Allow: 'GET' });
    if (rest.startsWith('assets/')) {
      const name = rest;
      if (!/^assets\/[A-Za-z0-9._-]+$/.test(name)) return this.send(res, 404, 'not found: the web UI has no such page; start at /ui/\n', 'text/plain; charset=utf-8');
      if (!session && !this.loginRefs().has(name)) return this.send(res, 401, 'not signed in: sign in at /ui/login\n', 'text/plain; charset=utf-8');
      return this.static(res, name);
    }
    if (rest === 'session') {
      if (!session) return this.send(res, 401, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }), 'application/json');
      return this.send(res, 200, JSON.stringify(session), 'application/json');
    }
    if (path === '/ui') return this.redirect(res, '/ui/');
    if (rest === '' || rest === 'index.html') {
      if (!session) return this.redirect(res, '/ui/login');
      return this.static(res, 'index.html');
    }
    return this.send(res, 404, 'not found: the web UI has no such page; start at /ui/\n', 'text/plain; charset=utf-8');
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_LOGIN_BODY) {
          // Answer first: leaving the loop destroys the request (and the connection with it).
          this.send(res, 413, 'the sign-in form is too large: send only token=<the daemon token>\n', 'text/plain; charset=utf-8', { Connection: 'close' });
          return;
        }
        chunks.push(c);
      }
    } catch {
      return;
    }
    const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token')?.trim() ?? '';
    if (!this.o.keys) return this.redirect(res, '/ui/');
    if (token === '' || !this.o.keys.tokenMatches(token)) return this.redirect(res, '/ui/login?failed=1');
    const { cookie } = this.o.keys.issue(this.o.now());
    this.redirect(res, '/ui/', { 'Set-Cookie': sessionCookie(cookie) });
  }
}
