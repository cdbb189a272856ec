/**
 * `pods/portforward`: TCP connections to ports of the pod's network, carried over the client's
 * connection. Two wire forms, as the kubelet serves them
 * (pkg/kubelet/cri/streaming/portforward):
 * - WebSocket channels (`v4.channel.k8s.io`, client libraries): the ports come in the query;
 *   port i has a data channel 2i and an error channel 2i+1, each opened by the server with the
 *   port as two little-endian bytes; one connection per port, and the WebSocket closes when
 *   they have all ended;
 * - SPDY (`portforward.k8s.io`, kubectl, also tunnelled inside a WebSocket from 1.31): the
 *   client opens an error stream and a data stream per connection, both with headers `port`
 *   and `requestid`; any number of connections, concurrently, on one session.
 * A connection that fails is reported on its error channel or stream in the kubelet's words.
 */
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { ServerEnv } from '../server-env.js';
import { badRequest, HttpError } from '../status.js';
import type { WsChannels } from './ws-channels.js';

/**
 * The ports of a request's `ports` query (repeated, or comma-separated), checked as the
 * kubelet's `parsePortForwardOptions` does (400 with its message otherwise).
 */
export function requestedPorts(q: URLSearchParams): number[] {
  const raw = q.getAll('ports').flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (raw.length === 0) throw new HttpError(badRequest('query parameter "ports" is required'));
  return raw.map((p) => parsePort(p));
}

/** One port (a `port` header or a query value): 1–65535, or 400 in the kubelet's words. */
export function parsePort(p: string): number {
  if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new HttpError(badRequest(`unable to parse "${p}" as a port: strconv.ParseUint: parsing "${p}": invalid syntax`));
  const n = Number(p);
  if (n === 0) throw new HttpError(badRequest(`port "${p}" must be > 0`));
  return n;
}

/** Who a forwarded connection is for (its error messages name the pod). */
export interface ForwardTarget {
  namespace: string;
  name: string;
  uid: string;
}

/** The kubelet's message for a connection that failed (`error forwarding port …`), with Go's wording of a refused dial. */
export function forwardError(t: ForwardTarget, port: number, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string };
  const why = e.code === 'ECONNREFUSED'
    ? `failed to connect to localhost:${port} inside namespace of pod ${t.name}: dial tcp4 ${e.address ?? '127.0.0.1'}:${port}: connect: connection refused`
    : err instanceof Error ? err.message : String(err);
  return `error forwarding port ${port} to pod ${t.name}, uid ${t.uid}: ${why}`;
}

/**
 * Connects to `port` of the pod and copies both ways between `from`/`to` (the client's side)
 * and the connection, until both directions have ended or `abort` fires. Resolves when done;
 * a failure is reported through `onError` (the connection was never made, or broke).
 */
export async function forwardOne(env: ServerEnv, t: ForwardTarget, port: number, from: Readable, to: Writable, onError: (message: string) => void, abort: Promise<void>): Promise<void> {
  let conn: Socket;
  try {
    conn = await env.agent.portForward(t.namespace, t.name, port);
  } catch (err) {
    onError(forwardError(t, port, err));
    from.resume();
    return;
  }
  conn.setNoDelay(true);
  await new Promise<void>((resolve) => {
    let ended = 0;
    const done = (): void => {
      if (++ended === 2) resolve();
    };
    const finish = (): void => {
      conn.destroy();
      resolve();
    };
    void abort.then(finish);
    conn.on('error', (err) => {
      onError(forwardError(t, port, err));
      finish();
    });
    conn.on('close', () => {
      from.unpipe(conn);
      resolve();
    });
    // Client → pod: the client's end half-closes the connection.
    from.on('end', () => {
      conn.end();
      done();
    });
    from.pipe(conn, { end: false });
    // Pod → client: the pod's end ends the client's side.
    conn.on('end', () => {
      to.end();
      done();
    });
    conn.pipe(to, { end: false });
  });
}

/** Data and error channels of port index `i` in the WebSocket form. */
const dataChannel = (i: number): number => 2 * i;
const errorChannel = (i: number): number => 2 * i + 1;

/**
 * Serves the WebSocket channel form: one connection per requested port, opened at once; the
 * WebSocket is closed when all have ended (or the client closed it).
 */
export async function serveChannelPortForward(env: ServerEnv, t: ForwardTarget, ports: readonly number[], ch: WsChannels): Promise<void> {
  for (let i = 0; i < ports.length; i++) {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(ports[i] ?? 0);
    ch.send(dataChannel(i), prefix);
    ch.send(errorChannel(i), prefix);
  }
  await Promise.all(ports.map((port, i) => forwardOne(env, t, port, ch.inbound(dataChannel(i)), ch.outbound(dataChannel(i)), (msg) => ch.send(errorChannel(i), Buffer.from(msg)), ch.closed)));
  ch.endInbound();
  ch.close();
}

/** A SPDY stream as the port-forward needs it (see `spdy-session.ts`). */
export type ForwardStream = Duplex;
