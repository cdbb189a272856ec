/**
 * The planner's own state transitions: every change `core/plan/` makes to the durable pod state
 * goes through one of these named functions (the facts the agent observes go through
 * `model.ts`). Each is pure and returns a new state that shares the untouched parts with the
 * old one (copy on write along the changed path), so states are never mutated in place.
 */
import type { ConditionMemo, ContainerRecord, Instance, InstanceDecision, KillRecord, PodState, ResetRecord, StopRecord } from './model.js';
import type { BackoffEntry } from './backoff.js';
import type { ContainerKind } from './rules.js';

/** The `lastState.terminated` a reset leaves on every container it removed (D3, §4.4 R4). */
export const RESET_REMOVED_RECORD = {
  exitCode: 137,
  reason: 'RestartingAllContainers',
  message: 'The container is removed because RestartAllContainers in place',
} as const;

function omit<T extends object, K extends keyof T>(o: T, ...keys: K[]): Omit<T, K> {
  const out = { ...o };
  for (const k of keys) delete out[k];
  return out;
}

function withContainer(s: PodState, name: string, f: (c: ContainerRecord) => ContainerRecord): PodState {
  const c = s.containers[name];
  if (!c) return s;
  return { ...s, containers: { ...s.containers, [name]: f(c) } };
}

function withInstance(s: PodState, name: string, f: (i: Instance) => Instance): PodState {
  return withContainer(s, name, (c) => (c.instance ? { ...c, instance: f(c.instance) } : c));
}

function mapContainers(s: PodState, f: (c: ContainerRecord) => ContainerRecord): PodState {
  const containers: Record<string, ContainerRecord> = {};
  for (const [k, c] of Object.entries(s.containers)) containers[k] = f(c);
  return { ...s, containers };
}

const clearBackoffWait = (c: ContainerRecord): ContainerRecord => (c.backoffWait ? omit(c, 'backoffWait') : c);

/** Every container of the spec has a record, with its current kind. */
export function recordContainers(s: PodState, refs: readonly { name: string; kind: ContainerKind }[]): PodState {
  if (refs.every((r) => s.containers[r.name]?.kind === r.kind)) return s;
  const containers = { ...s.containers };
  for (const r of refs) {
    const c = containers[r.name];
    containers[r.name] = c ? { ...c, kind: r.kind } : { name: r.name, kind: r.kind, restartCount: 0 };
  }
  return { ...s, containers };
}

/** How {@link recordStartOrdered} counts the new instance (§7.3, §4.8). */
export interface StartCounting {
  /** `lastState` becomes the replaced instance's record (undefined: unchanged). */
  last?: ContainerRecord['last'];
  /** `restartCount` grows by one. */
  count: boolean;
}

/** A start was ordered: the container gets a `creating` instance (RC2/RC3). */
export function recordStartOrdered(s: PodState, name: string, now: number, counting: StartCounting): PodState {
  return withContainer(s, name, (c) => {
    const next: ContainerRecord = omit(c, 'removedByReset', 'lastFromReset', 'backoffWait', 'rerun');
    if (counting.last !== undefined) next.last = counting.last;
    if (counting.count) next.restartCount = c.restartCount + 1;
    next.everRan = true;
    const inst: Instance = { id: '', phase: 'creating', createdAt: now, started: false, ready: false };
    if (c.removedByReset) inst.afterReset = true;
    next.instance = inst;
    return next;
  });
}

/** A start allowed by CrashLoopBackOff advanced the container's (or the pod's) back-off entry. */
export function recordBackoffAdvanced(s: PodState, name: string, entry: BackoffEntry): PodState {
  return { ...s, backoff: { ...s.backoff, [name]: entry } };
}

/** A start refused by CrashLoopBackOff (§5.2 step 2) waits for its timer. */
export function recordBackoffWait(s: PodState, name: string, wait: NonNullable<ContainerRecord['backoffWait']>): PodState {
  return withContainer(s, name, (c) => ({ ...c, backoffWait: wait }));
}

/** A kill was ordered for the current instance of `name`. A reset kill joins the reset's kill list. */
export function recordKillOrdered(s: PodState, name: string, kill: KillRecord): PodState {
  let next = withInstance(s, name, (i) => ({ ...i, kill }));
  const id = s.containers[name]?.instance?.id;
  if (kill.cause === 'reset' && next.reset && id !== undefined) next = { ...next, reset: { ...next.reset, killed: [...next.reset.killed, id] } };
  return next;
}

