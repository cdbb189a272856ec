/**
 * Sessions of the web UI: signing in with the daemon's token gives an `HttpOnly`, `Secure`,
 * `SameSite=Strict` cookie; state-changing requests made with it also carry a CSRF token. Both
 * are MACs keyed by the token, so no session is stored: they survive a restart of the daemon,
 * and a new token (a new data dir) ends every session. Only sign-outs are kept (until the
 * session would have expired), so that a restart does not bring a signed-out cookie back.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ObjectStore } from '../../store/types.js';

/** `__Host-`: the browser keeps it only when Secure, for Path=/ and this host alone. */
export const SESSION_COOKIE = '__Host-podvisor-ui';
export const CSRF_HEADER = 'x-csrf-token';
/** A session lasts 12 hours. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface UiSession {
  csrfToken: string;
  expiresAt: number;
}

/** Where sign-outs are kept across restarts of the daemon (session id → when it would expire, epoch ms). */
export interface SignOutStore {
  load(): Iterable<[string, number]>;
  /** Makes a sign-out durable; throws when it cannot. */
  add(id: string, expiresAt: number): void;
  remove(id: string): void;
}

/** The object store's resource that keeps sign-outs (never served by the API). */
export const SIGN_OUT_RESOURCE = 'podvisor-ui-signouts';

/** Sign-outs kept in the daemon's object store, one cluster-scoped object per signed-out session. */
export function storedSignOuts(store: ObjectStore): SignOutStore {
  return {
    load: () => store.listObjects(SIGN_OUT_RESOURCE).flatMap((o): [string, number][] => (typeof o.expiresAt === 'number' ? [[o.metadata.name, o.expiresAt]] : [])),
    add: (id, expiresAt) => store.putObject(SIGN_OUT_RESOURCE, { metadata: { name: id, resourceVersion: String(store.nextResourceVersion()) }, expiresAt }),
    remove: (id) => store.removeObject(SIGN_OUT_RESOURCE, undefined, id),
  };
}

export class SessionKeys {
  private readonly key: Buffer;
  private readonly tokenBuf: Buffer;
  /** Sessions signed out (their id → expiry), refused until they would have expired anyway. */
  private readonly revoked = new Map<string, number>();

  constructor(token: string, private readonly signOuts?: SignOutStore) {
    this.tokenBuf = Buffer.from(token);
    this.key = createHash('sha256').update('podvisor web UI session\0').update(token).digest();
    for (const [id, exp] of signOuts?.load() ?? []) this.revoked.set(id, exp);
  }

  /** The daemon's token, compared in constant time. */
  tokenMatches(given: string): boolean {
    const g = Buffer.from(given);
    return g.length === this.tokenBuf.length && timingSafeEqual(g, this.tokenBuf);
  }

  private mac(what: string): string {
    return createHmac('sha256', this.key).update(what).digest('base64url');
  }

  /** A new session: the cookie's value and the session it stands for. */
  issue(now: number): { cookie: string; session: UiSession } {
    const id = `${now}.${randomBytes(16).toString('base64url')}`;
    return { cookie: `v1.${id}.${this.mac(`session.${id}`)}`, session: { csrfToken: this.mac(`csrf.${id}`), expiresAt: now + SESSION_TTL_MS } };
  }

  /** The session of a cookie value, if it is one of ours and still valid. */
  verify(value: string, now: number): UiSession | undefined {
    const m = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return undefined;
    const id = `${m[1]}.${m[2]}`;
    const want = Buffer.from(this.mac(`session.${id}`));
    const got = Buffer.from(m[3] as string);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    const issued = Number(m[1]);
    if (issued > now + 60_000 || now - issued > SESSION_TTL_MS) return undefined;
    if (this.revoked.has(id)) return undefined;
    return { csrfToken: this.mac(`csrf.${id}`), expiresAt: issued + SESSION_TTL_MS };
  }

  /**
   * Signs a session out: its cookie is refused from now on, also where a copy of it is kept,
   * and after a restart of the daemon (the {@link SignOutStore}). Sign-outs past their session's
   * expiry are dropped. Throws when the sign-out could not be made durable (it holds in memory).
   */
  revoke(value: string, now: number): void {
    const m = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{22})\./.exec(value);
    if (!m || !this.verify(value, now)) return;
    for (const [id, exp] of this.revoked) {
      if (exp >= now) continue;
      this.revoked.delete(id);
      this.signOuts?.remove(id);
    }
    const id = `${m[1]}.${m[2]}`;
    const exp = Number(m[1]) + SESSION_TTL_MS;
    this.revoked.set(id, exp);
    this.signOuts?.add(id, exp);
  }

  /** The request's session, from its cookie. */
  sessionOf(req: IncomingMessage, now: number): UiSession | undefined {
    const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return value === undefined ? undefined : this.verify(value, now);
  }
}

/** The request carries the session's CSRF token in `X-CSRF-Token`. */
export function csrfMatches(req: IncomingMessage, session: UiSession): boolean {
  const h = req.headers[CSRF_HEADER];
  if (typeof h !== 'string') return false;
  const a = Buffer.from(h);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One cookie's value from a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
}
