/**
 * The streaming pod subresources: `pods/exec` (and `attach`) and `pods/portforward`. Each is an
 * HTTP upgrade: to WebSocket with the channel protocols (`v5.channel.k8s.io`, what kubectl
 * 1.30+ and client libraries speak) or to SPDY/3.1 (older clients, and kubectl's fallback).
 * Refusals happen before the upgrade, as plain API errors (kubectl prints them); what fails
 * after it is reported on the session's error channel, as the kubelet does.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { ContainerNotRunningError, ContainerNotSpecifiedError, PodNotFoundError, UnknownContainerError } from '../../agent/errors.js';
import type { ExecStream, ExecStreamOptions, TerminalSize } from '../../agent/node-api.js';
import type { Ctx } from '../request.js';
import { queryBool } from '../request.js';
import type { ServerEnv } from '../server-env.js';
import { badRequest, failure, HttpError } from '../status.js';
import { execErrorStatus, errorChannelBytes, readSizes, runRemoteCommand, type RemoteCommandStreams } from '../streams/remotecommand.js';
import { channelProtocol, WsChannels, type ChannelProtocol } from '../streams/ws-channels.js';
import { forwardOne, parsePort, requestedPorts, serveChannelPortForward, type ForwardTarget } from '../streams/portforward.js';
import { endStream, PortForwardPairs, RemoteCommandCollector, remoteCommandVersion, SPDY_PORTFORWARD_PROTOCOL, SPDY_REMOTECOMMAND_PROTOCOLS } from '../streams/spdy-serve.js';
import { SpdySession, type SpdyStream } from '../streams/spdy-session.js';
import { upgradeSpdy } from '../streams/spdy-upgrade.js';

/** The remote-command subprotocols over WebSocket, as the kubelet and the API server accept them. */
const EXEC_WS_PROTOCOLS: readonly ChannelProtocol[] = [
  { name: 'v5.channel.k8s.io', codec: 'binary', version: 5 },
  { name: 'v4.channel.k8s.io', codec: 'binary', version: 4 },
  { name: 'v4.base64.channel.k8s.io', codec: 'base64', version: 4 },
  { name: 'channel.k8s.io', codec: 'binary', version: 1 },
  { name: 'base64.channel.k8s.io', codec: 'base64', version: 1 },
  { name: '', codec: 'binary', version: 1 },
];

/** Largest WebSocket message a client may send (kubectl sends stdin in 32 KiB pieces). */
export const MAX_STREAM_MESSAGE_BYTES = 1024 * 1024;

/** How long a tty exec waits for the client's first terminal size before starting the command. */
const FIRST_SIZE_WAIT_MS = 250;

const CH_STDIN = 0;
const CH_STDOUT = 1;
const CH_STDERR = 2;
const CH_ERROR = 3;
const CH_RESIZE = 4;

/** The subprotocol each upgrading request was given (`ws` asks {@link wss}'s `handleProtocols`). */
const chosen = new WeakMap<IncomingMessage, string>();

/** A valid token standing for the chosen subprotocol in the request `ws` parses. */
const CHOSEN_TOKEN = 'podvisor-negotiated';

/** One WebSocket server for every upgrade (no listening socket of its own). */
const wss = new WebSocketServer({
  noServer: true, maxPayload: MAX_STREAM_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false,
  handleProtocols: (_offered, req) => chosen.get(req) ?? false,
});

/** The subprotocols a WebSocket client offered, in its order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  if (h === undefined) return [];
  return h.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** Which upgrade a request asks for. */
export function upgradeKind(ctx: Ctx): 'websocket' | 'spdy' | undefined {
  if (!ctx.upgrade) return undefined;
  const u = (ctx.req.headers.upgrade ?? '').toLowerCase();
  if (u === 'websocket') return 'websocket';
  if (u.startsWith('spdy/')) return 'spdy';
  return undefined;
}

/** Ends an upgraded connection that carried nothing either way for `ms` (the kubelet's streaming idle timeout). */
function closeWhenIdle(socket: Duplex, ms: number): void {
  const sock = socket as Socket;
  if (typeof sock.setTimeout === 'function') sock.setTimeout(ms, () => sock.destroy());
}

/**
 * Upgrades to WebSocket with subprotocol `protocol` (already negotiated; empty when the client
 * offered none) and hands over the socket. `ws` refuses subprotocol names that are not HTTP
 * tokens (kubectl's `SPDY/3.1+portforward.k8s.io` has a `/`), so the request it parses carries
 * a stand-in and the real name is what it answers with.
 */
