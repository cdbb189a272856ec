/**
 * The durable state podvisor keeps for one pod, and the facts the agent records into it.
 *
 * The state is plain JSON (it is persisted as is, C1). The agent never edits it directly: it
 * records facts reported by the runtime and the prober through the `record*` functions here,
 * and asks {@link ../core/plan.ts reconcile} what to do next. Every function is pure and returns a
 * new state; times are epoch milliseconds passed in by the caller.
 */
import type { PodPhase } from '../api/types.js';
import type { BackoffEntry } from './backoff.js';
import type { ContainerKind } from './rules.js';

/** Why podvisor killed an instance on its own initiative (X2, C4), or a postStart failure. */
export type KillCause =
  | 'reset'
  | 'deletion'
  | 'stop'
  | 'manual'
  | 'probe'
  | 'unknown'
  | 'definition'
  | 'sandbox'
  | 'postStart';

/** Life cycle of one instance as the core sees it. `creating`: a start was ordered, not yet confirmed. */
export type InstancePhase = 'creating' | 'created' | 'running' | 'exited' | 'unknown';

/** What the reconcile decided for an exited instance (taken once, at the first reconcile after the exit). */
export type InstanceDecision =
  | { kind: 'restart'; counted: boolean; trigger: string; immediate?: boolean }
  | { kind: 'completed' }
  | { kind: 'none' }
  | { kind: 'reset' }
  | { kind: 'absorbed' }
  | { kind: 'escalated'; rung: 'pod' | 'recreate' | 'fail' };

/** A kill podvisor ordered. */
export interface KillRecord {
  cause: KillCause;
  /** The kill action has been handed to the agent (a recorded but unordered kill is ordered by the next reconcile). */
  ordered: boolean;
  at: number;
  /** §2.5 P2/P4: the restart decided at kill time (probe kills); manual and unknown kills restart too. */
  restart: boolean;
  message: string;
  /** The instance was also told to run its preStop hook. */
  preStop?: boolean;
  /** SIGTERM has been ordered (deletion ordering of sidecars, §8.1 step 4). */
  terminated?: boolean;
  /** Whether the kill starts with SIGTERM (false: SIGKILL at once). */
  sigterm?: boolean;
  /** Absolute SIGKILL time. */
  sigkillAt?: number;
}

/** One execution of a container. */
export interface Instance {
  /** Runtime container ID as published (`<runtime>://<id>`); empty while `creating`. */
  id: string;
  phase: InstancePhase;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** The runtime reported an out-of-memory kill (D10: reason `OOMKilled`, exit 137). */
  oomKilled?: boolean;
  /** Termination message (`terminationMessagePath` or log tail). */
  message?: string;
  /** Startup probe succeeded (or no startup probe and running). */
  started: boolean;
  /** Readiness (true when running without readiness probe once started). */
  ready: boolean;
  /** Liveness failureThreshold reached (reported by the prober). */
  livenessFailed?: boolean;
  /** Startup failureThreshold reached (reported by the prober). */
  startupFailed?: boolean;
  /** A start error of this instance (`RunContainerError`, `PostStartHookError`, …). */
  startError?: { reason: string; message: string };
  kill?: KillRecord;
  decision?: InstanceDecision;
  /** The state is unknown only because podvisor restarted and could not re-adopt it (§2.4). */
  lostOnRestart?: boolean;
  /** The instance vanished from the runtime while it was running (§7.2). */
  vanished?: boolean;
}

/** `state.terminated` / `lastState.terminated` as published. */
export interface TerminatedRecord {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: number;
  finishedAt?: number;
  containerID?: string;
}

/** A start refused by CrashLoopBackOff (§5.2 step 2), kept until the timer fires. */
export interface BackoffWait {
  delayMs: number;
  retryAt: number;
  /** `finishedAt` the refusal is for (the `BackOff` event is recorded once per refused exit). */
  finishedAt: number;
}

