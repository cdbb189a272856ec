/**
 * Test harness for the pure core: a pod builder and a simulator that plays the agent's part
 * (a recording fake runtime with a fake clock). Fakes live only here, in tests of the core.
 */
import type { Container, Pod, PodStatus } from '../../src/api/types.js';
import {
  recordCreated, recordExited, recordProbe, recordSandboxLost, recordSandboxReady,
  recordStarted, recordStartFailed, recordUnknown, recordDeletion, recoverAfterRestart,
} from '../../src/core/facts.js';
import { newPodState, type PodState } from '../../src/core/model.js';
import {
  reconcile, requestContainerRestart, requestPodRestart, type Action, type ClosedReset, type CoreOptions, type PodEvent,
  type ReconcileResult,
} from '../../src/core/plan/index.js';

/** Shorthand rule builders matching the spec's notation R(In,[42]) and RA(In,[42]). */
export const R = (operator: 'In' | 'NotIn', values: number[]) => ({ action: 'Restart' as const, exitCodes: { operator, values } });
export const RA = (operator: 'In' | 'NotIn', values: number[]) => ({ action: 'RestartAllContainers' as const, exitCodes: { operator, values } });

/** A container with a harmless command. */
export function ctr(name: string, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox:1.36', command: ['sleep', '3600'], ...extra };
}

export interface PodOpts {
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  init?: Container[];
  containers: Container[];
  ephemeral?: Container[];
  annotations?: Record<string, string>;
  grace?: number;
  activeDeadlineSeconds?: number;
}

/** A defaulted pod. */
export function mkPod(o: PodOpts): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'uid-1' },
    spec: {
      restartPolicy: o.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: o.grace ?? 30,
      containers: o.containers,
    },
  };
  if (o.init) pod.spec.initContainers = o.init;
  if (o.ephemeral) pod.spec.ephemeralContainers = o.ephemeral;
  if (o.annotations) pod.metadata.annotations = o.annotations;
  if (o.activeDeadlineSeconds !== undefined) pod.spec.activeDeadlineSeconds = o.activeDeadlineSeconds;
  return pod;
}

/** Base pod B of §9: c:[foo1,foo2,foo3]. */
export const B = (restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always', mut: (c: Container[]) => void = () => {}): Pod => {
  const cs = [ctr('foo1'), ctr('foo2'), ctr('foo3')];
  mut(cs);
  return mkPod({ restartPolicy, containers: cs });
};

