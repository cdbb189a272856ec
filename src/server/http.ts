/**
 * podvisor's Kubernetes-compatible HTTP API: the core/v1 resources of the object registry
 * (pods, events, namespaces, ConfigMaps, Secrets) with watch, Tables and patches, the pod
 * subresources (log, status) and podvisor's `restart`/`recreate` verbs. Plain `node:http`: this
 * module authenticates, splits the path and hands the request to the route table
 * (`routes.ts`); every failure becomes a Kubernetes `Status` in one place. What kubectl sends is
 * checked by the e2e tests with real kubectl.
 */
import { timingSafeEqual } from 'node:crypto';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Status } from '../api/errors.js';
import type { NodeApi } from '../agent/node-api.js';
import type { ObjectStore } from '../store/types.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import { DEFAULT_GIT_VERSION } from './discovery.js';
import { DEFAULT_SERVER_TIMEOUTS, listenOn, type ApiListener, type ListenTarget, type ServerTimeouts } from './listen.js';
import { Registry } from './registry/index.js';
import type { ApiLogger, Ctx } from './request.js';
import { negotiate, sendStatus } from './respond.js';
import { dispatch, isOpenPath } from './routes.js';
import type { ServerEnv } from './server-env.js';
import { badRequest, HttpError, pathNotFound, statusFromError, unauthorized } from './status.js';
import { SessionKeys, storedSignOuts } from './ui/session.js';
import { WebUi } from './ui/web-ui.js';
import { DEFAULT_WATCH_LIMITS, MAX_WATCH_BUFFERED_BYTES, WatchRegistry, type WatchLimits } from './watch-limits.js';

export { DEFAULT_MAX_BODY_BYTES } from './body.js';

/** The kubelet's streaming idle timeout (`--streaming-connection-idle-timeout`, 4 h). */
export const DEFAULT_STREAM_IDLE_MS = 4 * 60 * 60 * 1000;
export type { ApiListener, ListenTarget, ServerTimeouts } from './listen.js';
export type { ApiLogger, ApiLogLevel } from './request.js';

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /** The agent: pod lifecycle. */
  backend: NodeApi;
  /** Where the registry keeps namespaces, ConfigMaps and Secrets (the agent's store). */
  store: ObjectStore;
  /** When set, every request except `/livez` and `/readyz` needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest accepted request body in bytes (default 3 MiB, the API server's limit); larger gives 413. */
  maxBodyBytes?: number;
  /** Receives one `http request` line per request (method, path, status, durationMs) and internal errors. */
  logger?: ApiLogger;
  /** `gitVersion` reported by `/version` (default `v1.36.0-podvisor`). */
  version?: string;
  /** Clock (epoch ms) for ages in Tables and timestamps of followed logs; default `Date.now`. */
  now?: () => number;
  /** Period of watch BOOKMARK events when the client allows them, seconds (default 60; 0 disables). */
  bookmarkIntervalSeconds?: number;
  /**
   * Safety re-check period of `logs --follow`, ms (default 1000). A follow is woken by events
   * (the log's directory, the pod's changes); this catches those a file system does not deliver.
   */
  logRecheckMs?: number;
  /** Prometheus exposition for `GET /metrics` (same authentication as the API); 404 when absent. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Bounds on open watches (default {@link DEFAULT_WATCH_LIMITS}); 429 beyond. */
  watchLimits?: WatchLimits;
  /** Output a watch may have queued for a client that does not read before it is closed (default 2 MiB). */
  maxWatchBufferedBytes?: number;
  /** Connection timeouts of {@link ApiServer.listen} (default kube-apiserver's, see `listen.ts`). */
  timeouts?: Partial<ServerTimeouts>;
  /** A stream (exec, attach, port-forward) without traffic for this long is closed, ms (default 4 h, the kubelet's). */
  streamIdleTimeoutMs?: number;
  /** The built web UI served at `/ui/` (`dist/ui`); absent: `/ui/` says it is not built. */
  uiDir?: string;
}

/** The API server: a request handler and a way to serve it on TCP or a Unix socket. */
export interface ApiServer {
  /** The request handler, usable with any `node:http` or `node:https` server. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The handler of `upgrade` events (exec, attach, port-forward streams), for the same servers. */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Serves on `host:port` (HTTP, or HTTPS with `tls`) or on a Unix socket created with mode 0600. */
  listen(target: ListenTarget): Promise<ApiListener>;
  /** The object registry (every served resource). */
  registry: Registry;
  /** Stops following the agent (the daemon is exiting). */
  close(): void;
}