export function acceptWebSocket(ctx: Ctx, idleMs: number, protocol: string): Promise<WebSocket> {
  const up = ctx.upgrade;
  if (!up) throw new HttpError(badRequest('Upgrade request required'));
  if (protocol === '') delete ctx.req.headers['sec-websocket-protocol'];
  else {
    ctx.req.headers['sec-websocket-protocol'] = CHOSEN_TOKEN;
    chosen.set(ctx.req, protocol);
  }
  return new Promise((resolve) => {
    wss.handleUpgrade(ctx.req, up.socket, up.head, (ws) => {
      // For the request log: the response that was sent is the 101 (ws wrote it on the socket).
      ctx.res.statusCode = 101;
      closeWhenIdle(up.socket, idleMs);
      resolve(ws);
    });
  });
}

/** `exec` query options, checked as the kubelet's `NewOptions` does. */
interface ExecRequest {
  container?: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function execRequest(ctx: Ctx, attach: boolean): ExecRequest {
  const q = ctx.query;
  const command = q.getAll('command');
  if (!attach && command.length === 0) throw new HttpError(badRequest('you must specify at least one command for the container'));
  const stdin = queryBool(q, 'stdin');
  const stdout = queryBool(q, 'stdout');
  let stderr = queryBool(q, 'stderr');
  const tty = queryBool(q, 'tty');
  if (!stdin && !stdout && !stderr) throw new HttpError(badRequest('you must specify at least 1 of stdin, stdout, stderr'));
  // The kubelet bypasses stderr on a tty: the terminal carries both.
  if (tty && stderr) stderr = false;
  const container = q.get('container') ?? undefined;
  return { ...(container !== undefined && container !== '' ? { container } : {}), command, stdin, stdout, stderr, tty };
}

/**
 * The container a stream goes to, checked as the API server's `streamLocation` does (the only
 * container when none is named; a name the pod has), then as the kubelet does (it runs).
 */
function streamContainer(env: ServerEnv, ns: string, name: string, container: string | undefined): string {
  const pod = env.agent.getPod(ns, name);
  if (!pod) throw new PodNotFoundError(ns, name);
  const names = pod.spec.containers.map((c) => c.name);
  const inits = (pod.spec.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec.ephemeralContainers ?? []).map((c) => c.name);
  let c = container;
  if (c === undefined) {
    if (names.length !== 1) throw new ContainerNotSpecifiedError(ns, name, names, inits);
    c = names[0] ?? '';
  }
  if (![...names, ...inits, ...ephemeral].includes(c)) throw new UnknownContainerError(ns, name, c);
  if (!env.agent.containerRunning(ns, name, c)) throw new ContainerNotRunningError(ns, name, c);
  return c;
}

/** Starts what a remote-command session drives (a command, or an attach to the container's stdio). */
type Starter = (opts: ExecStreamOptions) => Promise<ExecStream>;

/** `GET|POST …/pods/{name}/exec`: runs a command in a running container. */
export async function podExec(env: ServerEnv, ctx: Ctx, ns: string, name: string): Promise<void> {
  const r = execRequest(ctx, false);
  const container = streamContainer(env, ns, name, r.container);
  r.container = container;
  const start: Starter = (opts) => env.agent.execStream(ns, name, container, r.command, opts);
  await serveRemoteCommand(env, ctx, r, start, { verb: 'exec', pod: `${ns}/${name}`, container });
}

/**
 * `GET|POST …/pods/{name}/attach`: the running container's own stdin, stdout and stderr (or
 * terminal), from now on; the session ends when the container does or the client detaches.
 */
export async function podAttach(env: ServerEnv, ctx: Ctx, ns: string, name: string): Promise<void> {
  const r = execRequest(ctx, true);
  const container = streamContainer(env, ns, name, r.container);
  r.container = container;
  const start: Starter = (opts) => env.agent.attachStream(ns, name, container, opts);
  await serveRemoteCommand(env, ctx, r, start, { verb: 'attach', pod: `${ns}/${name}`, container });
}

/** Serves one remote-command session over the upgrade the client asked for. */
async function serveRemoteCommand(env: ServerEnv, ctx: Ctx, r: ExecRequest, start: Starter, what: { verb: string; pod: string; container: string }): Promise<void> {
  const runSession = (streams: RemoteCommandStreams): Promise<void> => runStarted(env, r, streams, start, what);
  const kind = upgradeKind(ctx);
  if (kind === 'websocket') {
    const proto = channelProtocol(offeredProtocols(ctx.req), EXEC_WS_PROTOCOLS);
    if (!proto) throw new HttpError(failure(400, 'BadRequest', `requested protocol(s) are not supported: [${offeredProtocols(ctx.req).join(' ')}]; supports [${EXEC_WS_PROTOCOLS.map((p) => p.name).filter((n) => n !== '').join(' ')}]`));
    const ws = await acceptWebSocket(ctx, env.streamIdleMs, proto.name);
    const ch = new WsChannels(ws, proto, { inbound: [...(r.stdin ? [CH_STDIN] : []), CH_RESIZE] });
    const first = r.stdout ? CH_STDOUT : r.stderr ? CH_STDERR : CH_ERROR;
    ch.send(first, Buffer.alloc(0));
    const streams: RemoteCommandStreams = {
      version: proto.version,
      ...(r.stdin ? { stdin: ch.inbound(CH_STDIN) } : {}),
      ...(r.stdout ? { stdout: ch.outbound(CH_STDOUT) } : {}),
      ...(r.stderr ? { stderr: ch.outbound(CH_STDERR) } : {}),
      resize: ch.inbound(CH_RESIZE),
      writeError: (data) => new Promise((resolve, reject) => ch.send(CH_ERROR, data, (e) => (e ? reject(e) : resolve()))),
      finish: () => {
        ch.endInbound();
        ch.close();
      },
      closed: ch.closed,
    };
    await runSession(streams);
    return;
  }
  if (kind === 'spdy') {
    const up = ctx.upgrade;
    if (!up) throw new HttpError(badRequest('Upgrade request required'));
    const early: SpdyStream[] = [];
    let collector: RemoteCommandCollector | undefined;
    const result = upgradeSpdy(ctx.req, up.socket, up.head, {
      protocols: SPDY_REMOTECOMMAND_PROTOCOLS,
      session: { idleTimeoutMs: env.streamIdleMs, onStream: (st) => (collector ? collector.onStream(st) : early.push(st)) },
    });
    if (!result.ok) {
      ctx.res.statusCode = result.statusCode;
      return;
    }
    ctx.res.statusCode = 101;
    closeWhenIdle(up.socket, env.streamIdleMs);
    const done = new Promise<void>((resolve) => {
      collector = new RemoteCommandCollector(remoteCommandVersion(result.protocol), r, (streams) => {
        void runSession(streams).finally(resolve);
      });
      result.session.once('close', () => resolve());
    });
    collector?.attach(result.session);
    for (const st of early.splice(0)) collector?.onStream(st);
    await done;
    return;
  }
  throw new HttpError(badRequest('Upgrade request required'));
}

/**
 * Starts the command once the transport is up (a tty after the client's first terminal size,
 * or a short wait for it) and runs the session; a start that fails is reported on the error
 * channel, as the kubelet does.
 */
async function runStarted(env: ServerEnv, r: ExecRequest, s: RemoteCommandStreams, start: Starter, what: { verb: string; pod: string; container: string }): Promise<void> {
  const { resize, ...streams } = s;
  // One reader of the resize channel for the whole session: sizes before the start pick the
  // terminal's first size, later ones resize it.
  let latest: TerminalSize | undefined;
  const to: { apply?: (size: TerminalSize) => void } = {};
  let firstSize: (() => void) | undefined;
  if (resize && r.tty) {
    readSizes(resize, (size) => {
      latest = size;
      if (to.apply) to.apply(size);
      else firstSize?.();
    });
    if (latest === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FIRST_SIZE_WAIT_MS);
        firstSize = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } else resize?.resume();
  const started = latest;
  const opts: ExecStreamOptions = { stdin: r.stdin, tty: r.tty, ...(started ? { size: started } : {}) };
  let exec: ExecStream;
  try {
    exec = await start(opts);
  } catch (err) {
    const bytes = errorChannelBytes(s.version, execErrorStatus(`error executing command in container: ${err instanceof Error ? err.message : String(err)}`));
    if (bytes) await s.writeError(bytes).catch(() => undefined);
    s.finish();
    return;
  }
  to.apply = (size) => exec.resize(size);
  if (latest !== undefined && latest !== started) exec.resize(latest);
  env.log('info', what.verb, { pod: what.pod, container: what.container, command: r.command[0], tty: r.tty });
  await runRemoteCommand(exec, streams, r.command);
}

/** The port-forward subprotocols over WebSocket (channels: the kubelet's; the ports come in the query). */
/** kubectl 1.31+'s port-forward: SPDY/3.1 frames tunnelled in WebSocket binary messages. */
const TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

const PORTFORWARD_WS_PROTOCOLS: readonly ChannelProtocol[] = [
  { name: TUNNEL_PROTOCOL, codec: 'binary', version: 0 },
  { name: 'v4.channel.k8s.io', codec: 'binary', version: 4 },
  { name: 'v4.base64.channel.k8s.io', codec: 'base64', version: 4 },
  { name: 'channel.k8s.io', codec: 'binary', version: 1 },
  { name: 'base64.channel.k8s.io', codec: 'base64', version: 1 },
  { name: '', codec: 'binary', version: 1 },
];

/** `GET|POST …/pods/{name}/portforward`: connections to the pod's ports. */
export async function podPortForward(env: ServerEnv, ctx: Ctx, ns: string, name: string): Promise<void> {
  const pod = env.agent.getPod(ns, name);
  if (!pod) throw new PodNotFoundError(ns, name);
  const target: ForwardTarget = { namespace: ns, name, uid: pod.metadata.uid ?? '' };
  const kind = upgradeKind(ctx);
  if (kind === 'websocket') {
    const offered = offeredProtocols(ctx.req);
    const proto = channelProtocol(offered, PORTFORWARD_WS_PROTOCOLS);
    if (!proto) throw new HttpError(failure(400, 'BadRequest', `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${PORTFORWARD_WS_PROTOCOLS.map((p) => p.name).filter((n) => n !== '').join(' ')}]`));
    if (proto.name === TUNNEL_PROTOCOL) {
      // kubectl 1.31+: SPDY framing inside WebSocket binary messages; the ports come in stream headers.
      const ws = await acceptWebSocket(ctx, env.streamIdleMs, proto.name);
      const session = new SpdySession(createWebSocketStream(ws), { role: 'server', idleTimeoutMs: env.streamIdleMs, onStream: (st) => pairs.onStream(st) });
      const pairs = spdyPairs(env, target, session);
      env.log('info', 'port-forward', { pod: `${ns}/${name}`, transport: 'spdy-websocket' });
      await new Promise<void>((resolve) => session.once('close', () => resolve()));
      pairs.dispose();
      return;
    }
    const ports = requestedPorts(ctx.query);
    const ws = await acceptWebSocket(ctx, env.streamIdleMs, proto.name);
    const ch = new WsChannels(ws, proto, { inbound: ports.map((_, i) => 2 * i) });
    env.log('info', 'port-forward', { pod: `${ns}/${name}`, ports });
    await serveChannelPortForward(env, target, ports, ch);
    return;
  }
  if (kind === 'spdy') {
    const up = ctx.upgrade;
    if (!up) throw new HttpError(badRequest('Upgrade request required'));
    const early: SpdyStream[] = [];
    const to: { pairs?: PortForwardPairs } = {};
    const result = upgradeSpdy(ctx.req, up.socket, up.head, {
      protocols: [SPDY_PORTFORWARD_PROTOCOL],
      session: { idleTimeoutMs: env.streamIdleMs, onStream: (st) => (to.pairs ? to.pairs.onStream(st) : early.push(st)) },
    });
    if (!result.ok) {
      ctx.res.statusCode = result.statusCode;
      return;
    }
    ctx.res.statusCode = 101;
    closeWhenIdle(up.socket, env.streamIdleMs);
    const pairs = spdyPairs(env, target, result.session);
    to.pairs = pairs;
    for (const st of early.splice(0)) pairs.onStream(st);
    env.log('info', 'port-forward', { pod: `${ns}/${name}`, transport: 'spdy' });
    await new Promise<void>((resolve) => result.session.once('close', () => resolve()));
    pairs.dispose();
    return;
  }
  throw new HttpError(badRequest('Upgrade request required'));
}

/** The port-forward pairs of a SPDY session: each pair forwards one connection, then ends both streams. */
function spdyPairs(env: ServerEnv, target: ForwardTarget, session: SpdySession): PortForwardPairs {
  const closed = new Promise<void>((resolve) => {
    if (session.closed) resolve();
    else session.once('close', () => resolve());
  });
  return new PortForwardPairs((portText, data, error) => {
    let port: number;
    try {
      port = parsePort(portText);
    } catch (err) {
      error.end(err instanceof HttpError ? err.status.message : String(err));
      data.end();
      return;
    }
    void forwardOne(env, target, port, data, data, (msg) => {
      if (!error.destroyed && !error.writableEnded) error.write(msg);
    }, closed).then(() => Promise.all([endStream(data), endStream(error)]));
  });
}
