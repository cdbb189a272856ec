/**
 * Where `podvisor serve` listens, and how a client verb finds it.
 *
 * `serve` records its endpoint in `<data-dir>/endpoint.json` once every listener is up
 * ({@link recordEndpoint}), and marks the record stopped when a clean stop has closed the API
 * ({@link markEndpointStopped}): the URL of every listener (`https://host:port` with the
 * actual port, also when `--listen HOST:0` let the system pick one; `unix:///absolute/path`),
 * the certificate clients verify the daemon's against, its pid and the time it started. The
 * file is written atomically, so a reader sees the old record or the new one, never a mix.
 *
 * A client verb resolves the daemon in this order, the first that applies winning
 * ({@link resolveTarget}):
 *
 *   1. `--server URL` or `--socket PATH`;
 *   2. `$PODVISOR_ENDPOINT` (`https://HOST:PORT`, `http://HOST:PORT` or `unix:///PATH`);
 *   3. the data dir's `endpoint.json` (`--data-dir`, default `$XDG_STATE_HOME/podvisor` or
 *      `~/.local/state/podvisor`): its first TCP listener, else its socket. Whether the
 *      recorded daemon still runs is checked (its pid, and on Linux the pid's start time, so a
 *      reused pid does not count); a record of a stopped or vanished daemon is still tried,
 *      and when nothing answers the error says that daemon is not running;
 *   4. the default `https://127.0.0.1:7443`.
 *
 * Whatever the endpoint, the data dir gives the token (unless `--token` or `$PODVISOR_TOKEN`)
 * and the CA, `<data-dir>/tls/cert.pem`, that must have signed the daemon's certificate.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_LISTEN, defaultDataDir, readToken, tlsPaths, tokenPath } from './credentials.js';
import { writeFileAtomic } from '../store/file-store.js';

/** The endpoint used when neither a flag, the environment nor the data dir names one. */
export const DEFAULT_ENDPOINT = `https://${DEFAULT_LISTEN}`;

/**
 * How long a request may wait for the daemon's answer (its response headers): the connection,
 * the TLS handshake and the server's work. Streams (watches, `logs -f`) are not limited once
 * the answer began. kubectl's dial timeout is the same 30 s.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Path of the endpoint record of a data dir. */
export function endpointPath(dataDir: string): string {
  return resolve(dataDir, 'endpoint.json');
}

/** The content of `<data-dir>/endpoint.json`. */
export interface EndpointRecord {
  /** The listeners' URLs: `https://host:port` (the actual port) and `unix:///absolute/path`. */
  listeners: string[];
  /** Absolute path of the certificate that verifies the daemon's (present when it serves TLS). */
  ca?: string;
  /** The daemon's pid. */
  pid: number;
  /**
   * The pid's start time in clock ticks since boot (`/proc/PID/stat`, field 22), so that a
   * reused pid is not taken for the daemon; absent where there is no `/proc`.
   */
  pidStart?: string;
  /** When the daemon started listening (RFC 3339). */
  startedAt: string;
  /** When a clean stop closed the API (RFC 3339); absent while the daemon runs. */
  stoppedAt?: string;
}

/**
 * What became of the daemon of a record: `running` (its process lives), `stopped` (it
 * stopped cleanly at `stoppedAt`) or `exited` (its process is gone without a clean stop: a
 * crash, `kill -9`, a reboot).
 */
export type DaemonState = 'running' | 'stopped' | 'exited';

