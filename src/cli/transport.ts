/**
 * Requests of the client verbs to `podvisor serve`, and the one formatter of their failures.
 *
 * Every way a request can fail without an answer from the API (nothing listens, the TLS
 * certificate is not the data dir's, the token is refused, no answer in time, the connection
 * is lost halfway) becomes a {@link ClientError} whose message is one line naming the fix,
 * built by {@link describeFailure} or {@link describeUnauthorized}; `main.ts` prints it as
 * `error: MESSAGE` and exits 1. Answers the API does give (404, 409, 422...) are the verbs'
 * business: they print them as kubectl does.
 */
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { ClientError, type Endpoint } from './endpoint.js';
import { TLS_NAMES } from './credentials.js';

export { ClientError } from './endpoint.js';

/** A response: status code, headers and body text. */
export interface Resp {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** No answer (response headers) within the endpoint's timeout. */
class NoAnswer extends Error {}

/** The connection ended before the response did (the daemon stopped or crashed meanwhile). */
class LostConnection extends Error {}

/** Certificate verification failures of Node/OpenSSL: not signed by the CA given, or not valid. */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'CERT_CHAIN_TOO_LONG',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that starts the daemon a client looks for. */
function serveCommand(ep: Endpoint): string {
  return `podvisor serve --data-dir ${shellWord(ep.dataDir)}`;
}

/** Where the URL came from, for the messages that ask to check it. */
function sourceText(ep: Endpoint): string {
  return ep.source === 'endpoint.json' ? ep.record?.file ?? 'endpoint.json' : ep.source === 'default' ? 'the default endpoint' : ep.source;
}

/** "not running" with what the data dir's record says, for a record whose daemon is gone. */
function notRunning(ep: Endpoint): string | undefined {
  const r = ep.record;
  if (r === undefined || r.state === 'running') return undefined;
  const why = r.state === 'stopped'
    ? `it stopped at ${r.rec.stoppedAt ?? '?'}`
    : `pid ${r.rec.pid} recorded in ${r.file} has exited without a clean stop`;
  return `podvisor serve --data-dir ${shellWord(ep.dataDir)} is not running (${why}; it listened on ${ep.url}): start it with \`${serveCommand(ep)}\``;
}

function errCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * The reason of an error in a few words: OpenSSL's own (`wrong version number`) rather than
 * Node's message, which holds OpenSSL's whole error line and a newline.
 */
function reasonOf(err: unknown): string {
  const r = (err as { reason?: unknown } | undefined)?.reason;
  if (typeof r === 'string' && r !== '') return r;
  const text = err instanceof Error ? err.message : String(err);
  // `write EPROTO 80...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:file:line:`
  const openssl = /error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:\n]+)/.exec(text)?.[1];
  if (openssl !== undefined) return openssl;
  return text.split('\n')[0]?.trim() ?? text;
}

/** The one-line reason a certificate was refused, with the CA file and the data dir. */
function describeCertificate(code: string, reason: string, ep: Endpoint): string {
  const at = `podvisor serve at ${ep.url}`;
  if (ep.ca === undefined) {
    return `cannot verify the certificate of ${at} (${reason}): there is no CA ${ep.caFile} (no podvisor serve has run with --data-dir ${shellWord(ep.dataDir)}); pass the --data-dir of the daemon listening there`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the certificate of ${at} is not valid for ${ep.host ?? '?'} (${reason}): the certificate of data dir ${shellWord(ep.dataDir)} (${ep.caFile}) names ${TLS_NAMES.join(', ')}; connect to one of those`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `the certificate of ${at} ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet (check the clock)'} (${reason}); to have podvisor serve create a new one, stop it, remove ${dirname(ep.caFile)} and start \`${serveCommand(ep)}\` again`;
  }
  return `the certificate of ${at} is not signed by ${ep.caFile}, the CA of data dir ${shellWord(ep.dataDir)} (${reason}); pass the --data-dir of the podvisor serve listening there`;
}

/**
 * The one-line message for a request to `ep` that got no answer: `err` is the error of the
 * request or of its response (a Node system or TLS error, or this module's timeout and
 * lost-connection errors). Every network failure of the client verbs goes through here.
 */
