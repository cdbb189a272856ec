/**
 * `podvisor serve`: the durable node agent with a Kubernetes-compatible API that kubectl
 * drives. Pods, their core state, restart records and events live in `--data-dir`; after a
 * crash the daemon resumes every pod from there. Stopping the daemon leaves the containers
 * running where the runtime lets them outlive podvisor (the next start re-adopts them), unless
 * `--stop-pods-on-exit` asks for them to be stopped.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseDurationFlag } from '../api/index.js';
import { systemClock } from '../agent/clock.js';
import { NodeAgent } from '../agent/node.js';
import { DEFAULT_CORE_OPTIONS } from '../core/plan/index.js';
import { createRuntime, gpuInventory, podConfig, RUNTIMES } from './node-setup.js';
import type { ImageFlags } from './images.js';
import { DEFAULT_LISTEN, defaultDataDir, ensureTls, ensureToken } from './credentials.js';
import { markEndpointStopped, recordEndpoint } from './endpoint.js';
import type { ContainerRuntime } from '../runtime/types.js';
import { createApiServer } from '../server/http.js';
import type { PodState } from '../core/model.js';
import type { ConfigLookups } from '../core/config-refs.js';
import { FileStore } from '../store/file-store.js';

/** Flags of `serve`. */
export interface ServeFlags extends ImageFlags {
  dataDir?: string;
  listen?: string;
  socket?: string;
  runtime: string;
  /** `--monitor`: auto (default), conmon or direct. */
  monitor?: string;
  backoffInitial?: string;
  backoffMax?: string;
  gpus?: string;
  /**
   * `--stop-pods-on-exit`: a stop of the daemon stops the containers too (SIGTERM, SIGKILL at
   * each pod's grace period). Without it they keep running when the runtime allows it.
   */
  stopPodsOnExit?: boolean;
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
 * pod event (spec C4, §2.4): see {@link stopServing}; whether the containers keep running is
 * decided once, at start ({@link keepContainersOnStop}).
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
  const token = ensureToken(dataDir);
  const store = new FileStore<PodState>(join(dataDir, 'store'));
  try {
    store.open();
  } catch (e) {
    // Nothing was lost: the store is left as it was, or as the next open can complete it.
    process.stderr.write(`error: cannot open the store in ${store.dir}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  let runtime;
  try {
    runtime = await createRuntime({ name: flags.runtime, dataDir: join(dataDir, 'runtime'), monitor: flags.monitor ?? 'auto', images: flags, log: (msg, fields) => log.debug(fields ?? {}, msg) });
  } catch (e) {
    process.stderr.write(`error: runtime ${flags.runtime} is not available: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const agent = new NodeAgent({
    store, runtime, clock: systemClock, core: { backoffInitialMs: initial, backoffMaxMs: max }, gpus: gpuInventory(flags.gpus),
    // The registry keeps ConfigMaps and Secrets in the same store; pods read them from there.
    config: podConfig({
      configMap: (ns, name) => store.getObject('configmaps', ns, name) as ReturnType<ConfigLookups['configMap']>,
      secret: (ns, name) => store.getObject('secrets', ns, name) as ReturnType<ConfigLookups['secret']>,
    }),
    log: (level, msg, fields) => log[level](fields, msg),
  });
  const keepContainers = keepContainersOnStop(flags, runtime);
  await agent.start();
  const api = createApiServer({ backend: agent, store, token, metrics: () => agent.metrics.render(), logger: (level, msg, fields) => log[level](fields, msg), uiDir: fileURLToPath(new URL('../ui', import.meta.url)) });
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
    await stopServing(agent, runtime, keepContainers);
    return 1;
  }
  recordEndpoint(dataDir, listeners.map((l) => l.address));
  const ui = listeners.map((l) => l.address).filter((a) => a.startsWith('https://')).map((a) => `${a}/ui/`);
  log.info({ dataDir, endpoints: listeners.map((l) => l.address), ui, pods: agent.listPods().length, keepContainersOnStop: keepContainers }, 'podvisor serve ready');
  const signal = await stopping;
  if (keepContainers) {
    log.info({ signal, pods: agent.listPods().length }, 'podvisor serve stopping: the API closes, supervision ends, containers keep running under their monitors, the next start re-adopts them');
  } else {
    const why = flags.stopPodsOnExit === true
      ? '--stop-pods-on-exit'
      : `runtime ${runtime.name} cannot keep containers running without podvisor (they have no monitor)`;
    log.info({ signal, pods: agent.listPods().length, why }, 'podvisor serve stopping: the API closes, supervision ends, containers are stopped without pod events, pods resume at the next start');
  }
  // New work is refused first: the API closes (open watches included) before anything stops.
  for (const l of listeners) await l.close();
  markEndpointStopped(dataDir);
  api.close();
  await stopServing(agent, runtime, keepContainers);
  return 0;
}

/**
 * Whether a stop of the daemon leaves the containers running: yes when the runtime's
 * containers outlive podvisor (a monitor is their parent), unless `--stop-pods-on-exit`.
 */
function keepContainersOnStop(flags: ServeFlags, runtime: ContainerRuntime): boolean {
  return flags.stopPodsOnExit !== true && runtime.containersOutlivePodvisor;
}

/**
 * The order of a graceful stop: the pod workers stop before any container could (so no exit
 * is recorded, nothing is restarted and nothing more is persisted). With `keepContainers` no
 * container is signalled and the runtime closes leaving them running under their monitors, for
 * the next start to re-adopt. Otherwise the containers get SIGTERM and SIGKILL at the pod's
 * grace period, then the runtime closes, stopping what is left. Either way the pod sandboxes
 * stay for the next start. The store needs no flush: it writes every change durably when it
 * happens, and the last one is each pod's state as of the stop.
 */
async function stopServing(agent: NodeAgent, runtime: ContainerRuntime, keepContainers: boolean): Promise<void> {
  await agent.stop({ keepContainers });
  await runtime.close({ keepSandboxes: true, keepContainers });
}

function splitHostPort(s: string): [string, string] {
  const i = s.lastIndexOf(':');
  if (i <= 0) return ['127.0.0.1', s];
  return [s.slice(0, i).replace(/^\[|\]$/g, ''), s.slice(i + 1)];
}
