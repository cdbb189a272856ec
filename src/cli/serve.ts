/**
 * `podvisor serve`: the durable node agent with a Kubernetes-compatible API that kubectl
 * drives. Pods, their core state, restart records and events live in `--data-dir`; after a
 * crash the daemon resumes every pod from there.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseDurationFlag } from '../api/index.js';
import { systemClock } from '../agent/clock.js';
import { NodeAgent } from '../agent/node.js';
import { DEFAULT_CORE_OPTIONS } from '../core/plan.js';
import { createRuntime, gpuInventory, RUNTIMES } from './node-setup.js';
import type { ContainerRuntime } from '../runtime/types.js';
import { createApiServer } from '../server/http.js';
import { FileStore, writeFileAtomic } from '../store/file-store.js';

/** Flags of `serve`. */
export interface ServeFlags {
  dataDir?: string;
  listen?: string;
  socket?: string;
  runtime: string;
  backoffInitial?: string;
  backoffMax?: string;
  gpus?: string;
}

/** Default data dir: `$XDG_STATE_HOME/podvisor`, else `~/.local/state/podvisor`. */
export function defaultDataDir(): string {
  const xdg = process.env['XDG_STATE_HOME'];
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.local', 'state'), 'podvisor');
}

/** Default TCP endpoint (loopback only). */
export const DEFAULT_LISTEN = '127.0.0.1:7443';

/** The API token of a data dir, created (0600) on first use. */
export function tokenFor(dataDir: string): string {
  const file = join(dataDir, 'token');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(file, `${randomBytes(24).toString('hex')}\n`);
  }
  return readFileSync(file, 'utf8').trim();
}

/** Paths of the daemon's TLS key and self-signed certificate. */
export function tlsPaths(dataDir: string): { key: string; cert: string } {
  return { key: join(dataDir, 'tls', 'key.pem'), cert: join(dataDir, 'tls', 'cert.pem') };
}

/**
 * The daemon's TLS key and self-signed certificate (for 127.0.0.1, ::1 and localhost),
 * created with openssl on first use. TLS is needed because kubectl sends a bearer token
 * only over HTTPS; `podvisor kubeconfig` embeds this certificate as the cluster's CA.
 */
export function ensureTls(dataDir: string): { key: Buffer; cert: Buffer } {
  const p = tlsPaths(dataDir);
  if (!existsSync(p.key) || !existsSync(p.cert)) {
    mkdirSync(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/CN=podvisor', '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      '-keyout', p.key, '-out', p.cert,
    ], { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`cannot create a TLS certificate with openssl (${r.error?.message ?? r.stderr.trim()}); install openssl or serve only on --socket`);
    }
  }
  return { key: readFileSync(p.key), cert: readFileSync(p.cert) };
}

/**
 * Resolves with the first SIGINT or SIGTERM. Both handlers are removed then, so a second
 * signal ends the process at once, which is as safe as a crash: nothing is recorded after the
 * stop began.
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * Runs the daemon until SIGINT/SIGTERM; returns the exit code. Stopping the daemon is never a
 * pod event (spec C4, §2.4): see {@link stopServing}.
 */
export async function runServe(flags: ServeFlags): Promise<number> {
  const log = pino({ name: 'podvisor', base: { pid: process.pid } });
  // Listening from the start: a signal during start-up stops gracefully once started.
  const stopping = stopSignal();
  if (!(RUNTIMES as readonly string[]).includes(flags.runtime)) {
    process.stderr.write(`error: unknown runtime ${JSON.stringify(flags.runtime)}: use --runtime host (the default) or --runtime sandbox\n`);
    return 2;
  }
  const initial = flags.backoffInitial !== undefined ? parseDurationFlag(flags.backoffInitial) : DEFAULT_CORE_OPTIONS.backoffInitialMs;
  const max = flags.backoffMax !== undefined ? parseDurationFlag(flags.backoffMax) : DEFAULT_CORE_OPTIONS.backoffMaxMs;
  if (initial === undefined || max === undefined || initial < 0 || max < 0) {
    process.stderr.write('error: --backoff-initial/--backoff-max take durations like 0, 100ms, 10s, 5m\n');
    return 2;
  }
  const dataDir = flags.dataDir ?? defaultDataDir();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = tokenFor(dataDir);
  const store = new FileStore(join(dataDir, 'store'));
  store.open();
  let runtime;
  try {
    runtime = await createRuntime(flags.runtime, join(dataDir, 'runtime'), (msg, fields) => log.debug(fields ?? {}, msg));
  } catch (e) {
    process.stderr.write(`error: runtime ${flags.runtime} is not available: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const agent = new NodeAgent({
    store, runtime, clock: systemClock, core: { backoffInitialMs: initial, backoffMaxMs: max }, gpus: gpuInventory(flags.gpus),
    log: (level, msg, fields) => log[level](fields, msg),
  });
  await agent.start();
  const api = createApiServer({ backend: agent, token, metrics: () => agent.metrics.render(), logger: (level: string, msg: string, fields?: Record<string, unknown>) => (level === 'error' ? log.error(fields ?? {}, msg) : log.info(fields ?? {}, msg)) });
  const listeners: { close(): Promise<void>; address: string }[] = [];
  try {
    if (flags.socket) listeners.push(await api.listen({ socket: flags.socket }));
    if (flags.listen || !flags.socket) {
      const [host, portText] = splitHostPort(flags.listen ?? DEFAULT_LISTEN);
      listeners.push(await api.listen({ host, port: Number(portText), tls: ensureTls(dataDir) }));
    }
  } catch (err) {
    process.stderr.write(`error: cannot listen: ${err instanceof Error ? err.message : String(err)}\n`);
    for (const l of listeners) await l.close();
    await stopServing(agent, runtime);
    return 1;
  }
  log.info({ dataDir, endpoints: listeners.map((l) => l.address), pods: agent.listPods().length }, 'podvisor serve ready');
  const signal = await stopping;
  log.info({ signal, pods: agent.listPods().length }, 'podvisor serve stopping: the API closes, supervision ends, containers are stopped without pod events, pods resume at the next start');
  // New work is refused first: the API closes (open watches included) before anything stops.
  for (const l of listeners) await l.close();
  await stopServing(agent, runtime);
  return 0;
}

/**
 * The order of a graceful stop: the pod workers stop before any container does (so no exit is
 * recorded, nothing is restarted and nothing more is persisted), then their containers get
 * SIGTERM and SIGKILL at the pod's grace period, then the runtime closes, stopping what is
 * left and keeping the pod sandboxes for the next start. The store needs no flush: it writes
 * every change durably when it happens, and the last one is each pod's state as of the stop.
 */
async function stopServing(agent: NodeAgent, runtime: ContainerRuntime): Promise<void> {
  await agent.stop();
  await runtime.close({ keepSandboxes: true });
}

function splitHostPort(s: string): [string, string] {
  const i = s.lastIndexOf(':');
  if (i <= 0) return ['127.0.0.1', s];
  return [s.slice(0, i).replace(/^\[|\]$/g, ''), s.slice(i + 1)];
}
