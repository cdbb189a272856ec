/**
 * `podvisor run -f FILE`: runs every pod of the file on this machine and supervises them
 * until each is terminal, the timeout expires, or the user interrupts (graceful termination
 * first). Exit code: 2 invalid manifest, 124 timeout, 130 interrupted, 1 a pod Failed, else 0.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadPods, formatInvalidPod, parseDurationFlag, renderManifestError } from '../api/index.js';
import type { Pod, PodList } from '../api/types.js';
import { systemClock } from '../agent/clock.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';
import { PodRejectedError, Supervisor } from '../agent/supervisor.js';
import { PodvisorMetrics } from '../agent/metrics.js';
import { createServer, type Server } from 'node:http';
import { DEFAULT_CORE_OPTIONS, type CoreOptions } from '../core/plan/index.js';
import { createRuntime, gpuInventory, podConfig, RUNTIMES } from './node-setup.js';
import { NO_OBJECTS } from '../agent/pod-config.js';
import type { ImageFlags } from './images.js';
import { hostRuntimeNotice, PullView } from './pull-view.js';
import { securityContextWarnings } from '../api/security-warnings.js';
import type { PullProgress } from '../runtime/types.js';
import type { ContainerRuntime } from '../runtime/types.js';
import { colourStatus, eventLine, formatTable, palette, podRow, restartLine } from './view.js';

/** Options of `podvisor run`, as parsed by commander. */
export interface RunFlags extends ImageFlags {
  filename: string[];
  timeout?: string;
  backoffInitial?: string;
  backoffMax?: string;
  output?: string;
  runtime: string;
  /** `--monitor`: direct (default), conmon or auto. */
  monitor?: string;
  dataDir?: string;
  /** With `-o`: also write the live view to stderr. */
  watch?: boolean;
  /** Serve Prometheus metrics on HOST:PORT while the run lasts. */
  metricsListen?: string;
  /** GPU inventory (`2`, `0,1`, or absent: detected with nvidia-smi). */
  gpus?: string;
}

/** Where the process writes; injectable for tests. */
export interface RunIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  readFile(path: string): string;
}

const defaultIO: RunIO = {
  stdout: process.stdout,
  stderr: process.stderr,
  readFile: (p) => (p === '-' ? readFileSync(0, 'utf8') : readFileSync(p, 'utf8')),
};

function durationFlag(name: string, v: string | undefined, io: RunIO): number | undefined | null {
  if (v === undefined) return undefined;
  const ms = parseDurationFlag(v);
  if (ms === undefined || ms < 0) {
    io.stderr.write(`error: --${name} ${JSON.stringify(v)} is not a duration (examples: 0, 100ms, 10s, 5m)\n`);
    return null;
  }
  return ms;
}

