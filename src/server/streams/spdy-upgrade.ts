/**
 * The server side of the SPDY/3.1 HTTP upgrade, as `k8s.io/apimachinery`'s
 * `httpstream.Handshake` and `spdy.responseUpgrader.UpgradeResponse` do it for the kubelet:
 * negotiate `X-Stream-Protocol-Version` (kubectl offers its versions newest first, as repeated
 * or comma-separated values), check the upgrade headers, answer `101 Switching Protocols` and
 * run a server {@link SpdySession} on the raw socket of Node's `'upgrade'` event.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdySessionOptions } from './spdy-session.js';

/** The `Upgrade` token of Kubernetes' SPDY streaming. */
export const SPDY_31 = 'SPDY/3.1';
/** Request header with the client's stream protocols; response header with the chosen one. */
export const HEADER_PROTOCOL_VERSION = 'X-Stream-Protocol-Version';
/** Response header listing the server's protocols when none of the client's is supported. */
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';

/**
 * True when `req` asks for a SPDY/3.1 upgrade: `Connection` contains `upgrade` and `Upgrade`
 * contains `spdy/3.1`, case-insensitively (upstream's test, substring match included).
 */
export function isSpdyUpgradeRequest(req: { headers: IncomingHttpHeaders }): boolean {
  const connection = (req.headers.connection ?? '').toLowerCase();
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  return connection.includes('upgrade') && upgrade.includes(SPDY_31.toLowerCase());
}

/** The protocols a request offers, in its order: every `X-Stream-Protocol-Version` value split at commas, trimmed, empties dropped. */
export function offeredStreamProtocols(req: { headers: IncomingHttpHeaders }): string[] {
  // Node joins repeated headers of this name with ", ", which the split undoes.
  const raw = req.headers[HEADER_PROTOCOL_VERSION.toLowerCase()];
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return values.flatMap((v) => v.split(',')).map((p) => p.trim()).filter((p) => p !== '');
}

/** The outcome of {@link negotiateStreamProtocol}: a protocol, or the HTTP refusal upstream sends. */
export type StreamProtocolNegotiation =
  | { ok: true; protocol: string }
  | { ok: false; statusCode: 400 | 403; message: string; headers: [string, string][] };

/** Go's `%v` of a `[]string`. */
const goList = (l: readonly string[]): string => `[${l.join(' ')}]`;

/**
 * Picks the stream protocol as `httpstream.Handshake` does: the client's first offer (in the
 * client's order) that the server supports. No offer: upstream now refuses with 400 "unable to
 * upgrade: X-Stream-Protocol-Version is required"; Kubernetes 1.0 clients sent none and got the
 * v1 protocol, which `legacyProtocol` restores (that upgrade then carries no version header).
 * No common protocol: 403 with upstream's message and `X-Accepted-Stream-Protocol-Versions`.
 * `serverProtocols` must not be empty (upstream panics; this throws a RangeError).
 */
export function negotiateStreamProtocol(offered: readonly string[], serverProtocols: readonly string[], legacyProtocol?: string): StreamProtocolNegotiation {
  if (serverProtocols.length === 0) throw new RangeError('unable to upgrade: serverProtocols is required');
  if (offered.length === 0) {
    if (legacyProtocol !== undefined) return { ok: true, protocol: legacyProtocol };
    return { ok: false, statusCode: 400, message: `unable to upgrade: ${HEADER_PROTOCOL_VERSION} is required`, headers: [] };
  }
  const protocol = offered.find((p) => serverProtocols.includes(p));
  if (protocol !== undefined) return { ok: true, protocol };
  return {
    ok: false,
    statusCode: 403,
    message: `unable to upgrade: unable to negotiate protocol: client supports ${goList(offered)}, server accepts ${goList(serverProtocols)}`,
    headers: serverProtocols.map((p) => [HEADER_ACCEPTED_PROTOCOL_VERSIONS, p]),
  };
}

/** Options of {@link upgradeSpdy}. */
export interface SpdyUpgradeOptions {
  /** Stream protocols the server supports (e.g. `v4.channel.k8s.io`, …; `portforward.k8s.io`). */
  protocols: readonly string[];
  /** Protocol for a client that offers none (see {@link negotiateStreamProtocol}); unset: refused. */
  legacyProtocol?: string;
  /** Options of the server session (its `onStream` should be set here: the peer may open streams at once). */
  session?: Omit<SpdySessionOptions, 'role'>;
}

/** The outcome of {@link upgradeSpdy}; on failure the HTTP error was written and the socket ended. */
export type SpdyUpgradeResult =
  | { ok: true; protocol: string; session: SpdySession }
  | { ok: false; statusCode: number; message: string };

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden' };

/** Writes an error response as Go's `http.Error` does (plain text, nosniff, message + newline) and ends the socket. */
function refuse(socket: Duplex, statusCode: number, message: string, headers: [string, string][]): SpdyUpgradeResult {
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${statusCode} ${REASONS[statusCode] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    'X-Content-Type-Options: nosniff',
    ...headers.map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.on('error', () => undefined); // a client gone before reading its refusal is no crash
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  return { ok: false, statusCode, message };
}

/**
 * Upgrades `req` (from Node's `'upgrade'` event, with its `socket` and `head`) to SPDY/3.1:
 * negotiates the stream protocol, checks the upgrade headers (400 "unable to upgrade: missing
 * upgrade headers in request" otherwise), writes `101 Switching Protocols` with `Connection:
 * Upgrade`, `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version`, and starts a server session on
 * the socket (`head`, bytes already read past the request, is fed to it first). Authentication
 * and authorization are the caller's, before this.
 */
export function upgradeSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, options: SpdyUpgradeOptions): SpdyUpgradeResult {
  const negotiated = negotiateStreamProtocol(offeredStreamProtocols(req), options.protocols, options.legacyProtocol);
  if (!negotiated.ok) return refuse(socket, negotiated.statusCode, negotiated.message, negotiated.headers);
  if (!isSpdyUpgradeRequest(req)) {
    const seen = JSON.stringify({ Connection: req.headers.connection ?? '', Upgrade: req.headers.upgrade ?? '' });
    return refuse(socket, 400, `unable to upgrade: missing upgrade headers in request: ${seen}`, []);
  }
  const versioned = offeredStreamProtocols(req).length > 0;
  const response = [
    'HTTP/1.1 101 Switching Protocols',
    'Connection: Upgrade',
    `Upgrade: ${SPDY_31}`,
    ...(versioned ? [`${HEADER_PROTOCOL_VERSION}: ${negotiated.protocol}`] : []),
  ];
  socket.write(`${response.join('\r\n')}\r\n\r\n`);
  // Go's connections run without Nagle; small frames (exec keystrokes, PING echoes) must not wait.
  const tcp = socket as Duplex & { setNoDelay?: (noDelay: boolean) => unknown };
  tcp.setNoDelay?.(true);
  if (head.length > 0) socket.unshift(head);
  const session = new SpdySession(socket, { ...options.session, role: 'server' });
  return { ok: true, protocol: negotiated.protocol, session };
}