/**
 * Creates the API server over `opts.backend` and `opts.store`: builds the registry (system
 * namespaces created, interrupted namespace deletions resumed). The handler never throws:
 * every failure becomes a Kubernetes `Status` response.
 */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const log: ApiLogger = opts.logger ?? (() => {});
  const now = opts.now ?? (() => Date.now());
  const tokenBuf = opts.token !== undefined ? Buffer.from(opts.token) : undefined;
  const webUi = new WebUi({ ...(opts.uiDir !== undefined ? { dir: opts.uiDir } : {}), ...(opts.token !== undefined ? { keys: new SessionKeys(opts.token, storedSignOuts(opts.store)) } : {}), now });
  const registry = new Registry({ agent: opts.backend, store: opts.store, now });
  registry.start();
  const env: ServerEnv = {
    registry,
    agent: opts.backend,
    maxBody: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    log,
    bodyLog: (msg, fields) => log('warn', msg, fields),
    now,
    bookmarkMs: (opts.bookmarkIntervalSeconds ?? 60) * 1000,
    watches: new WatchRegistry(opts.watchLimits ?? DEFAULT_WATCH_LIMITS),
    maxWatchBuffered: opts.maxWatchBufferedBytes ?? MAX_WATCH_BUFFERED_BYTES,
    logRecheckMs: opts.logRecheckMs ?? 1000,
    streamIdleMs: opts.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_MS,
    resourceVersion: () => opts.backend.resourceVersion(),
    gitVersion: opts.version ?? DEFAULT_GIT_VERSION,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  };

  /** Splits and decodes the path; `..`, `.`, encoded slashes and empty segments are refused before routing. */
  const splitPath = (path: string): string[] => {
    if (!path.startsWith('/')) throw new HttpError(badRequest('invalid request path'));
    let raw = path.slice(1).split('/');
    if (raw.length > 1 && raw[raw.length - 1] === '') raw = raw.slice(0, -1);
    if (raw.length === 1 && raw[0] === '') return [];
    return raw.map((s) => {
      let d: string;
      try {
        d = decodeURIComponent(s);
      } catch {
        throw new HttpError(badRequest('invalid escape in request path'));
      }
      if (d === '') throw new HttpError(pathNotFound());
      if (d === '.' || d === '..' || d.includes('/') || d.includes('\\') || d.includes('\0')) throw new HttpError(badRequest('invalid request path'));
      return d;
    });
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (tokenBuf === undefined) return true;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const got = Buffer.from(m[1] as string);
    return got.length === tokenBuf.length && timingSafeEqual(got, tokenBuf);
  };

  const serve = (req: IncomingMessage, res: ServerResponse, upgrade?: Ctx['upgrade']): void => {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi < 0 ? url : url.slice(0, qi);
    res.on('close', () => {
      const status = res.statusCode;
      const fields: Record<string, unknown> = {
        method, path, status, durationMs: Math.round((performance.now() - t0) * 10) / 10,
        userAgent: req.headers['user-agent'] ?? '', completed: res.writableFinished,
      };
      if (qi >= 0) fields['query'] = url.slice(qi + 1);
      log(status >= 500 ? 'error' : 'info', 'http request', fields);
    });
    const ctx: Ctx = { req, res, method, path, query: new URLSearchParams(qi < 0 ? '' : url.slice(qi + 1)), wanted: negotiate(req.headers.accept), params: {}, ...(upgrade ? { upgrade } : {}) };
    const fail = (err: unknown): void => {
      let s: Status;
      let headers: Record<string, string> = {};
      if (err instanceof HttpError) {
        s = err.status;
        headers = err.headers;
      } else {
        s = statusFromError(err);
        if (s.code >= 500) log('error', 'request failed', { method, path, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      req.resume();
      sendStatus(res, s, headers);
    };
    try {
      if (path === '/ui' || path.startsWith('/ui/')) {
        webUi.handle(req, res, method, path, ctx.query);
        return;
      }
      if (!isOpenPath(path) && !authorized(req)) {
        // The web UI's session cookie may stand for the token, within its scope (a wrong bearer
        // token is not rescued by it; streams never take it, see WebUi.refusal).
        const refused = req.headers.authorization !== undefined || upgrade ? unauthorized() : webUi.refusal(req, method, path);
        if (refused) {
          req.resume();
          sendStatus(res, refused);
          return;
        }
      }
      dispatch(env, ctx, splitPath(path)).catch(fail);
    } catch (err) {
      fail(err);
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => serve(req, res);

  /**
   * A request with `Connection: Upgrade` (node hands these over with the raw socket): routed
   * like any other, with a response bound to the socket for plain answers (refusals), and the
   * socket for the handler that upgrades (exec, attach, port-forward).
   */
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    serve(req, res, { socket, head });
  };

  const timeouts: ServerTimeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...opts.timeouts };
  const listen = (target: ListenTarget): Promise<ApiListener> => listenOn(handler, target, timeouts, upgrade);

  return { handler, upgrade, listen, registry, close: () => registry.stop() };
}
