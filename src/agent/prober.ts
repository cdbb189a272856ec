/**
 * Probes of one container instance (spec §2.5): startup first, then liveness and readiness,
 * with the Kubernetes parameters. Each probe is an independent timer chain; results are
 * reported on transitions only (the worker turns them into facts and reconciles).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, Probe } from '../api/types.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { Clock, Timer } from './clock.js';

/** Which probe. */
export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** Result of one probe execution. */
export interface ProbeOutcome {
  ok: boolean;
  output: string;
}

/** What the prober needs from its surroundings. */
export interface ProberDeps {
  runtime: ContainerRuntime;
  clock: Clock;
  container: Container;
  instanceId: string;
  /** Address httpGet/tcpSocket probes use when the probe sets no host (pod IP, or 127.0.0.1). */
  host: string;
  /** A threshold was crossed (startup success/failure, liveness failure, readiness change). */
  onResult(kind: ProbeKind, result: 'success' | 'failure'): void;
  /** Every failed execution (for the `Unhealthy` event). */
  onFailure(kind: ProbeKind, output: string): void;
}

function resolvePort(port: number | string, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  // An IntOrString port given as digits is a number; anything else names a container port.
  if (port !== '' && [...port].every((ch) => ch >= '0' && ch <= '9')) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Runs one probe once. Never throws. */
export async function runProbeOnce(p: Probe, deps: Pick<ProberDeps, 'runtime' | 'container' | 'instanceId' | 'host'>): Promise<ProbeOutcome> {
  const timeoutMs = Math.max(1, p.timeoutSeconds ?? 1) * 1000;
  try {
    if (p.exec) {
      const r = await deps.runtime.exec(deps.instanceId, p.exec.command ?? [], { timeoutMs });
      if (r.timedOut) return { ok: false, output: `command timed out after ${timeoutMs / 1000}s` };
      return { ok: r.exitCode === 0, output: r.output.trim() };
    }
    if (p.httpGet) {
      const g = p.httpGet;
      const port = resolvePort(g.port, deps.container);
      if (port === undefined) return { ok: false, output: `unknown port ${String(g.port)}` };
      const host = g.host ?? deps.host;
      const scheme = (g.scheme ?? 'HTTP').toLowerCase();
      const path = g.path ?? '/';
      const url = `${scheme}://${host}:${port}${path}`;
      return await new Promise<ProbeOutcome>((resolve) => {
        const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.36' };
        for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
        const mod = scheme === 'https' ? https : http;
        const req = mod.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
          const code = res.statusCode ?? 0;
          res.resume();
          resolve(code >= 200 && code < 400 ? { ok: true, output: '' } : { ok: false, output: `HTTP probe failed with statuscode: ${code}` });
        });
        req.on('timeout', () => {
          req.destroy();
          resolve({ ok: false, output: `Get "${url}": context deadline exceeded` });
        });
        req.on('error', (e) => resolve({ ok: false, output: `Get "${url}": ${e.message}` }));
      });
    }
    if (p.tcpSocket) {
      const port = resolvePort(p.tcpSocket.port, deps.container);
      if (port === undefined) return { ok: false, output: `unknown port ${String(p.tcpSocket.port)}` };
      const host = p.tcpSocket.host ?? deps.host;
      return await new Promise<ProbeOutcome>((resolve) => {
        const s = net.connect({ host, port });
        const t = setTimeout(() => {
          s.destroy();
          resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
        }, timeoutMs);
        s.once('connect', () => {
          clearTimeout(t);
          s.destroy();
          resolve({ ok: true, output: '' });
        });
        s.once('error', (e) => {
          clearTimeout(t);
          resolve({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` });
        });
      });
    }
    return { ok: false, output: 'probe has no handler' };
  } catch (e) {
    return { ok: false, output: e instanceof Error ? e.message : String(e) };
  }
}

/** One probe's timer chain. */
class ProbeLoop {
  private timer: Timer | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private reported: 'success' | 'failure' | undefined;

  constructor(
    private readonly kind: ProbeKind,
    private readonly probe: Probe,
    private readonly deps: ProberDeps,
  ) {}

  start(): void {
    const delay = (this.probe.initialDelaySeconds ?? 0) * 1000;
    this.schedule(this.deps.clock.now() + delay);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.at(at, () => void this.tick());
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const started = this.deps.clock.now();
    const r = await runProbeOnce(this.probe, this.deps);
    if (this.stopped) return;
    const p = this.probe;
    if (r.ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
      this.deps.onFailure(this.kind, r.output);
    }
    const successThreshold = this.kind === 'readiness' ? (p.successThreshold ?? 1) : 1;
    const failureThreshold = p.failureThreshold ?? 3;
    if (this.successes >= successThreshold && this.reported !== 'success') {
      this.reported = 'success';
      this.deps.onResult(this.kind, 'success');
      if (this.kind === 'startup') return this.stop();
    } else if (this.failures >= failureThreshold && this.reported !== 'failure') {
      this.reported = 'failure';
      this.deps.onResult(this.kind, 'failure');
      if (this.kind !== 'readiness') return this.stop();
    }
    this.schedule(started + (p.periodSeconds ?? 10) * 1000);
  }
}

/**
 * All probes of one instance. Startup gates liveness and readiness (P1); `stop()` ends every
 * probe (P6, P7: removed instances and terminating pods are not probed).
 */
export class InstanceProber {
  private loops: ProbeLoop[] = [];
  private stopped = false;

  constructor(private readonly deps: ProberDeps) {}

  /**
   * Starts probing; returns false when the container has no probe at all. `started`: the
   * instance already passed its startup probe (re-adopted after a podvisor restart, as the
   * kubelet does not probe a started container's startup again): liveness and readiness start
   * at once.
   */
  start(opts: { started?: boolean } = {}): boolean {
    const c = this.deps.container;
    if (!c.startupProbe && !c.livenessProbe && !c.readinessProbe) return false;
    if (c.startupProbe && opts.started !== true) {
      const deps: ProberDeps = {
        ...this.deps,
        onResult: (kind, result) => {
          this.deps.onResult(kind, result);
          if (result === 'success') this.startMain();
        },
      };
      this.add(new ProbeLoop('startup', c.startupProbe, deps));
    } else {
      this.startMain();
    }
    return true;
  }

  private startMain(): void {
    const c = this.deps.container;
    if (c.livenessProbe) this.add(new ProbeLoop('liveness', c.livenessProbe, this.deps));
    if (c.readinessProbe) this.add(new ProbeLoop('readiness', c.readinessProbe, this.deps));
  }

  private add(l: ProbeLoop): void {
    if (this.stopped) return;
    this.loops.push(l);
    l.start();
  }

  /** Stops every probe of the instance. */
  stop(): void {
    this.stopped = true;
    for (const l of this.loops) l.stop();
  }
}
