/**
 * `podvisor run -f FILE`: runs every pod of the files on this machine and supervises them
 * until each is terminal, the timeout expires, the user interrupts, or a pod turns out never to
 * be able to start (graceful termination first). The files' Namespaces, ConfigMaps and Secrets
 * (a bundle, as applied to a cluster) are what the pods' references resolve to: a run has no
 * other objects, and they never change while it lasts.
 *
 * Exit code: 2 invalid manifest, or a pod that can never start because it needs a ConfigMap,
 * Secret or key the files do not have; 124 timeout, 130 interrupted, 1 a pod Failed, else 0.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatInvalidPod, parseDurationFlag, renderManifestError } from '../api/index.js';
import { formatInvalidObject, loadManifests, type LoadedObject } from '../api/load.js';
import type { ConfigMap } from '../api/config-objects.js';
import type { Secret } from '../api/secret.js';
import type { Container, Pod, PodList } from '../api/types.js';
import type { ConfigLookups } from '../core/config-refs.js';
import { systemClock } from '../agent/clock.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';
import { PodRejectedError, Supervisor } from '../agent/supervisor.js';
import { createServer, type Server } from 'node:http';
import { DEFAULT_CORE_OPTIONS, type CoreOptions } from '../core/plan/index.js';
import { createRuntime, gpuInventory, podConfig, RUNTIMES } from './node-setup.js';
import type { ImageFlags } from './images.js';
import { hostRuntimeNotice, PullView } from './pull-view.js';
import { securityContextWarnings } from '../api/security-warnings.js';
import type { PullProgress } from '../runtime/types.js';
import type { ContainerRuntime } from '../runtime/types.js';
import { colourStatus, eventLine, formatTable, palette, podRow, restartLine } from './view.js';
import { renderReportHtml } from '../view/report.js';
import { Incarnations, ReportFile } from './report-pods.js';

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
  /** `--report FILE.html`: write the restart timeline of every pod there when the run ends. */
  report?: string;
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

  // Load and validate every object first: an invalid manifest runs nothing.
  const pods: Pod[] = [];
  const bundle = new BundleObjects();
  let invalid = false;
  for (const f of flags.filename) {
    let text: string;
    try {
      text = io.readFile(f);
    } catch (e) {
      io.stderr.write(`error: cannot read ${f}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    const r = loadManifests(text, f === '-' ? '<stdin>' : f);
    for (const e of r.errors) {
      io.stderr.write(`error: ${renderManifestError(e)}\n`);
      invalid = true;
    }
    for (const o of r.objects) {
      for (const w of o.warnings) io.stderr.write(`Warning: ${w}\n`);
      if (o.errors.length > 0) {
        io.stderr.write(`${formatInvalidObject(o.kind, o.name, o.errors)}\n`);
        invalid = true;
        continue;
      }
      const twice = bundle.add(o);
      if (twice !== undefined) {
        io.stderr.write(`error: ${twice}\n`);
        return 2;
      }
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
  // Fixed column widths (a watch prints rows one by one, so they cannot be measured afterwards);
  // STATUS fits CreateContainerConfigError.
  const widths = [Math.max(4, ...pods.map((x) => (x.metadata.name ?? '').length)), 5, 26, 12, 3];
  const lastRow = new Map<string, string>();
  const restarts: RestartNotice[] = [];
  const started = Date.now();
  if (live) {
    const header = formatTable([['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']], widths)[0] ?? '';
    pv.write(`${p.bold(header)}\n`);
  }
  const condSeen = new Map<string, string>();
  // prom-client is loaded only when metrics are asked for.
  const metrics = flags.metricsListen !== undefined ? new (await import('../agent/metrics.js')).PodvisorMetrics() : undefined;
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

  const reportPods = new Incarnations();
  const report = flags.report === undefined ? undefined : new ReportFile(
    flags.report,
    () => renderReportHtml({ pods: reportPods.byName(restarts), now: Date.now(), command: `podvisor run ${flags.filename.map((f) => `-f ${f}`).join(' ')}` }),
    (e) => io.stderr.write(`warning: cannot write the report to ${flags.report ?? ''}: ${e.message}; the run goes on, and the report is tried again at the next change and at its end\n`),
  );
  let stopRequested: ((why: StopReason) => void) | undefined;
  const stopped = new Promise<StopReason>((resolve) => (stopRequested = resolve));
  /** The first pod that turned out never to be able to start (the run then ends). */
  let unstartable: Unstartable | undefined;
  const lookups = bundle.lookups();
  const supervisor = new Supervisor({
    runtime,
    clock: systemClock,
    core,
    gpus: gpuInventory(flags.gpus),
    config: podConfig(lookups),
    sinks: {
      onStatus: (pod, state) => {
        metrics?.observePod(pod);
        if (report) {
          reportPods.see(pod, state);
          report.changed();
        }
        if (unstartable === undefined) {
          unstartable = unstartableReason(pod, lookups);
          if (unstartable !== undefined) stopRequested?.('unstartable');
        }
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
        report?.changed();
        if (live) pv.write(`${restartLine(p, n)}\n`);
      },
      ...(live ? { onPullProgress: (pod: string, c: string, pr: PullProgress) => pv.progress(pod, c, pr) } : {}),
    },
  });

  let outcome: 'done' | StopReason = 'done';
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
      const why = r === 'timeout' ? `timeout after ${flags.timeout}` : r === 'unstartable' ? `pod/${unstartable?.pod ?? ''} can never start` : 'interrupted';
      if (live) pv.write(`${p.yellow(`${why}: terminating pods gracefully${r === 'interrupted' ? ' (Ctrl-C again to force)' : ''}`)}\n`);
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
  if (report) {
    for (const f of finals) reportPods.see(f);
    const failed = report.flush();
    if (failed) io.stderr.write(`error: cannot write the report to ${flags.report ?? ''}: ${failed.message}; pass a writable path to --report (the run itself ended as shown)\n`);
    else if (live) pv.write(`${p.dim(`report: ${flags.report ?? ''}`)}\n`);
  }
  if (live) {
    const byLevel = { container: 0, pod: 0, recreate: 0 };
    for (const n of restarts) byLevel[n.level]++;
    pv.write(`${p.bold('summary')}: ${finals.map((f) => `pod/${f.metadata.name} ${colourStatus(p, f.status?.phase ?? '')}`).join(', ')}; restarts: ${byLevel.container} container, ${byLevel.pod} pod in place, ${byLevel.recreate} re-created; ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${dataDir}\n`);
  }
  if (outcome === 'unstartable') {
    io.stderr.write(`error: ${unstartable?.message ?? 'a pod can never start'}\n`);
    return 2;
  }
  if (outcome === 'timeout') return 124;
  if (outcome === 'interrupted') return 130;
  return finals.some((f) => f.status?.phase === 'Failed') ? 1 : 0;
}

/** Why a run stops before its pods settled. */
type StopReason = 'timeout' | 'interrupted' | 'unstartable';

/**
 * The Namespaces, ConfigMaps and Secrets of a run's files: the only objects its pods' references
 * resolve to. A Namespace is accepted and nothing more (a pod's namespace needs no object here).
 */
export class BundleObjects {
  private readonly configMaps = new Map<string, ConfigMap>();
  private readonly secrets = new Map<string, Secret>();
  private readonly namespaces = new Set<string>();

  /**
   * Adds a valid object; returns the error when one of that kind and name (in that namespace)
   * is already there. An object with only `generateName` is ignored: no reference can name it.
   */
  add(o: LoadedObject): string | undefined {
    const name = o.object.metadata.name ?? '';
    if (name === '') return undefined;
    if (o.kind === 'Namespace') {
      if (this.namespaces.has(name)) return `namespace ${name} appears twice; names must be unique`;
      this.namespaces.add(name);
      return undefined;
    }
    const key = `${o.object.metadata.namespace ?? 'default'}/${name}`;
    const twice = `${o.kind.toLowerCase()} ${key} appears twice; names must be unique per namespace`;
    if (o.kind === 'ConfigMap') {
      if (this.configMaps.has(key)) return twice;
      this.configMaps.set(key, o.object);
    } else {
      if (this.secrets.has(key)) return twice;
      this.secrets.set(key, o.object);
    }
    return undefined;
  }

  /** The lookups of the pods' env and volumes (Secrets in their stored form: `data` base64). */
  lookups(): ConfigLookups {
    return {
      configMap: (ns, name) => this.configMaps.get(`${ns || 'default'}/${name}`),
      secret: (ns, name) => this.secrets.get(`${ns || 'default'}/${name}`),
    };
  }
}

const hasKey = (m: Readonly<Record<string, string>> | undefined, k: string): boolean => m !== undefined && Object.prototype.hasOwnProperty.call(m, k);

/**
 * The references of `container` (a member of `pod`) that `lookups` cannot satisfy and that are
 * not `optional`, as the kubelet reads them: `envFrom` objects; `env` ConfigMap and Secret key
 * references (object, then key; a ConfigMap's `data` only); the ConfigMaps and Secrets of the
 * configMap, secret and projected volumes it mounts, and the keys their `items` list. Each as
 * `ConfigMap "cfg"` or `key "k" of Secret "s"`, in that order, once. Pure.
 */
export function missingReferences(pod: Pod, container: Container, lookups: ConfigLookups): string[] {
  const ns = pod.metadata.namespace || 'default';
  const out: string[] = [];
  const miss = (what: string): void => {
    if (!out.includes(what)) out.push(what);
  };
  type Ref = { kind: 'ConfigMap' | 'Secret'; name: string; keys: readonly string[]; optional: boolean; envOnly?: boolean };
  const check = (r: Ref): void => {
    if (r.optional) return;
    const label = `${r.kind} ${JSON.stringify(r.name)}`;
    const cm = r.kind === 'ConfigMap' ? lookups.configMap(ns, r.name) : undefined;
    const secret = r.kind === 'Secret' ? lookups.secret(ns, r.name) : undefined;
    if (!cm && !secret) {
      miss(label);
      return;
    }
    for (const k of r.keys) {
      const found = cm ? hasKey(cm.data, k) || (!r.envOnly && hasKey(cm.binaryData, k)) : hasKey(secret?.data, k);
      if (!found) miss(`key ${JSON.stringify(k)} of ${label}`);
    }
  };
  const keysOf = (items: readonly { key?: string }[] | undefined): string[] => (items ?? []).map((i) => i.key ?? '');
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) check({ kind: 'ConfigMap', name: from.configMapRef.name ?? '', keys: [], optional: from.configMapRef.optional === true });
    else if (from.secretRef) check({ kind: 'Secret', name: from.secretRef.name ?? '', keys: [], optional: from.secretRef.optional === true });
  }
  for (const ev of container.env ?? []) {
    if ((ev.value ?? '') !== '') continue;
    const cmRef = ev.valueFrom?.configMapKeyRef;
    const secretRef = ev.valueFrom?.secretKeyRef;
    if (cmRef) check({ kind: 'ConfigMap', name: cmRef.name ?? '', keys: [cmRef.key ?? ''], optional: cmRef.optional === true, envOnly: true });
    else if (secretRef) check({ kind: 'Secret', name: secretRef.name ?? '', keys: [secretRef.key ?? ''], optional: secretRef.optional === true });
  }
  const mounted = new Set((container.volumeMounts ?? []).map((m) => m.name));
  for (const v of pod.spec.volumes ?? []) {
    if (!mounted.has(v.name)) continue;
    if (v.configMap) check({ kind: 'ConfigMap', name: v.configMap.name ?? '', keys: keysOf(v.configMap.items), optional: v.configMap.optional === true });
    else if (v.secret) check({ kind: 'Secret', name: v.secret.secretName ?? '', keys: keysOf(v.secret.items), optional: v.secret.optional === true });
    for (const src of v.projected?.sources ?? []) {
      if (src.configMap) check({ kind: 'ConfigMap', name: src.configMap.name ?? '', keys: keysOf(src.configMap.items), optional: src.configMap.optional === true });
      else if (src.secret) check({ kind: 'Secret', name: src.secret.name ?? '', keys: keysOf(src.secret.items), optional: src.secret.optional === true });
    }
  }
  return out;
}

/** A pod that can never start in a run: its name, and the one-line error that ends the run. */
export interface Unstartable {
  pod: string;
  message: string;
}

/**
 * Why `pod` can never start in this run, or undefined: a container of it waits after its first
 * attempt (`CreateContainerConfigError`, or `ContainerCreating` with the message of a volume
 * that could not be set up) and needs objects or keys the run does not have
 * ({@link missingReferences}); a run's objects never change, so it would wait forever. One
 * line: the pod, the container, what is missing, and the kubelet's reason and message.
 */
export function unstartableReason(pod: Pod, lookups: ConfigLookups): Unstartable | undefined {
  const specs = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  for (const st of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const w = st.state.waiting;
    if (!w || !(w.reason === 'CreateContainerConfigError' || (w.reason === 'ContainerCreating' && (w.message ?? '') !== ''))) continue;
    const c = specs.find((x) => x.name === st.name);
    const missing = c ? missingReferences(pod, c, lookups) : [];
    if (missing.length === 0) continue;
    const key = `${pod.metadata.namespace || 'default'}/${pod.metadata.name ?? ''}`;
    const message = `pod ${key} can never start: container ${JSON.stringify(st.name)} needs ${missing.join(' and ')}, which the given files do not have (${w.reason}: ${w.message ?? ''})`;
    return { pod: pod.metadata.name ?? '', message };
  }
  return undefined;
}