/** A kill recorded earlier is ordered (again) to the agent (§4.10). */
export function recordKillReissued(s: PodState, name: string): PodState {
  return withInstance(s, name, (i) => (i.kill ? { ...i, kill: { ...i.kill, ordered: true } } : i));
}

/** SIGTERM was sent to a sidecar in the deletion order (§8.1 step 4). */
export function recordSidecarTerminated(s: PodState, name: string): PodState {
  return withInstance(s, name, (i) => (i.kill ? { ...i, kill: { ...i.kill, terminated: true } } : i));
}

/** The reconcile decided what an exited instance leads to (§2.3), once. */
export function recordDecision(s: PodState, name: string, decision: InstanceDecision): PodState {
  return withInstance(s, name, (i) => ({ ...i, decision }));
}

/** A counted container restart at `t` (§10.2); times outside the window are dropped. */
export function recordContainerRestartCounted(s: PodState, name: string, t: number, windowMs: number): PodState {
  const times = (s.budget.container[name] ?? []).filter((x) => x > t - windowMs);
  return { ...s, budget: { ...s.budget, container: { ...s.budget.container, [name]: [...times, t] } } };
}

/** A counted reset at `t` (§10.2). */
export function recordPodRestartCounted(s: PodState, t: number, windowMs: number): PodState {
  return { ...s, budget: { ...s.budget, pod: [...s.budget.pod.filter((x) => x > t - windowMs), t] } };
}

/** §4.2 Step 1: a reset begins. Pending per-container back-off waits are cancelled (BG3). */
export function recordResetBegun(s: PodState, reset: ResetRecord): PodState {
  const next = mapContainers(s, clearBackoffWait);
  next.reset = reset;
  if (reset.trigger.trigger.kind !== 'rule') next.resetEligible = true;
  next.reinitializing = true;
  next.resetCount = (s.resetCount ?? 0) + 1;
  return next;
}

/**
 * §4.4 R3-R4 and D3: the exited instance of `name` is removed by the reset. Its real record goes
 * into the reset record; `lastState` becomes the reset's record; `restartCount` + 1.
 */
export function recordRemovedByReset(s: PodState, name: string, real: NonNullable<ContainerRecord['last']>): PodState {
  let next = withContainer(s, name, (c) => ({
    ...omit(c, 'instance', 'backoffWait'),
    last: { ...RESET_REMOVED_RECORD },
    restartCount: c.restartCount + 1,
    removedByReset: true,
    lastFromReset: true,
  }));
  if (next.reset) next = { ...next, reset: { ...next.reset, removed: [...next.reset.removed, { container: name, record: real }] } };
  return next;
}

/**
 * A created, never started instance of `name` (§2.4) is dropped instead of killed: nothing of it
 * runs. Its start was counted when it was ordered; `owed` (a reset, or a kill that restarts)
 * leaves the container owed a fresh start, as a container removed by a reset is.
 */
export function recordUnstartedDropped(s: PodState, name: string, owed: boolean): PodState {
  return withContainer(s, name, (c) => (owed ? { ...omit(c, 'instance', 'backoffWait'), removedByReset: true } : omit(c, 'instance', 'backoffWait')));
}

/** The reset moves on: Step 4 (`waiting`, with a pending pod-level back-off or not) or Step 5 (`restarting`). */
export function recordResetStep(s: PodState, step: ResetRecord['step'], backoffWait?: ResetRecord['backoffWait']): PodState {
  if (!s.reset) return s;
  const reset: ResetRecord = { ...omit(s.reset, 'backoffWait'), step };
  if (backoffWait) reset.backoffWait = backoffWait;
  return { ...s, reset };
}

/** The pod-level back-off allowed the reset's restart (§5.4). */
export function recordPodBackoffAdvanced(s: PodState, entry: BackoffEntry): PodState {
  return { ...s, podBackoff: entry };
}

/** The reset record is closed (§4.6) or cancelled (§8.1 step 2): the phase hold ends. */
export function recordResetClosed(s: PodState): PodState {
  return s.reset ? omit(s, 'reset') : s;
}

/** Deletion cancels a reset and every pending back-off wait (§8.1 step 2). */
export function recordDeletionTakesOver(s: PodState): PodState {
  return mapContainers(recordResetClosed(s), clearBackoffWait);
}