/** Everything podvisor remembers about one container of the pod. */
export interface ContainerRecord {
  name: string;
  kind: ContainerKind;
  restartCount: number;
  /** The newest instance that still exists in the runtime (or is being created). */
  instance?: Instance;
  /** The previous instance's terminated record (`lastState`), or the one kept by a reset (§4.4 R3). */
  last?: TerminatedRecord;
  /** The instance was removed by a reset and no new instance exists yet (§4.4 R4). */
  removedByReset?: boolean;
  /** The last instance removed by a reset had not run since (for §6.1's reset exception). */
  lastFromReset?: boolean;
  /** Pending CrashLoopBackOff refusal. */
  backoffWait?: BackoffWait;
  /** The container has had at least one instance. */
  everRan?: boolean;
  /** A new sandbox was created: this container runs again from the start (§2.6 S5). */
  rerun?: boolean;
  /** A manual restart was requested through the API (§2.8) and is not yet ordered. */
  manualRestartAt?: number;
}

/** What started a reset (§4.1). */
export type ResetTrigger =
  | { kind: 'rule'; text: string }
  | { kind: 'api'; text: string; requestedBy?: string }
  | { kind: 'budget'; text: string };

/** The durable record of an in-place restart of all containers (§4.2 BG1). */
export interface ResetRecord {
  startedAt: number;
  phaseBefore: 'Pending' | 'Running';
  /** Latest source `finishedAt`, or the API call time. */
  eventTime: number;
  trigger: ResetTrigger;
  /** Source container names. */
  sources: string[];
  /** Instance IDs killed by this reset (always targets, never rule-evaluated). */
  killed: string[];
  /** `removing` = steps 1-3, `waiting` = step 4 with a pod back-off pending, `restarting` = step 5. */
  step: 'removing' | 'waiting' | 'restarting';
  conditionReason: string;
  conditionMessage: string;
  /** Step 4 refusal (pod-level back-off). */
  backoffWait?: { delayMs: number; retryAt: number };
}

/** Why the pod is being stopped with nothing left to run (§8.2), or re-created / failed by a budget. */
export interface StopRecord {
  reason: 'Finished' | 'RestartBudgetExceeded' | 'DeadlineExceeded' | 'Recreate';
  message?: string;
  at: number;
  /** SIGKILL deadline for every container (at + grace). */
  deadline: number;
}

/** Deletion in progress (§8.1). */
export interface DeletionRecord {
  requestedAt: number;
  deadline: number;
}

/** Published condition bookkeeping: `lastTransitionTime` changes only when the status changes. */
export interface ConditionMemo {
  status: string;
  lastTransitionTime: number;
}

/** The durable per-pod state. */
export interface PodState {
  uid: string;
  /** Acceptance time. */
  acceptedAt: number;
  /** `status.startTime`: when the sandbox was first ready. */
  startTime?: number;
  sandbox: { state: 'none' | 'creating' | 'ready' | 'lost'; attempt: number };
  /** Container records keyed by name (names are unique across kinds). */
  containers: Record<string, ContainerRecord>;
  /** Per-container CrashLoopBackOff entries keyed by container name (C1). */
  backoff: Record<string, BackoffEntry>;
  /** Pod-level back-off for resets (§5.4). */
  podBackoff?: BackoffEntry;
  reset?: ResetRecord;
  /** D2: the pod had a reset through the API or a budget escalation. */
  resetEligible: boolean;
  /** In-place pod restarts so far (exposed to workloads as `PODVISOR_POD_RESTART_COUNT`). */
  resetCount?: number;
  /** `Initialized` has been `True` once (§6.4 rule 5). */
  initializedOnce: boolean;
  /** Init containers run again (after a reset, §4.6, or on a new sandbox, §2.6 S5). */
  reinitializing?: boolean;
  deletion?: DeletionRecord;
  stopping?: StopRecord;
  /** The last published phase (terminal is final, §6.2 line 1). */
  phase: PodPhase;
  /** `status.reason` / `status.message` of a terminal pod (§6.2 line 1a). */
  reason?: string;
  message?: string;
  conditions: Record<string, ConditionMemo>;
  /** Counted restarts (§10.2): per container, and resets of the pod; times in ms. */
  budget: { container: Record<string, number[]>; pod: number[] };
  /** The pod is gone from the runtime (deletion finished, or replaced by a re-creation). */
  finished?: boolean;
  /** GPU device IDs held by this pod instance (kept across restarts in place and podvisor restarts). */
  gpus?: string[];
  /** Not placed yet (e.g. not enough free GPUs, §1.4): no sandbox, `PodScheduled=False`. */
  unschedulable?: { reason: string; message: string };
}