/** Start time (field 22) and state (field 3) of a process from `/proc/PID/stat`, where there is one. */
function procStat(pid: number): { start: string; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    const state = fields[0];
    return start !== undefined && state !== undefined ? { start, state } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether process `pid` lives: it exists (a process of another user counts), is no zombie,
 * and, when `pidStart` is given and `/proc` can tell, started when the record says.
 */
export function processAlive(pid: number, pidStart?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(pid);
  if (st === undefined) return true;
  if (st.state === 'Z' || st.state === 'X') return false;
  return pidStart === undefined || st.start === pidStart;
}

/** A listener's URL as recorded: a unix socket's path made absolute (clients run elsewhere). */
function recordedListener(address: string): string {
  if (!address.startsWith('unix://')) return address;
  return `unix://${resolve(address.slice('unix://'.length))}`;
}

/**
 * Writes `<data-dir>/endpoint.json` for the daemon of this process, listening on `listeners`
 * (the addresses its listeners report: `https://host:port`, `unix://path`). Called by `serve`
 * once every listener is up; throws when the file cannot be written.
 */
export function recordEndpoint(dataDir: string, listeners: string[], now: Date = new Date()): EndpointRecord {
  const rec: EndpointRecord = { listeners: listeners.map(recordedListener), pid: process.pid, startedAt: now.toISOString() };
  if (rec.listeners.some((l) => l.startsWith('https://'))) rec.ca = resolve(tlsPaths(dataDir).cert);
  const start = procStat(process.pid)?.start;
  if (start !== undefined) rec.pidStart = start;
  writeFileAtomic(endpointPath(dataDir), `${JSON.stringify(rec, null, 2)}\n`);
  return rec;
}

/**
 * Marks the record of this process's daemon stopped (`stoppedAt`), once a clean stop has
 * closed the API. A record another process wrote (a later daemon) is left alone; so is a
 * missing or unreadable one. Never throws: the daemon's stop goes on whatever happens here.
 */
export function markEndpointStopped(dataDir: string, now: Date = new Date()): void {
  try {
    const rec = readEndpointRecord(dataDir);
    if (rec === undefined || rec.pid !== process.pid) return;
    writeFileAtomic(endpointPath(dataDir), `${JSON.stringify({ ...rec, stoppedAt: now.toISOString() }, null, 2)}\n`);
  } catch {
    // A stale record says "exited" instead of "stopped": the client's advice is the same.
  }
}

/** An error a client verb reports as one line (`error: MESSAGE`), exiting 1: never a stack trace. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
}

function isRecord(v: unknown): v is EndpointRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return Array.isArray(r['listeners']) && r['listeners'].every((l) => typeof l === 'string')
    && typeof r['pid'] === 'number' && Number.isInteger(r['pid']) && r['pid'] > 0 && typeof r['startedAt'] === 'string';
}

/**
 * The endpoint record of a data dir, or undefined when there is none (no daemon of this
 * version has listened there). A file that is not a record throws a {@link ClientError}.
 */
export function readEndpointRecord(dataDir: string): EndpointRecord | undefined {
  const file = endpointPath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ClientError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed)) throw new ClientError(`${file} is not an endpoint record; remove it (podvisor serve writes it again) or pass --server`);
  return parsed;
}

/** What became of the daemon of `rec` (see {@link DaemonState}). */
export function daemonState(rec: EndpointRecord, alive: (pid: number, pidStart?: string) => boolean = processAlive): DaemonState {
  if (rec.stoppedAt !== undefined) return 'stopped';
  return alive(rec.pid, rec.pidStart) ? 'running' : 'exited';
}

/**
 * The URL a client uses for a recorded listener: a wildcard address (`0.0.0.0`, `::`) is not
 * one to connect to, its loopback counterpart is (and the daemon's certificate names it).
 */
export function clientUrl(listener: string): string {
  if (listener.startsWith('unix://')) return listener;
  const u = new URL(listener);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.origin;
}

/** Where the endpoint of a client came from (a flag, the environment, the data dir or the default). */
export type EndpointSource = '--server' | '--socket' | '$PODVISOR_ENDPOINT' | 'endpoint.json' | 'default';

/** The daemon a client verb talks to, before any connection. */
export interface Target {
  /** `https://host:port`, `http://host:port` or `unix:///path`. */
  url: string;
  source: EndpointSource;
  /** When the URL came from the data dir's record: the file, the record, and what became of its daemon. */
  record?: { file: string; rec: EndpointRecord; state: DaemonState };
}

/** Normalizes an endpoint given by a flag or the environment, or throws a {@link ClientError} naming it. */
function parseEndpoint(value: string, source: EndpointSource): string {
  if (value.startsWith('unix://')) {
    if (value.length === 'unix://'.length) throw new ClientError(`invalid endpoint "${value}" from ${source}: want unix:///PATH`);
    return `unix://${resolve(value.slice('unix://'.length))}`;
  }
  try {
    const u = new URL(value.includes('://') ? value : `https://${value}`);
    if ((u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '') return u.origin;
  } catch {
    // Reported below.
  }
  throw new ClientError(`invalid endpoint "${value}" from ${source}: want https://HOST:PORT, http://HOST:PORT or unix:///PATH`);
}

/** Inputs of {@link resolveTarget} besides the flags (the process's, unless a test gives others). */
export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  alive?: (pid: number, pidStart?: string) => boolean;
}