/** Bi of §9: B plus i:[init1,init2,init3]. */
export const Bi = (restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always'): Pod =>
  mkPod({ restartPolicy, init: [ctr('init1'), ctr('init2'), ctr('init3')], containers: [ctr('foo1'), ctr('foo2'), ctr('foo3')] });

const probe = { exec: { command: ['true'] }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

/** Bs of §9: B plus sidecars r1..r3 (r2, r3 with liveness and startup probes). */
export const Bs = (restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always'): Pod =>
  mkPod({
    restartPolicy,
    init: [
      ctr('r1', { restartPolicy: 'Always' }),
      ctr('r2', { restartPolicy: 'Always', livenessProbe: probe, startupProbe: probe }),
      ctr('r3', { restartPolicy: 'Always', livenessProbe: probe, startupProbe: probe }),
    ],
    containers: [ctr('foo1'), ctr('foo2'), ctr('foo3')],
  });

export const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

/** D3: the `lastState.terminated` of every container a reset removed (no times, no containerID). */
export const RESET_LAST_STATE = { exitCode: 137, reason: 'RestartingAllContainers', message: 'The container is removed because RestartAllContainers in place' };
/** D3: the waiting state of a container removed by a reset, until it runs again. */
export const RESET_WAITING = { reason: 'RestartingAllContainers', message: 'The container is removed because RestartAllContainers in place' };

/** What the fake runtime does with a kill: the exit code the process reports. */
export type KillBehaviour = 'auto' | 'manual';

/**
 * Simulator: holds the pod, its state and a fake clock; `sync()` reconciles and plays the
 * actions like a well-behaved agent (starts succeed at once; kills end the process with 137
 * after SIGKILL, 143 after SIGTERM), until nothing more happens.
 */
export class Sim {
  pod: Pod;
  state: PodState;
  now: number;
  options: CoreOptions;
  actions: Action[] = [];
  events: PodEvent[] = [];
  status!: PodStatus;
  /** Every status published, in order. */
  history: PodStatus[] = [];
  wakeAt: number | undefined;
  /** Every start in order (container names). */
  starts: string[] = [];
  /** Containers whose next start fails before the process runs (reason, message), once each. */
  readonly failNextStart = new Map<string, { reason: string; message: string }>();
  /** Every kill in order: container name and whether it was SIGTERM first. */
  kills: { container: string; sigterm: boolean; preStop: boolean; cause: string }[] = [];
  removes: string[] = [];
  /** Every reset record the core closed, in order (what the agent turns into restart records). */
  closedResets: ClosedReset[] = [];
  /** Containers whose processes ignore SIGTERM (exit only at SIGKILL). */
  ignoreTerm = new Set<string>();
  /** Exit code a container reports on SIGTERM (default 143). */
  termExit = new Map<string, number>();
  /** When false, kills are recorded but the process does not exit by itself. */
  autoExitOnKill = true;
  private seq = 0;

  constructor(pod: Pod, options: Partial<CoreOptions> = {}) {
    this.pod = pod;
    this.now = T0;
    this.options = { backoffInitialMs: 10_000, backoffMaxMs: 300_000, ...options };
    this.state = newPodState(pod.metadata.uid ?? 'uid-1', this.now);
  }

  /** One reconcile, without playing its actions. */
  reconcileOnce(): ReconcileResult {
    const r = reconcile({ pod: this.pod, state: this.state, now: this.now, options: this.options });
    this.state = r.state;
    this.actions.push(...r.actions);
    this.events.push(...r.events);
    this.status = r.status;
    this.history.push(r.status);
    this.wakeAt = r.wakeAt;
    if (r.resetClosed) this.closedResets.push(r.resetClosed);
    return r;
  }

  /** Reconcile and play actions until quiescent (bounded). */
  sync(max = 50): this {
    for (let i = 0; i < max; i++) {
      const r = this.reconcileOnce();
      if (r.actions.length === 0 && !r.requeue) return this;
      for (const a of r.actions) this.play(a);
    }
    throw new Error('sync did not settle');
  }

  /** Plays one action as the fake runtime would. */
  play(a: Action): void {
    switch (a.type) {
      case 'createSandbox':
        this.state = recordSandboxReady(this.state, this.now);
        break;
      case 'start': {
        this.starts.push(a.container);
        const fail = this.failNextStart.get(a.container);
        if (fail) {
          this.failNextStart.delete(a.container);
          this.state = recordStartFailed(this.state, a.container, fail.reason, fail.message, this.now);
          break;
        }
        const id = `host://${a.container}-${++this.seq}`;
        const spec = this.spec(a.container);
        this.state = recordCreated(this.state, a.container, id, this.now, undefined, spec?.image ?? '');
        this.state = recordStarted(this.state, a.container, id, this.now, spec?.startupProbe !== undefined, spec?.readinessProbe !== undefined);
        break;
      }
      case 'kill': {
        this.kills.push({ container: a.container, sigterm: a.sigterm, preStop: a.preStop, cause: a.cause });
        if (!this.autoExitOnKill) break;
        const code = a.sigterm && !this.ignoreTerm.has(a.container) ? (this.termExit.get(a.container) ?? 143) : 137;
        this.state = recordExited(this.state, a.container, a.instanceId, { exitCode: code, finishedAt: this.now });
        break;
      }
      case 'remove':
        this.removes.push(a.container);
        break;
      default:
        break;
    }
  }

  spec(name: string): Container | undefined {
    return [...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers, ...(this.pod.spec.ephemeralContainers ?? [])].find((c) => c.name === name);
  }

  id(name: string): string {
    return this.state.containers[name]?.instance?.id ?? '';
  }

  /** The process of `name` exits with `code` now. */
  exit(name: string, code: number, opts: { oom?: boolean } = {}): this {
    const exit: { exitCode: number; finishedAt: number; oomKilled?: boolean } = { exitCode: code, finishedAt: this.now };
    if (opts.oom) exit.oomKilled = true;
    this.state = recordExited(this.state, name, this.id(name), exit);
    return this;
  }

  unknown(name: string, afterRestart = false): this {
    this.state = recordUnknown(this.state, name, this.id(name), afterRestart);
    return this;
  }

  /** Forces the current instance of `name` into the `created` (never started) state. */
  setCreated(name: string): this {
    const inst = this.state.containers[name]?.instance;
    if (!inst) throw new Error(`no instance for ${name}`);
    inst.phase = 'created';
    delete inst.startedAt;
    inst.started = false;
    inst.ready = false;
    return this;
  }

  /** Injects a running instance (ephemeral containers have no start path in the core). */
  inject(name: string, kind: 'ephemeral' | 'regular' = 'ephemeral'): this {
    const id = `host://${name}-${++this.seq}`;
    this.state.containers[name] = {
      name, kind, restartCount: 0, everRan: true,
      instance: { id, phase: 'running', createdAt: this.now, startedAt: this.now, started: true, ready: true },
    };
    return this;
  }

  /** Simulates a podvisor crash and restart: the durable state goes through JSON. */
  restartPodvisor(): this {
    this.state = recoverAfterRestart(JSON.parse(JSON.stringify(this.state)) as PodState);
    return this;
  }

  /** Every waiting reason published so far for `name`. */
  waitingReasons(name: string): string[] {
    const out: string[] = [];
    for (const st of this.history) {
      const all = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])];
      const r = all.find((x) => x.name === name)?.state.waiting?.reason;
      if (r !== undefined && out[out.length - 1] !== r) out.push(r);
    }
    return out;
  }

  /** Distinct phases published so far, in order. */
  phases(): string[] {
    const out: string[] = [];
    for (const st of this.history) if (out[out.length - 1] !== st.phase) out.push(st.phase ?? '');
    return out;
  }

  /** Event reasons recorded so far. */
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  probe(name: string, kind: 'liveness' | 'readiness' | 'startup', result: 'success' | 'failure'): this {
    this.state = recordProbe(this.state, name, this.id(name), kind, result);
    return this;
  }

  sandboxLost(): this {
    this.state = recordSandboxLost(this.state);
    return this;
  }

  delete(graceSeconds?: number): this {
    this.state = recordDeletion(this.state, this.now, graceSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30);
    return this;
  }

  restartPod(): ReturnType<typeof requestPodRestart> {
    const r = requestPodRestart(this.pod, this.state, this.now);
    if ('state' in r) {
      this.state = r.state;
      this.events.push(...r.events);
    }
    return r;
  }

  restartContainer(name: string): ReturnType<typeof requestContainerRestart> {
    const r = requestContainerRestart(this.pod, this.state, name, this.now);
    if ('state' in r) this.state = r.state;
    return r;
  }

  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  /** Advance the clock to the next wake-up and sync. */
  fireTimer(): this {
    if (this.wakeAt === undefined) throw new Error('no timer armed');
    this.now = this.wakeAt;
    return this.sync();
  }

  cs(name: string) {
    const all = [...(this.status.initContainerStatuses ?? []), ...(this.status.containerStatuses ?? []), ...(this.status.ephemeralContainerStatuses ?? [])];
    const st = all.find((s) => s.name === name);
    if (!st) throw new Error(`no status for ${name}`);
    return st;
  }

  cond(type: string) {
    return this.status.conditions?.find((c) => c.type === type);
  }

  /** Clears the recorded actions/starts/kills/events (to look at the next step only). */
  mark(): this {
    this.actions = [];
    this.events = [];
    this.starts = [];
    this.kills = [];
    this.removes = [];
    return this;
  }
}
