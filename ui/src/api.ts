/**
 * Talking to the daemon: same-origin requests with the session cookie, the CSRF header on every
 * state-changing request, a 401 sends the browser to the login page, errors carry the message
 * of the Kubernetes `Status` the server answered with; and watches (chunked JSON lines) with
 * re-list and back-off.
 */

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';

let csrfToken = '';

/** An HTTP error with the `Status` message when the server sent one. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly reason?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Thrown after a 401 started the move to the login page: callers just stop. */
export class SignedOut extends Error {
  constructor() {
    super('signed out');
    this.name = 'SignedOut';
  }
}

function toLogin(): never {
  location.href = '/ui/login';
  throw new SignedOut();
}

interface StatusLike { kind?: unknown; message?: unknown; reason?: unknown; code?: unknown }

/** The message of an error response: the `Status` message, else the text, else the status line. */
async function errorOf(res: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // The body could not be read: the status line says enough.
  }
  try {
    const s = JSON.parse(text) as StatusLike;
    if (s && typeof s.message === 'string' && s.message !== '') {
      return new ApiError(res.status, s.message, typeof s.reason === 'string' ? s.reason : undefined);
    }
  } catch {
    // Not JSON.
  }
  const t = text.trim();
  return new ApiError(res.status, t !== '' && t.length < 500 ? t : `${res.status} ${res.statusText || 'error'}`);
}

/** One request; throws {@link ApiError} unless 2xx (or a status in `accept`). */
export async function request(path: string, init: RequestInit = {}, accept: number[] = []): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (method !== 'GET' && method !== 'HEAD') headers.set('X-CSRF-Token', csrfToken);
  const res = await fetch(path, { ...init, method, headers, credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 401) toLogin();
  if (!res.ok && !accept.includes(res.status)) throw await errorOf(res);
  return res;
}

export async function getJson<T>(path: string, opts: { accept?: string; signal?: AbortSignal } = {}): Promise<T> {
  const res = await request(path, { headers: { Accept: opts.accept ?? 'application/json' }, signal: opts.signal ?? null });
  return (await res.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as T;
}

/** Reads the session (CSRF token); a 401 goes to the login page. */
export async function loadSession(): Promise<{ csrfToken: string; expiresAt?: number }> {
  const s = await getJson<{ csrfToken?: unknown; expiresAt?: unknown }>('/ui/session');
  csrfToken = typeof s.csrfToken === 'string' ? s.csrfToken : '';
  return { csrfToken, ...(typeof s.expiresAt === 'number' ? { expiresAt: s.expiresAt } : {}) };
}

export async function signOut(): Promise<void> {
  try {
    await request('/ui/logout', { method: 'POST' });
  } catch (e) {
    if (e instanceof SignedOut) return;
  }
  location.href = '/ui/login';
}

/** A watch event as the server streams it. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR' | 'BOOKMARK';
  object: T;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface WatchLoop<T> {
  /** Lists; returns the list's resourceVersion (the watch starts there). */
  list(signal: AbortSignal): Promise<string>;
  /** The watch URL from a resourceVersion. */
  watchUrl(resourceVersion: string): string;
  accept?: string;
  onEvent(e: WatchEvent<T>): void;
  onState(s: LiveState, error?: ApiError): void;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(done, ms);
  function done(): void {
    clearTimeout(t);
    signal.removeEventListener('abort', done);
    resolve();
  }
  signal.addEventListener('abort', done);
});

/** True for an error no retry would mend (a bad selector, no permission). */
function fatal(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 410 && e.status !== 429;
}

/** Streams the lines of a response body. */
async function* lines(res: Response, signal: AbortSignal): AsyncGenerator<string> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line !== '') yield line;
      }
    }
    buf += decoder.decode();
    if (buf.trim() !== '') yield buf.trim();
  } finally {
    signal.removeEventListener('abort', cancel);
    reader.releaseLock();
  }
}

/**
 * List, then watch from the list's resourceVersion; when the stream ends or fails, list and
 * watch again after a back-off (1s doubling to 10s, back to 1s once events flow). Ends when
 * `signal` aborts, or on an error no retry would mend (reported as `stopped`).
 */
export async function runWatch<T>(w: WatchLoop<T>): Promise<void> {
  let backoff = 1000;
  let first = true;
  while (!w.signal.aborted) {
    try {
      w.onState(first ? 'connecting' : 'reconnecting');
      const rv = await w.list(w.signal);
      if (w.signal.aborted) return;
      w.onState('live');
      const res = await request(w.watchUrl(rv), { headers: { Accept: w.accept ?? 'application/json' }, signal: w.signal }, [410]);
      if (res.status === 410) {
        first = false;
        continue;
      }
      for await (const line of lines(res, w.signal)) {
        let ev: WatchEvent<T>;
        try {
          ev = JSON.parse(line) as WatchEvent<T>;
        } catch {
          continue;
        }
        if (ev.type === 'ERROR') {
          const st = ev.object as StatusLike;
          if (st.code === 410) break;
          throw new ApiError(typeof st.code === 'number' ? st.code : 500, typeof st.message === 'string' ? st.message : 'watch error');
        }
        if (ev.type === 'BOOKMARK') continue;
        backoff = 1000;
        w.onEvent(ev);
      }
    } catch (e) {
      if (w.signal.aborted || e instanceof SignedOut) return;
      if (fatal(e)) {
        w.onState('stopped', e);
        return;
      }
    }
    first = false;
    if (w.signal.aborted) return;
    w.onState('reconnecting');
    await sleep(backoff, w.signal);
    backoff = Math.min(backoff * 2, 10_000);
  }
}

/** Path segment escaping. */
export const seg = (s: string): string => encodeURIComponent(s);