/** The pod is being stopped with nothing left to run, re-created or failed (§8.2). The first stop wins. */
export function recordStopBegun(s: PodState, stop: StopRecord): PodState {
  if (s.stopping) return s;
  const next = mapContainers(s, clearBackoffWait);
  next.stopping = stop;
  return next;
}

/** A manual restart request was taken up (§2.8). */
export function recordManualRestartTaken(s: PodState, name: string): PodState {
  return withContainer(s, name, (c) => omit(c, 'manualRestartAt'));
}

/** Initialization completed (§3.2 I4). */
export function recordInitialized(s: PodState): PodState {
  if (s.initializedOnce && s.reinitializing !== true) return s;
  return { ...omit(s, 'reinitializing'), initializedOnce: true };
}

/** A sandbox creation is ordered (first, or a retry after a failure). */
export function recordSandboxOrdered(s: PodState, attempt: number): PodState {
  const sandbox = { state: 'creating' as const, attempt };
  return { ...s, sandbox: s.sandbox.failure ? { ...sandbox, failure: s.sandbox.failure } : sandbox };
}

/** The `FailedCreatePodSandBox` event of the current failure was recorded. */
export function recordSandboxFailureReported(s: PodState): PodState {
  const f = s.sandbox.failure;
  return f ? { ...s, sandbox: { ...s.sandbox, failure: { ...f, reported: true } } } : s;
}

/**
 * §2.6 S5: a new sandbox is being created after a loss: init containers and the regular
 * containers in `rerun` run again from the start; the others are not restarted.
 */
export function recordSandboxRecreating(s: PodState, attempt: number, rerun: readonly string[], notRestarted: readonly string[]): PodState {
  let next: PodState = { ...s, sandbox: { state: 'creating', attempt }, reinitializing: true };
  for (const name of rerun) next = withContainer(next, name, (c) => ({ ...c, rerun: true }));
  for (const name of notRestarted) {
    next = withInstance(next, name, (i) => (i.decision ? i : { ...i, decision: { kind: 'none' } }));
  }
  return next;
}

/** The sandbox was released after the pod stopped (§8.2). */
export function recordSandboxReleased(s: PodState): PodState {
  return { ...s, sandbox: { state: 'none', attempt: s.sandbox.attempt } };
}

/** Nothing of this pod instance runs any more and it leaves the runtime (deleted, or replaced). */
export function recordFinished(s: PodState): PodState {
  return { ...s, finished: true };
}

/** A re-creation cut short by a podvisor restart was ordered again. */
export function recordRecreateReissued(s: PodState): PodState {
  const { recreatePending: _, ...rest } = s;
  return rest;
}

/**
 * The status was computed: the phase (and a terminal pod's reason and message) and the
 * conditions' transition times are remembered (§6.4: `lastTransitionTime` changes only when the
 * status does). A terminal pod closes the reset record (§4.6).
 */
export function recordPublished(
  s: PodState,
  published: { phase: PodState['phase']; reason?: string; message?: string; conditions: readonly { type: string; status: string }[] },
  now: number,
): PodState {
  let next: PodState = { ...s, phase: published.phase };
  if (published.phase === 'Succeeded' || published.phase === 'Failed') {
    if (published.reason !== undefined) next.reason = published.reason;
    if (published.message !== undefined) next.message = published.message;
    next = recordResetClosed(next);
  }
  let conditions: Record<string, ConditionMemo> | undefined;
  for (const cond of published.conditions) {
    const prev = s.conditions[cond.type];
    if (prev && prev.status === cond.status) continue;
    conditions ??= { ...s.conditions };
    conditions[cond.type] = { status: cond.status, lastTransitionTime: now };
  }
  if (conditions) next.conditions = conditions;
  return next;
}

/** §2.8: a manual restart of `name` was requested through the API; the next reconcile takes it up. */
export function recordManualRestartRequested(s: PodState, name: string, kind: ContainerKind, now: number): PodState {
  const c = s.containers[name] ?? { name, kind, restartCount: 0 };
  return { ...s, containers: { ...s.containers, [name]: { ...c, manualRestartAt: now } } };
}

/** §4.11: re-creation through the API replaces any stop in progress and cancels a reset. */
export function recordRecreateRequested(s: PodState, stop: StopRecord): PodState {
  const next = mapContainers(recordResetClosed(s), clearBackoffWait);
  next.stopping = stop;
  return next;
}