/**
 * The daemon to talk to, in the order of the module comment: `--socket`/`--server`, then
 * `$PODVISOR_ENDPOINT`, then the data dir's `endpoint.json`, then {@link DEFAULT_ENDPOINT}.
 * Throws a {@link ClientError} for an invalid URL or an unreadable record.
 */
export function resolveTarget(f: { server?: string; socket?: string }, dataDir: string, opts: ResolveOptions = {}): Target {
  if (f.socket !== undefined && f.socket !== '') return { url: parseEndpoint(`unix://${f.socket}`, '--socket'), source: '--socket' };
  if (f.server !== undefined && f.server !== '') return { url: parseEndpoint(f.server, '--server'), source: '--server' };
  const env = (opts.env ?? process.env)['PODVISOR_ENDPOINT'];
  if (env !== undefined && env !== '') return { url: parseEndpoint(env, '$PODVISOR_ENDPOINT'), source: '$PODVISOR_ENDPOINT' };
  const rec = readEndpointRecord(dataDir);
  const listener = rec && (rec.listeners.find((l) => !l.startsWith('unix://')) ?? rec.listeners[0]);
  if (rec && listener !== undefined) {
    let url: string;
    try {
      url = clientUrl(listener);
    } catch {
      throw new ClientError(`${endpointPath(dataDir)} records an invalid listener "${listener}"; remove it (podvisor serve writes it again) or pass --server`);
    }
    return { url, source: 'endpoint.json', record: { file: endpointPath(dataDir), rec, state: daemonState(rec, opts.alive) } };
  }
  return { url: DEFAULT_ENDPOINT, source: 'default' };
}

/** Connection flags shared by every client verb. */
export interface ClientFlags {
  server?: string;
  socket?: string;
  token?: string;
  dataDir?: string;
  namespace?: string;
}

/** Everything a client needs to reach the daemon and to explain a failure to reach it. */
export interface Endpoint extends Target {
  /** Set for a unix socket; else `host` and `port`. */
  socketPath?: string;
  host?: string;
  port?: number;
  /** HTTPS (verified with `ca`, else with the system's roots); false for `http://` and sockets. */
  tls: boolean;
  /** The data dir's CA, when the file exists. */
  ca?: Buffer;
  /** The data dir's CA file, whether or not it exists (error messages name it). */
  caFile: string;
  dataDir: string;
  token: string;
  /** Where the token came from: `--token`, `$PODVISOR_TOKEN` or the token file's path. */
  tokenSource: string;
  /** See {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  timeoutMs: number;
}

/** Why no request can be sent: no token was given and the data dir has none (no daemon ran there). */
export interface MissingToken {
  missingToken: true;
  /** The data dir searched. */
  dataDir: string;
  /** The token file that does not exist. */
  file: string;
}

/**
 * Resolves where the daemon listens ({@link resolveTarget}) and how to authenticate, or why
 * it cannot (no token: checked first, before anything else is read). Throws a
 * {@link ClientError} for an invalid endpoint.
 */
export function resolveEndpoint(f: ClientFlags, opts: ResolveOptions = {}): Endpoint | MissingToken {
  const env = opts.env ?? process.env;
  const dataDir = f.dataDir ?? defaultDataDir();
  const fromEnv = env['PODVISOR_TOKEN'];
  const [token, tokenSource] = f.token !== undefined ? [f.token, '--token']
    : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, '$PODVISOR_TOKEN']
      : [readToken(dataDir), tokenPath(dataDir)];
  if (token === undefined) return { missingToken: true, dataDir, file: tokenPath(dataDir) };
  const target = resolveTarget(f, dataDir, { ...opts, env });
  const caFile = tlsPaths(dataDir).cert;
  const base = { ...target, caFile, dataDir, token, tokenSource, timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS };
  if (target.url.startsWith('unix://')) return { ...base, socketPath: target.url.slice('unix://'.length), tls: false };
  const u = new URL(target.url);
  const tls = u.protocol === 'https:';
  const ep: Endpoint = { ...base, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (tls ? 443 : 80)), tls };
  if (tls) {
    try {
      ep.ca = readFileSync(caFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ClientError(`cannot read the CA ${caFile}: ${(err as Error).message}`);
    }
  }
  return ep;
}
