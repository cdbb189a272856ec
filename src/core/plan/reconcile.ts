/**
 * The reconcile (§0.1): looks at the pod spec, the durable pod state (which holds the observed
 * instances) and `now`, and returns the new state, the ordered actions the agent must execute,
 * the events to record, the next wake-up time and the published status.
 *
 * It reads like the kubelet's computePodActions + SyncPod (kuberuntime_manager.go): a short
 * sequence of numbered steps, each a pure function that returns what it decided. Idempotent:
 * calling it again with the returned state and no new facts yields no new actions.
 */
import { isCreateError, KILL_RETRY_MS, type PodState } from '../model.js';
import { computePodStatus } from '../status.js';
import {
  recordContainers, recordDeletionTakesOver, recordFinished, recordKillReissued, recordPublished, recordRecreateReissued, recordSandboxReleased,
} from '../transitions.js';
import { driveInit, driveRegulars, handleManualRestart, handleUnknown, nothingLeftToRun } from './containers.js';
import { compileEnv, decide, each, isTerminalPhase, join, keep, andThen, withOutcome, type Decision, type Env, type Outcome } from './decision.js';
import { decideExits } from './exits.js';
import { closeReset, driveReset } from './reset.js';
import { ensureSandbox, handleSandboxLoss } from './sandbox.js';
import { orderStart, tryRestart } from './start.js';
import { beginStop, driveTermination, finishPod } from './termination.js';
import type { Action, ReconcileInput, ReconcileResult } from './types.js';

/** What ends a pod instance that is re-created (§4.11). */
function recreateActions(env: Env): { actions: Action[] } {
  return { actions: [{ type: 'releaseSandbox' }, { type: 'recreatePod', recreations: env.settings.recreations + 1 }] };
}

/** A finished pod's re-creation, cut short by a podvisor restart, is ordered again (§4.10, §4.11). */
function reissueRecreate(env: Env, s: PodState): Decision {
  if (s.recreatePending !== true) return keep(s);
  return decide(recordRecreateReissued(s), recreateActions(env));
}

/** Kills recorded but not (or no longer known to be) ordered are ordered again (§4.10). */
function reissueKills(env: Env, s0: PodState): Decision {
  return each(keep(s0), env.all, (s, ref) => {
    const inst = s.containers[ref.name]?.instance;
    const k = inst?.kill;
    if (!inst || !k || k.ordered || inst.phase === 'exited') return keep(s);
    // A kill the runtime failed to carry out is retried after a short delay, not in a tight loop.
    if (k.failedAt !== undefined && env.now < k.failedAt + KILL_RETRY_MS) return decide(s, { wake: [k.failedAt + KILL_RETRY_MS] });
    return decide(recordKillReissued(s, ref.name), {
      actions: [{
        type: 'kill', container: ref.name, instanceId: inst.id, cause: k.cause, preStop: false,
        sigterm: k.sigterm ?? false, sigkillAt: Math.max(k.sigkillAt ?? env.now, env.now),
      }],
    });
  });
}

/** §8.1: deletion wins over everything; the reset is cancelled; once nothing runs the pod goes. */
function syncDeletion(env: Env, s: PodState): Decision {
  const deletion = s.deletion;
  if (!deletion) return keep(s);
  let d = join(closeReset(s, 'cut'), keep(recordDeletionTakesOver(s)));
  d = andThen(d, (st) => decideExits(env, st));
  const t = driveTermination(env, d.state, deletion.deadline, 'deletion');
  d = join(d, t);
  if (!t.outcome) return d;
  return andThen(d, (st) => decide(recordFinished(st), { actions: [{ type: 'releaseSandbox' }, { type: 'deletePod' }] }));
}

/** What ends the pod before anything runs: a terminal phase (§6.2 line 1), `activeDeadlineSeconds` (§1.4). */
function endIfDue(env: Env, s: PodState): Decision {
  if (s.stopping) return keep(s);
  if (isTerminalPhase(s.phase)) return keep(beginStop(env, s, 'Finished')); // terminal is final: nothing keeps running
  const ads = env.pod.spec.activeDeadlineSeconds;
  if (ads === undefined || s.startTime === undefined) return keep(s);
  const at = s.startTime + ads * 1000;
  if (env.now >= at) return keep(beginStop(env, s, 'DeadlineExceeded', 'Pod was active on the node longer than the specified deadline'));
  return decide(s, { wake: [at] });
}

/**
 * A pod that is not stopping: placement (§1.4), the sandbox (§3.1, §2.6) and the exits (§2.3).
 * The outcome `halt` ends this reconcile: the pod waits (unplaced, sandbox not ready) or a reset
 * began and must be published first (BG1/BG2: the follow-up reconcile continues at once).
 */
function prepare(env: Env, s: PodState): Outcome<'halt' | 'continue'> {
  if (s.unschedulable) return withOutcome(keep(s), 'halt');
  const sandbox = s.sandbox.state;
  if (sandbox === 'none' || sandbox === 'creating' || sandbox === 'failed') return withOutcome(ensureSandbox(env, s), 'halt');
  let d = decideExits(env, s);
  if (sandbox === 'lost') {
    d = andThen(d, (st) => handleSandboxLoss(env, st));
    return withOutcome(d, d.state.stopping ? 'continue' : 'halt');
  }
  if (d.resetBegan && d.state.reset && !d.state.stopping) return withOutcome(d, 'halt');
  return withOutcome(d, 'continue');
}