/** A fresh state for a newly accepted pod. */
export function newPodState(uid: string, now: number): PodState {
  return {
    uid,
    acceptedAt: now,
    sandbox: { state: 'none', attempt: 0 },
    containers: {},
    backoff: {},
    resetEligible: false,
    initializedOnce: false,
    phase: 'Pending',
    conditions: {},
    budget: { container: {}, pod: [] },
  };
}

/**
 * Deep copy of plain JSON data (the state is JSON, C1). A restart records several facts, and
 * structuredClone's serializer was the largest part of the exit-to-restart time.
 */
function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = clone((v as Record<string, unknown>)[k]);
  return out as T;
}

function updateInstance(state: PodState, container: string, instanceId: string | undefined, f: (i: Instance, c: ContainerRecord) => void): PodState {
  const s = clone(state);
  const c = s.containers[container];
  const inst = c?.instance;
  if (!c || !inst) return state;
  if (instanceId !== undefined && inst.id !== '' && inst.id !== instanceId) return state;
  f(inst, c);
  return s;
}

/** The sandbox is ready (first time: `startTime`). */
export function recordSandboxReady(state: PodState, now: number): PodState {
  const s = clone(state);
  s.sandbox = { state: 'ready', attempt: state.sandbox.attempt };
  s.startTime ??= now;
  return s;
}

/** The sandbox is gone (§2.6). */
export function recordSandboxLost(state: PodState): PodState {
  const s = clone(state);
  s.sandbox = { state: 'lost', attempt: state.sandbox.attempt };
  return s;
}

/** The runtime created the instance ordered by a `start` action. */
export function recordCreated(state: PodState, container: string, instanceId: string, now: number): PodState {
  return updateInstance(state, container, undefined, (i) => {
    i.id = instanceId;
    if (i.phase === 'creating') i.phase = 'created';
    i.createdAt = now;
  });
}

/** The instance is running. `hasStartupProbe`: `started` waits for the probe (§2.5 P1). */
export function recordStarted(state: PodState, container: string, instanceId: string, startedAt: number, hasStartupProbe: boolean, hasReadinessProbe: boolean): PodState {
  return updateInstance(state, container, instanceId, (i, c) => {
    if (i.phase === 'exited') return;
    i.id = instanceId;
    i.phase = 'running';
    i.startedAt = startedAt;
    i.started = !hasStartupProbe;
    i.ready = !hasStartupProbe && !hasReadinessProbe;
    c.everRan = true;
  });
}

/** The exit of an instance (D10: code, or 128 + signal; `oomKilled` for memory-limit kills). */
export function recordExited(
  state: PodState,
  container: string,
  instanceId: string,
  exit: { exitCode: number; finishedAt: number; oomKilled?: boolean; message?: string },
): PodState {
  return updateInstance(state, container, instanceId, (i, c) => {
    if (i.phase === 'exited') return;
    i.phase = 'exited';
    i.exitCode = exit.exitCode;
    i.finishedAt = exit.finishedAt;
    // `started` is kept: whether the instance had started matters for sidecar ordering (§3.2 I3).
    i.ready = false;
    if (exit.oomKilled) i.oomKilled = true;
    if (exit.message !== undefined) i.message = exit.message;
    c.everRan = true;
  });
}

/** A start that failed before the process ran: an exit with code 128 and a waiting reason (§7.2). */
export function recordStartFailed(state: PodState, container: string, reason: string, message: string, now: number): PodState {
  return updateInstance(state, container, undefined, (i) => {
    i.phase = 'exited';
    i.exitCode = 128;
    i.startedAt ??= now;
    i.finishedAt = now;
    i.startError = { reason, message };
    i.message = message;
  });
}

/** A postStart hook failed: the instance is killed and its exit is ordinary (§3.3). */
export function recordPostStartFailed(state: PodState, container: string, instanceId: string, message: string, now: number): PodState {
  return updateInstance(state, container, instanceId, (i) => {
    i.startError = { reason: 'PostStartHookError', message };
    i.kill ??= { cause: 'postStart', ordered: true, at: now, restart: false, message: 'PostStartHook failed' };
  });
}

/**
 * The runtime cannot tell the instance's state (§2.4). `afterRestart`: the state is unknown
 * only because podvisor restarted and could not re-adopt the instance.
 */
