/**
 * The facts the agent observes and records into the durable pod state: the runtime's reports
 * (created, started, exited, unknown, vanished, start failures, the sandbox), probe results,
 * placement and deletion requests. Every function is pure and returns a new state; times are
 * epoch milliseconds passed in by the caller. The planner's own changes are in `transitions.ts`.
 */
import { isCreateError, type ContainerRecord, type Instance, type PodState } from './model.js';

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

/**
 * Creating the sandbox failed (the kubelet's `FailedCreatePodSandBox`): the pod stays `Pending`
 * and the planner retries with back-off. Consecutive failures are counted for the back-off.
 */
export function recordSandboxFailed(state: PodState, message: string, now: number): PodState {
  const s = clone(state);
  const failures = (state.sandbox.failure?.failures ?? 0) + 1;
  s.sandbox = { state: 'failed', attempt: state.sandbox.attempt, failure: { message, at: now, failures } };
  return s;
}

/** The sandbox is gone (§2.6). */
export function recordSandboxLost(state: PodState): PodState {
  const s = clone(state);
  s.sandbox = { state: 'lost', attempt: state.sandbox.attempt };
  return s;
}

/** The runtime created the instance ordered by a `start` action. */
export function recordCreated(state: PodState, container: string, instanceId: string, now: number, image?: { name: string; imageID: string }, specImage?: string): PodState {
  return updateInstance(state, container, undefined, (i) => {
    i.id = instanceId;
    if (image) i.image = { ...image };
    if (specImage !== undefined) i.specImage = specImage;
    if (i.phase === 'creating') i.phase = 'created';
    i.createdAt = now;
  });
}

/**
 * After a podvisor restart: the start of `container` was in flight (its instance `creating`,
 * no ID) and launched nothing the runtime can find. It is created, never started (§2.4): the
 * next reconcile starts it, counted once (when it was first ordered).
 */
export function recordStartNotCarriedOut(state: PodState, container: string): PodState {
  return updateInstance(state, container, '', (i) => {
    if (i.phase === 'creating') i.phase = 'created';
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
    delete c.createFailures;
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
  return updateInstance(state, container, undefined, (i, c) => {
    if (isCreateError(reason)) c.createFailures = (c.createFailures ?? 0) + 1;
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

/** The runtime failed to carry out a kill: it is ordered again after a short delay (§4.4 R5). */
export function recordKillFailed(state: PodState, container: string, instanceId: string, now: number): PodState {
  return updateInstance(state, container, instanceId, (i) => {
    if (!i.kill || i.phase === 'exited') return;
    i.kill.ordered = false;
    i.kill.failedAt = now;
  });
}

/**
 * After a podvisor restart: kills that were ordered may not have been carried out. Marks them
 * unordered so the next reconcile orders them again (§4.10: reset targets stay targets); the
 * same for a re-creation that finished the pod.
 */
export function recoverAfterRestart(state: PodState): PodState {
  const s = clone(state);
  for (const c of Object.values(s.containers)) {
    const i = c.instance;
    if (i?.kill && i.phase !== 'exited') i.kill.ordered = false;
  }
  // A re-creation decided and stored may have been cut short too (its replacement, once made,
  // replaces this record under the pod's name: a record still here is not replaced yet).
  if (s.finished === true && s.stopping?.reason === 'Recreate' && !s.deletion) s.recreatePending = true;
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