/** §8.2: a stopping pod is terminated, then its sandbox is released, or it is re-created (§4.11). */
function syncStop(env: Env, s: PodState): Decision {
  const stopping = s.stopping;
  if (!stopping) return keep(s);
  let d = andThen(closeReset(s, 'cut'), (st) => decideExits(env, st));
  const t = driveTermination(env, d.state, stopping.deadline, 'stop');
  d = join(d, t);
  const sandbox = d.state.sandbox.state;
  if (!t.outcome || sandbox === 'none') return d;
  if (stopping.reason === 'Recreate') return andThen(d, (st) => decide(recordFinished(st), recreateActions(env)));
  if (sandbox !== 'ready' && sandbox !== 'lost') return d;
  return andThen(d, (st) => decide(recordSandboxReleased(st), { actions: [{ type: 'releaseSandbox' }] }));
}

/** §3 and reset Step 5: manual restarts, the init sequence, the regular containers, then closing. */
function syncContainers(env: Env, s: PodState): Decision {
  let d = each(keep(s), env.all, (st, ref) => handleManualRestart(env, st, ref));
  // X4: an ephemeral container starts once, as soon as the sandbox is ready (the kubelet starts
  // them before the init containers, so that a pod stuck in init can be debugged), never again;
  // only a creation that failed before its process ran is tried again, with the create-error
  // back-off (§7.2: the kubelet finds no container and starts it at a later sync).
  d = each(d, env.ephemerals, (st, ref) => {
    const c = st.containers[ref.name];
    if (c?.everRan !== true) return orderStart(env, st, ref);
    const inst = c.instance;
    if (inst?.phase === 'exited' && inst.decision?.kind === 'restart' && isCreateError(inst.startError?.reason)) return tryRestart(env, st, ref, false);
    return keep(st);
  });
  const init = driveInit(env, d.state);
  d = join(d, init);
  if (init.outcome === 'failed') return andThen(d, (st) => finishPod(env, st));
  if (init.outcome === 'initialized') d = andThen(d, (st) => driveRegulars(env, st));
  // X4: ephemeral containers are never restarted; unknown ones are only killed.
  d = each(d, env.ephemerals, (st, ref) => handleUnknown(env, st, ref));
  // §4.6: the reset record closes once every regular container has an instance again.
  const reset = d.state.reset;
  if (reset?.step === 'restarting' && env.regulars.every((r) => d.state.containers[r.name]?.instance !== undefined)) {
    d = andThen(d, (st) => closeReset(st, 'completed'));
  }
  // §2.7/X10: nothing left to run: stop what still runs.
  if (init.outcome === 'initialized' && nothingLeftToRun(env, d.state)) d = andThen(d, (st) => finishPod(env, st));
  return d;
}

/** The numbered steps of one reconcile of a pod instance that has not finished. */
function syncPod(env: Env, s0: PodState): Decision {
  // Step 1: kills recorded but not ordered (after a podvisor restart) are ordered again.
  let d = reissueKills(env, s0);
  // Step 2: deletion wins over everything (§8.1).
  if (d.state.deletion) return andThen(d, (s) => syncDeletion(env, s));
  // Step 3: a terminal phase or an exceeded deadline stops the pod.
  d = andThen(d, (s) => endIfDue(env, s));
  // Step 4: placement, sandbox and exit decisions; a reset that begins is published first.
  if (!d.state.stopping) {
    const p = prepare(env, d.state);
    d = join(d, p);
    if (p.outcome === 'halt') return d;
  }
  // Step 5: a stopping pod is terminated and released or re-created (§8.2, §4.11).
  if (d.state.stopping) return andThen(d, (s) => syncStop(env, s));
  // Step 6: reset Steps 2-4 block every start (BG3).
  if (d.state.reset) {
    const r = driveReset(env, d.state);
    d = join(d, r);
    if (r.outcome) return d;
  }
  // Step 7: start-up and steady state (§3; reset Step 5).
  return andThen(d, (s) => syncContainers(env, s));
}

/** The reconcile (§0.1). */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const { pod, now } = input;
  const env = compileEnv(pod, input.state.uid, now, input.options);
  let d = keep(recordContainers(input.state, env.all));
  d = andThen(d, (s) => (s.finished ? reissueRecreate(env, s) : syncPod(env, s)));

  // Publish: the phase and conditions are remembered; a terminal pod closes the reset record.
  const status = computePodStatus({ pod, state: d.state, now });
  if (isTerminalPhase(status.phase ?? '')) d = andThen(d, (s) => closeReset(s, 'cut'));
  const published = { phase: status.phase ?? d.state.phase, conditions: status.conditions ?? [] } as Parameters<typeof recordPublished>[1];
  if (status.reason !== undefined) published.reason = status.reason;
  if (status.message !== undefined) published.message = status.message;
  const state = recordPublished(d.state, published, now);
  const result: ReconcileResult = {
    state, actions: [...d.actions], events: [...d.events], status: computePodStatus({ pod, state, now }),
  };
  if (d.resetBegan && state.reset && !state.stopping) result.requeue = true;
  if (d.resetClosed) result.resetClosed = d.resetClosed;
  const wake = d.wake.filter((w) => w > now);
  if (wake.length > 0) result.wakeAt = Math.min(...wake);
  return result;
}