/** Runs `podvisor run`; returns the exit code. */
export async function runRun(flags: RunFlags, io: RunIO = defaultIO): Promise<number> {
  const timeoutMs = durationFlag('timeout', flags.timeout, io);
  const initial = durationFlag('backoff-initial', flags.backoffInitial, io);
  const max = durationFlag('backoff-max', flags.backoffMax, io);
  if (timeoutMs === null || initial === null || max === null) return 2;
  const output = flags.output;
  if (output !== undefined && output !== 'json' && output !== 'yaml') {
    io.stderr.write(`error: unsupported output format ${JSON.stringify(output)}: use -o json or -o yaml\n`);
    return 2;
  }
  if (!(RUNTIMES as readonly string[]).includes(flags.runtime)) {
    io.stderr.write(`error: unknown runtime ${JSON.stringify(flags.runtime)}: use --runtime host (the default) or --runtime sandbox\n`);
    return 2;
  }

  // Load and validate every pod first: an invalid manifest runs nothing.
  const pods: Pod[] = [];
  let invalid = false;
  for (const f of flags.filename) {
    let text: string;
    try {
      text = io.readFile(f);
    } catch (e) {
      io.stderr.write(`error: cannot read ${f}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    const r = loadPods(text, f === '-' ? '<stdin>' : f);
    for (const e of r.errors) {
      io.stderr.write(`error: ${renderManifestError(e)}\n`);
      invalid = true;
    }
    for (const p of r.pods) {
      for (const w of [...p.warnings, ...(p.errors.length === 0 ? securityContextWarnings(p.pod, flags.runtime) : [])]) io.stderr.write(`Warning: ${w}\n`);
      if (p.errors.length > 0) {
        io.stderr.write(`${formatInvalidPod(p.name, p.errors)}\n`);
        invalid = true;
      } else pods.push(p.pod);
    }
  }
  if (invalid) return 2;
  if (pods.length === 0) {
    io.stderr.write('error: no pods found in the given files\n');
    return 2;
  }
  const names = new Set<string>();
  for (const p of pods) {
    const key = `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`;
    if (names.has(key)) {
      io.stderr.write(`error: pod ${key} appears twice; pod names must be unique per namespace\n`);
      return 2;
    }
    names.add(key);
  }

  const core: CoreOptions = {
    backoffInitialMs: initial ?? DEFAULT_CORE_OPTIONS.backoffInitialMs,
    backoffMaxMs: max ?? DEFAULT_CORE_OPTIONS.backoffMaxMs,
  };
  const dataDir = flags.dataDir ?? join(tmpdir(), 'podvisor', `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  let runtime: ContainerRuntime;
  try {
    runtime = await createRuntime({ name: flags.runtime, dataDir, monitor: flags.monitor ?? 'direct', images: flags });
  } catch (e) {
    io.stderr.write(`error: runtime ${flags.runtime} is not available: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }

  const live = output === undefined || flags.watch === true;
  const view: NodeJS.WritableStream & { isTTY?: boolean } = output === undefined ? io.stdout : (io.stderr as NodeJS.WritableStream & { isTTY?: boolean });
  const tty = live && view.isTTY === true && !process.env['NO_COLOR'];
  const p = palette(tty);
  const pv = new PullView(view, view.isTTY === true, p);
  // Fixed column widths (a watch prints rows one by one, so they cannot be measured afterwards).
  const widths = [Math.max(4, ...pods.map((x) => (x.metadata.name ?? '').length)), 5, 24, 12, 3];
  const lastRow = new Map<string, string>();
  const restarts: RestartNotice[] = [];
  const started = Date.now();
  if (live) {
    const header = formatTable([['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']], widths)[0] ?? '';
    pv.write(`${p.bold(header)}\n`);
  }
  const condSeen = new Map<string, string>();
  const metrics = flags.metricsListen !== undefined ? new PodvisorMetrics() : undefined;
  let metricsServer: Server | undefined;
  if (metrics && flags.metricsListen) {
    const i = flags.metricsListen.lastIndexOf(':');
    const host = i > 0 ? flags.metricsListen.slice(0, i) : '127.0.0.1';
    const port = Number(i >= 0 ? flags.metricsListen.slice(i + 1) : flags.metricsListen);
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      void metrics.render().then((m) => res.writeHead(200, { 'Content-Type': m.contentType }).end(m.body));
    });
    const srv = metricsServer;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => resolve());
    }).catch((e: unknown) => {
      io.stderr.write(`error: --metrics-listen ${flags.metricsListen}: ${e instanceof Error ? e.message : String(e)}\n`);
      metricsServer = undefined;
    });
    if (!metricsServer) {
      await runtime.close();
      return 2;
    }
  }

  const supervisor = new Supervisor({
    runtime,
    clock: systemClock,
    core,
    gpus: gpuInventory(flags.gpus),
    config: podConfig(NO_OBJECTS),
    sinks: {
      onStatus: (pod) => {
        metrics?.observePod(pod);
        if (!live) return;
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        const row = podRow(pod, Date.now());
        const sig = row.slice(0, 4).join('|');
        if (lastRow.get(key) !== sig) {
          lastRow.set(key, sig);
          const line = formatTable([row], widths)[0] ?? '';
          pv.write(`${line.replace(row[2] ?? '', colourStatus(p, row[2] ?? ''))}\n`);
        }
        const c = pod.status?.conditions?.find((x) => x.type === 'AllContainersRestarting');
        if (c) {
          const v = `${c.status}${c.reason ? ` (${c.reason})` : ''}`;
          if (condSeen.get(key) !== v) {
            if (condSeen.has(key) || c.status === 'True') pv.write(`${p.dim('         ')} condition  pod/${pod.metadata.name}: AllContainersRestarting=${v}\n`);
            condSeen.set(key, v);
          }
        }
      },
      onEvent: (e: RecordedEvent) => {
        metrics?.observeEvent(e);
        if (live && e.reason !== 'Created') pv.write(`${eventLine(p, e)}\n`);
      },
      onRestart: (n) => {
        metrics?.observeRestart(n);
        restarts.push(n);
        if (live) pv.write(`${restartLine(p, n)}\n`);
      },
      ...(live ? { onPullProgress: (pod: string, c: string, pr: PullProgress) => pv.progress(pod, c, pr) } : {}),
    },
  });

  let outcome: 'done' | 'timeout' | 'interrupted' = 'done';
  let stopRequested: ((why: 'timeout' | 'interrupted') => void) | undefined;
  const stopped = new Promise<'timeout' | 'interrupted'>((resolve) => (stopRequested = resolve));
  const onSignal = (): void => stopRequested?.('interrupted');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = timeoutMs !== undefined ? setTimeout(() => stopRequested?.('timeout'), timeoutMs) : undefined;

  let exitCode = 0;
  try {
    for (const pod of pods) {
      const notice = live ? hostRuntimeNotice(pod, runtime.name) : undefined;
      if (notice !== undefined) pv.write(`${p.dim(notice)}\n`);
      supervisor.add(pod);
    }
    const r = await Promise.race([supervisor.whenAllSettled().then(() => 'done' as const), stopped]);
    outcome = r;
    if (r !== 'done') {
      if (live) pv.write(`${p.yellow(r === 'timeout' ? `timeout after ${flags.timeout}: terminating pods gracefully` : 'interrupted: terminating pods gracefully (Ctrl-C again to force)')}\n`);
      if (r === 'interrupted') {
        process.removeListener('SIGINT', onSignal);
        process.once('SIGINT', () => void runtime.close().then(() => process.exit(130)));
      }
      await supervisor.terminateAll();
    }
  } catch (e) {
    if (e instanceof PodRejectedError) {
      io.stderr.write(`error: ${e.message}\n`);
      exitCode = 2;
    } else throw e;
  } finally {
    if (timer) clearTimeout(timer);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    supervisor.dispose();
    await runtime.close();
    if (metricsServer) {
      const srv = metricsServer;
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }
  if (exitCode !== 0) return exitCode;

  const finals: Pod[] = supervisor.all.map((w) => ({ ...w.pod, status: w.status ?? {} }));
  if (output) {
    const obj: Pod | PodList = finals.length === 1 ? (finals[0] as Pod) : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: finals };
    io.stdout.write(output === 'json' ? `${JSON.stringify(obj, null, 2)}\n` : stringify(obj));
  }
  if (live) {
    const byLevel = { container: 0, pod: 0, recreate: 0 };
    for (const n of restarts) byLevel[n.level]++;
    pv.write(`${p.bold('summary')}: ${finals.map((f) => `pod/${f.metadata.name} ${colourStatus(p, f.status?.phase ?? '')}`).join(', ')}; restarts: ${byLevel.container} container, ${byLevel.pod} pod in place, ${byLevel.recreate} re-created; ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${dataDir}\n`);
  }
  if (outcome === 'timeout') return 124;
  if (outcome === 'interrupted') return 130;
  return finals.some((f) => f.status?.phase === 'Failed') ? 1 : 0;
}
