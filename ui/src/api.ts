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

/**
 * The daemon could not be reached, or the connection dropped while a body was read: a retry
 * may mend it. (fetch rejects with a bare `TypeError` then; it is wrapped here so that a
 * `TypeError` of the page's own code is not mistaken for one.)
 */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'NetworkError';
  }
}

const isAbort = (e: unknown): boolean => e instanceof DOMException && e.name === 'AbortError';

/** A failure of the transport as a {@link NetworkError} (an abort stays what it is). */
function network(e: unknown): unknown {
  return isAbort(e) || e instanceof NetworkError ? e : new NetworkError(e);
}

/** One chunk of a response body; a failed read (the connection dropped) is a {@link NetworkError}. */
export async function readChunk<T>(reader: ReadableStreamDefaultReader<T>): Promise<ReadableStreamReadResult<T>> {
  try {
    return await reader.read();
  } catch (e) {
    throw network(e);
  }
}

/** A whole response body as text; a failed read is a {@link NetworkError}. */
export async function readText(res: Response): Promise<string> {
  try {
    return await res.text();
  } catch (e) {
    throw network(e);
  }
}

/** Cancels a body nobody reads, so the server sees the request end (a watch stops counting). */
export async function discard(res: Response): Promise<void> {
  if (res.body && !res.bodyUsed) await res.body.cancel().catch(() => undefined);
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
  let res: Response;
  try {
    res = await fetch(path, { ...init, method, headers, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw network(e);
  }
  if (res.status === 401) {
    void discard(res);
    toLogin();
  }
  if (!res.ok && !accept.includes(res.status)) throw await errorOf(res);
  return res;
}

/** The JSON of a response; a body that is not JSON is an {@link ApiError} (with the response's status). */
async function jsonOf<T>(res: Response, path: string): Promise<T> {
  const text = await readText(res);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, `The answer to ${path} is not JSON (is something other than podvisor answering on this address?)`);
  }
}

export async function getJson<T>(path: string, opts: { accept?: string; signal?: AbortSignal } = {}): Promise<T> {
  const res = await request(path, { headers: { Accept: opts.accept ?? 'application/json' }, signal: opts.signal ?? null });
  return jsonOf<T>(res, path);
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
  return jsonOf<T>(res, path);
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
  /**
   * The loop's state. With `reconnecting`, the error that ended the last attempt (when one
   * did); with `stopped`, why it stopped: an {@link ApiError} no retry would mend, or an error
   * of the page's own code (a bug), which is not retried.
   */
  onState(s: LiveState, error?: Error): void;
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

/** True for an error a retry may mend: the network, or an answer of the daemon other than a refusal (4xx) no retry would change. */
function retryable(e: unknown): e is NetworkError | ApiError {
  if (e instanceof NetworkError) return true;
  if (!(e instanceof ApiError)) return false;
  return !(e.status >= 400 && e.status < 500) || e.status === 408 || e.status === 410 || e.status === 429;
}

/**
 * Streams the lines of a response body. However the consumer leaves (done, `break`, a throw,
 * an exception in its loop body), the body is cancelled, so the server ends the request.
 */
async function* lines(res: Response, signal: AbortSignal): AsyncGenerator<string> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel);
  try {
    for (;;) {
      const { value, done } = await readChunk(reader);
      if (done || signal.aborted) break;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line !== '') yield line;
        if (signal.aborted) return;
      }
    }
    if (signal.aborted) return;
    buf += decoder.decode();
    if (buf.trim() !== '') yield buf.trim();
  } finally {
    signal.removeEventListener('abort', cancel);
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * List, then watch from the list's resourceVersion; when the stream ends or fails (a 410 Gone
 * included), list and watch again after a back-off (1s doubling to 10s, back to 1s once events
 * flow). `live` is reported once the watch request has answered. Ends when `signal` aborts, on
 * an answer no retry would mend, or on an error that is neither the daemon's nor the network's
 * (a bug of the page: retrying would only repeat it); the last two are reported as `stopped`.
 */
export async function runWatch<T>(w: WatchLoop<T>): Promise<void> {
  let backoff = 1000;
  let first = true;
  while (!w.signal.aborted) {
    let failure: Error | undefined;
    try {
      w.onState(first ? 'connecting' : 'reconnecting');
      const rv = await w.list(w.signal);
      if (w.signal.aborted) return;
      const res = await request(w.watchUrl(rv), { headers: { Accept: w.accept ?? 'application/json' }, signal: w.signal }, [410]);
      if (res.status === 410) {
        await discard(res);
        throw new ApiError(410, 'The watch started too far back (410 Gone); listing again.', 'Expired');
      }
      if (w.signal.aborted) {
        await discard(res);
        return;
      }
      w.onState('live');
      for await (const line of lines(res, w.signal)) {
        let ev: WatchEvent<T>;
        try {
          ev = JSON.parse(line) as WatchEvent<T>;
        } catch {
          continue;
        }
        if (typeof ev !== 'object' || ev === null) continue;
        if (ev.type === 'ERROR') {
          const st = (ev.object ?? {}) as StatusLike;
          const code = typeof st.code === 'number' ? st.code : 500;
          throw new ApiError(code, typeof st.message === 'string' ? st.message : 'watch error');
        }
        if (ev.type === 'BOOKMARK') continue;
        backoff = 1000;
        w.onEvent(ev);
      }
    } catch (e) {
      if (w.signal.aborted || e instanceof SignedOut) return;
      if (!retryable(e)) {
        w.onState('stopped', e instanceof Error ? e : new Error(String(e)));
        if (!(e instanceof ApiError)) console.error(e);
        return;
      }
      // A 410 is routine (the watch began too far back): no alarm, just list again.
      failure = e instanceof ApiError && e.status === 410 ? undefined : e;
    }
    first = false;
    if (w.signal.aborted) return;
    w.onState('reconnecting', failure);
    await sleep(backoff, w.signal);
    backoff = Math.min(backoff * 2, 10_000);
  }
}

/** Path segment escaping. */
export const seg = (s: string): string => encodeURIComponent(s);