export function recordUnknown(state: PodState, container: string, instanceId: string, afterRestart = false): PodState {
  return updateInstance(state, container, instanceId, (i) => {
    if (i.phase === 'exited') return;
    i.phase = 'unknown';
    if (afterRestart) i.lostOnRestart = true;
  });
}

/**
 * The instance is gone from the runtime without an observed exit (e.g. found missing after a
 * podvisor restart). Published as `ContainerStatusUnknown` (§7.2) and started again, whatever
 * the policy, without rule evaluation (§2.4); a reset's target stays a target.
 */
export function recordVanished(state: PodState, container: string, instanceId: string, now: number): PodState {
  return updateInstance(state, container, instanceId, (i) => {
    if (i.phase === 'exited') return;
    const wasRunning = i.phase === 'running';
    i.phase = 'exited';
    i.exitCode = 137;
    i.finishedAt = now;
    i.vanished = wasRunning;
    i.kill ??= { cause: 'unknown', ordered: true, at: now, restart: true, message: '' };
  });
}

/**
 * After a podvisor restart: kills that were ordered may not have been carried out. Marks them
 * unordered so the next reconcile orders them again (§4.10: reset targets stay targets).
 */
export function recoverAfterRestart(state: PodState): PodState {
  const s = clone(state);
  for (const c of Object.values(s.containers)) {
    const i = c.instance;
    if (i?.kill && i.phase !== 'exited') i.kill.ordered = false;
  }
  return s;
}

/** A probe result for the current instance (§2.5). */
export function recordProbe(
  state: PodState,
  container: string,
  instanceId: string,
  probe: 'liveness' | 'readiness' | 'startup',
  result: 'success' | 'failure',
): PodState {
  return updateInstance(state, container, instanceId, (i) => {
    if (i.phase !== 'running') return;
    if (probe === 'startup') {
      if (result === 'success') {
        if (!i.started) i.started = true;
      } else if (!i.started) i.startupFailed = true;
    } else if (probe === 'liveness') {
      i.livenessFailed = result === 'failure' ? true : i.livenessFailed;
    } else {
      i.ready = result === 'success';
    }
  });
}

/** The terminated record of an exited (or vanished) instance. */
export function terminatedRecordOf(inst: Instance): TerminatedRecord {
  const exitCode = inst.exitCode ?? 137;
  const reason = inst.phase !== 'exited'
    ? 'ContainerStatusUnknown'
    : inst.oomKilled
      ? 'OOMKilled'
      : exitCode === 0
        ? 'Completed'
        : inst.startError && inst.startError.reason !== 'PostStartHookError'
          ? 'StartError'
          : 'Error';
  const rec: TerminatedRecord = { exitCode, reason: inst.vanished ? 'ContainerStatusUnknown' : reason };
  if (inst.vanished) rec.message = 'The container could not be located when the pod was deleted.  The container used to be Running';
  else if (inst.phase !== 'exited') rec.message = 'The container could not be located when the pod was terminated';
  else if (inst.message !== undefined && inst.message !== '') rec.message = inst.message;
  if (inst.startedAt !== undefined) rec.startedAt = inst.startedAt;
  if (inst.finishedAt !== undefined) rec.finishedAt = inst.finishedAt;
  if (inst.id !== '') rec.containerID = inst.id;
  return rec;
}

/** The pod cannot be placed now (§1.4): it waits without sandbox or container statuses. */
export function recordUnschedulable(state: PodState, message: string): PodState {
  return { ...clone(state), unschedulable: { reason: 'Unschedulable', message } };
}

/** The pod has been placed; acceptance continues (§3.1). */
export function recordScheduled(state: PodState): PodState {
  const s = clone(state);
  delete s.unschedulable;
  return s;
}

/** A deletion request (§8.1 step 1). `graceSeconds` overrides `terminationGracePeriodSeconds`. */
export function recordDeletion(state: PodState, now: number, graceSeconds: number): PodState {
  if (state.deletion) {
    // A second delete may only shorten the deadline.
    const deadline = Math.min(state.deletion.deadline, now + graceSeconds * 1000);
    return { ...clone(state), deletion: { requestedAt: state.deletion.requestedAt, deadline } };
  }
  return { ...clone(state), deletion: { requestedAt: now, deadline: now + graceSeconds * 1000 } };
}