export function describeFailure(err: unknown, ep: Endpoint): string {
  const code = errCode(err) ?? '';
  const reason = reasonOf(err);
  const at = `podvisor serve at ${ep.url}`;
  const running = `is \`${serveCommand(ep)}\` running?`;
  if (err instanceof ClientError) return err.message;
  if (err instanceof LostConnection) return `lost the connection to ${at} (${reason}); did it stop? ${running}`;
  if (err instanceof NoAnswer) return notRunning(ep) ?? `cannot reach ${at}: no answer within ${ep.timeoutMs / 1000}s; ${running}`;
  if (CERT_CODES.has(code)) return describeCertificate(code, reason, ep);
  switch (code) {
    case 'ECONNREFUSED':
      return notRunning(ep) ?? `cannot reach ${at}: connection refused; ${running}`;
    case 'ENOENT':
      return notRunning(ep) ?? `cannot reach ${at}: no such socket; ${running}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot reach ${at}: permission denied (the socket is mode 0600: run as the user of podvisor serve)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${at}: unknown host ${ep.host ?? '?'}; check ${sourceText(ep)}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return `cannot reach ${at}: ${code === 'EHOSTUNREACH' ? 'no route to host' : 'network unreachable'} (${code}); check ${sourceText(ep)}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return ep.tls || ep.socketPath !== undefined
        ? `${at} closed the connection (${reason}); ${running}`
        : `${at} closed the connection (${reason}): podvisor serve speaks HTTPS on TCP; use https://${ep.url.slice('http://'.length)}`;
    default:
      break;
  }
  if (ep.tls && (code === 'EPROTO' || code.startsWith('ERR_SSL_'))) {
    return `${at} does not speak TLS (${reason}): podvisor serve speaks HTTPS on TCP; check ${sourceText(ep)}`;
  }
  return `cannot reach ${at}: ${reason}; ${running}`;
}

/** The one-line message for a 401: the token and where it came from. */
export function describeUnauthorized(ep: Endpoint): string {
  const at = `podvisor serve at ${ep.url}`;
  if (ep.tokenSource === '--token' || ep.tokenSource === '$PODVISOR_TOKEN') {
    return `${at} refused the token of ${ep.tokenSource} (401 Unauthorized); use the token file of its data dir (<data-dir>/token), or --data-dir alone`;
  }
  return `${at} refused the token in ${ep.tokenSource} (401 Unauthorized): it is not the token of that daemon; pass the --data-dir it was started with`;
}

/** The one line a client verb prints for any failure (without the `error: ` prefix). */
export function describeCliError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

function send(ep: Endpoint, opts: http.RequestOptions, cb: (res: http.IncomingMessage) => void): http.ClientRequest {
  const base = { ...opts, socketPath: ep.socketPath, host: ep.host, port: ep.port };
  if (ep.tls) return https.request({ ...base, ...(ep.ca ? { ca: ep.ca } : {}) }, cb);
  return http.request(base, cb);
}

/**
 * Sends a request and hands its response to `onResponse`, unless it is a 401 (rejected with
 * {@link describeUnauthorized}). `reject` gets every failure as a {@link ClientError}: no
 * answer within {@link Endpoint.timeoutMs} (the timer runs until the response headers
 * arrive), a connection error, or a response cut short. `close` (given to `onResponse`) ends
 * the exchange on purpose, which is no failure.
 */
function open(
  ep: Endpoint,
  opts: http.RequestOptions,
  reject: (e: Error) => void,
  onResponse: (res: http.IncomingMessage, close: () => void) => void,
): http.ClientRequest {
  const fail = (e: unknown): void => reject(new ClientError(describeFailure(e, ep)));
  let closedHere = false;
  const close = (): void => {
    closedHere = true;
    req.destroy();
  };
  const req = send(ep, opts, (res) => {
    clearTimeout(timer);
    // Without a listener, an error of the response (a reset halfway) would be thrown; the
    // close below reports it.
    res.on('error', () => {});
    if (res.statusCode === 401) {
      reject(new ClientError(describeUnauthorized(ep)));
      close();
      return;
    }
    res.on('close', () => {
      if (!res.complete && !closedHere) fail(new LostConnection(res.errored?.message ?? 'the response ended early'));
    });
    onResponse(res, close);
  });
  const timer = setTimeout(() => req.destroy(new NoAnswer(`no answer within ${ep.timeoutMs} ms`)), ep.timeoutMs);
  req.on('error', (e) => {
    clearTimeout(timer);
    if (!closedHere) fail(e);
  });
  req.on('close', () => clearTimeout(timer));
  return req;
}

/** Sends one request and resolves with the whole response; rejects only with a {@link ClientError}. */
export function request(ep: Endpoint, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = open(ep, {
      method, path,
      headers: { Authorization: `Bearer ${ep.token}`, Accept: 'application/json', ...(data ? { 'Content-Type': contentType, 'Content-Length': data.length } : {}) },
    }, reject, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    if (data) req.write(data);
    req.end();
  });
}

/**
 * Streams a response body to `onChunk` until it ends, or until `onChunk` returns true (then
 * the connection is closed: a watch would otherwise keep the process alive). Resolves with
 * the status code; rejects with a {@link ClientError} when there is no answer, also when the
 * connection is lost before the response ended (the daemon stopped), and with what `onChunk`
 * throws (the connection is closed then).
 */
export function stream(ep: Endpoint, path: string, onChunk: (s: string) => boolean | void): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = open(ep, { method: 'GET', path, headers: { Authorization: `Bearer ${ep.token}` } }, reject, (res, close) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        let done: boolean | void;
        try {
          done = onChunk(d);
        } catch (e) {
          // Thrown in an event handler it would end the process with a stack trace.
          reject(e instanceof Error ? e : new Error(String(e)));
          close();
          return;
        }
        if (done === true) {
          resolve(res.statusCode ?? 0);
          close();
        }
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.end();
  });
}
