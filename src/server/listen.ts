/**
 * Serving the API handler on TCP (HTTP or HTTPS) or a Unix socket, with the connection
 * timeouts of kube-apiserver (`k8s.io/apiserver/pkg/server/secure_serving.go` and the default
 * `--request-timeout`) instead of Node's defaults, under which a client could hold a
 * connection for 300 s by sending its body slowly.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { createConnection, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

/** A listening endpoint. */
export interface ApiListener {
  /** Stops accepting, ends open watches and log streams, and removes a Unix socket file. */
  close(): Promise<void>;
  /** `http://host:port` or `unix:///path`. */
  address: string;
}

/**
 * Where to serve: TCP `host:port` (port 0 picks one), optionally with TLS, or a Unix socket.
 * TLS matters for kubectl: client-go sends a kubeconfig's token or client certificate only over
 * HTTPS, never over plain HTTP.
 */
export type ListenTarget = { host: string; port: number; tls?: { key: string | Buffer; cert: string | Buffer } } | { socket: string };

/** Connection timeouts, in ms. */
export interface ServerTimeouts {
  /** The request line and headers must arrive within this (kube-apiserver `ReadHeaderTimeout`: 32 s). */
  headersTimeoutMs: number;
  /**
   * The whole request, body included, must arrive within this (kube-apiserver's default
   * `--request-timeout`: 60 s); 408 and the connection closed otherwise. Node applies it to
   * receiving the request only: a watch or a followed log, whose request is complete at once,
   * is not cut by it.
   */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (kube-apiserver `IdleTimeout`: 90 s). */
  keepAliveTimeoutMs: number;
  /** How often Node checks the first two (its default, 30 s, would let a slow body live 90 s). */
  checkIntervalMs: number;
}

/** The timeouts `serve` uses (see {@link ServerTimeouts}). */
export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 32_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 90_000,
  checkIntervalMs: 5_000,
};

/** The `node:http` server options for `timeouts`. */
export function serverOptions(timeouts: ServerTimeouts): ServerOptions {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
    // kube-apiserver's MaxHeaderBytes is 1 MiB; Node's 16 KiB default is what kubectl needs
    // and bounds memory better, so it stays.
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
/** Node's `upgrade` event: a request with `Connection: Upgrade`, its raw socket and the bytes past its head. */
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Serves `handler` on `target` (HTTP, HTTPS with `tls`, or a Unix socket created with mode 0600). */
export async function listenOn(handler: Handler, target: ListenTarget, timeouts: ServerTimeouts = DEFAULT_SERVER_TIMEOUTS, upgrade?: UpgradeHandler): Promise<ApiListener> {
  const tls = 'socket' in target ? undefined : target.tls;
  const options = serverOptions(timeouts);
  const server: Server = tls ? createHttpsServer({ ...options, key: tls.key, cert: tls.cert }, handler) : createServer(options, handler);
  if (upgrade) server.on('upgrade', upgrade);
  if ('socket' in target) {
    await removeStaleSocket(target.socket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(target.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await chmod(target.socket, 0o600);
    } catch (err) {
      await closeServer(server);
      throw err;
    }
    const socket = target.socket;
    return {
      address: `unix://${socket}`,
      close: async () => {
        await closeServer(server);
        await unlink(socket).catch(() => {});
      },
    };
  }
  // With TLS, a front socket server looks at each connection's first byte: a TLS handshake
  // goes to the HTTPS server, anything else gets Go's answer to plain HTTP on a TLS port.
  // Every raw connection, so that close ends them all at once (a TLS connection's raw socket is
  // not the one the HTTPS server tracks).
  const open = new Set<Socket>();
  const front: NetServer | Server = tls
    ? createNetServer((socket) => {
        open.add(socket);
        socket.once('close', () => open.delete(socket));
        sniff(socket, server, timeouts.headersTimeoutMs);
      })
    : server;
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(target.port, target.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  const a = front.address();
  const host = a !== null && typeof a === 'object' ? a.address : target.host;
  const port = a !== null && typeof a === 'object' ? a.port : target.port;
  const close = async (): Promise<void> => {
    if (front === server) return closeServer(server);
    // Stop accepting, then end every connection (watches and follows included): the front
    // server's close completes once the last one is gone.
    const closed = new Promise<void>((resolve) => (front as NetServer).close(() => resolve()));
    server.closeAllConnections();
    for (const s of open) s.destroy();
    await closed;
  };
  return { address: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`, close };
}

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;

/** What Go's net/http answers to plain HTTP on a TLS port, as kube-apiserver does. */
const PLAIN_HTTP_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/**
 * Hands a new connection to the HTTPS server when it starts with a TLS handshake, else answers
 * it as Go does and closes it. A connection that sends nothing is closed after the headers
 * timeout, as the HTTPS server would.
 */
function sniff(socket: Socket, https: Server, timeoutMs: number): void {
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.setTimeout(0);
    if (chunk[0] === TLS_HANDSHAKE) {
      socket.pause();
      socket.unshift(chunk);
      https.emit('connection', socket);
      process.nextTick(() => socket.resume());
      return;
    }
    socket.end(PLAIN_HTTP_ANSWER, () => socket.destroy());
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Removes a socket file left by a dead server; refuses a live socket or a non-socket file. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`${path} is in use by a running server`);
  await unlink(path);
}
