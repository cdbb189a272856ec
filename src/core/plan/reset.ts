/**
 * RestartAllContainers, the in-place restart of every container (§4): Step 1 (Begin), the
 * removal plan (Step 2), kill and remove (Step 3), cleanup complete and the pod-level back-off
 * (Step 4). Step 5 is the normal start-up, in `containers.ts`.
 */
import { checkBackoff } from '../backoff.js';
import { terminatedRecordOf, type PodState, type ResetRecord, type ResetTrigger } from '../model.js';
import type { ContainerRef } from '../rules.js';
import {
  recordPodBackoffAdvanced, recordRemovedByReset, recordResetBegun, recordResetClosed, recordResetStep,
} from '../transitions.js';
import { decide, join, keep, podEvent, withOutcome, type Decision, type Env, type Outcome } from './decision.js';
import { dropUnstarted, orderKill } from './start.js';

/** Closes (or cancels) the reset record, keeping it for the restart record. */
export function closeReset(s: PodState, outcome: 'completed' | 'cut'): Decision {
  if (!s.reset) return keep(s);
  return decide(recordResetClosed(s), { resetClosed: { record: s.reset, outcome } });
}

/** §4.2 Step 1: begins a reset (BG1-BG3). */
export function beginReset(
  env: Env, s: PodState, trigger: ResetTrigger, sources: string[], eventTime: number, condition: { reason: string; message: string },
): Decision {
  const reset: ResetRecord = {
    startedAt: env.now, phaseBefore: s.phase === 'Running' ? 'Running' : 'Pending', eventTime, trigger, sources,
    killed: [], removed: [], step: 'removing', conditionReason: condition.reason, conditionMessage: condition.message,
  };
  return decide(recordResetBegun(s, reset), {
    events: [podEvent('Normal', 'RestartingAllContainers', `Restarting all containers in place: ${trigger.text}`)],
    resetBegan: true,
    // §4.6: a new reset during Step 5 closes the current record (the new one keeps the held phase).
    ...(s.reset ? { resetClosed: { record: s.reset, outcome: 'completed' as const } } : {}),
  });
}

/** §4.3: the removal plan, in order: bystanders (regular, then init), then sources; last first. */
function removalPlan(env: Env, s: PodState): ContainerRef[] {
  const sources = new Set(s.reset?.sources ?? []);
  const has = (r: ContainerRef): boolean => s.containers[r.name]?.instance !== undefined;
  const regs = env.regulars.filter(has).reverse();
  const inits = env.inits.filter(has).reverse();
  return [
    ...regs.filter((r) => !sources.has(r.name)),
    ...inits.filter((r) => !sources.has(r.name)),
    ...regs.filter((r) => sources.has(r.name)),
    ...inits.filter((r) => sources.has(r.name)),
  ];
}

/** §4.4 R3-R4: removes an exited instance; its real record goes into the reset record (D3). */
function removeForReset(s: PodState, ref: ContainerRef): Decision {
  const inst = s.containers[ref.name]?.instance;
  if (!inst) return keep(s);
  return decide(recordRemovedByReset(s, ref.name, terminatedRecordOf(inst)), {
    actions: [{ type: 'remove', container: ref.name, instanceId: inst.id }],
  });
}

function resetKillMessage(ref: ContainerRef): string {
  return `Stopping container ${ref.name} to restart all containers`;
}

/**
 * Step 3 (§4.4): kill and remove in plan order, one entry at a time (R1), or with the
 * annotation's grace SIGTERM to every running target at once (R2). The outcome is true when
 * every entry has been removed.
 */
function killAndRemove(env: Env, s0: PodState, r: ResetRecord): Outcome<boolean> {
  const plan = removalPlan(env, s0);
  let d = keep(s0);
  const graceSec = env.settings.restartGracePeriodSeconds;
  if (graceSec > 0) {
    const sigkillAt = Math.max(r.startedAt + graceSec * 1000, env.now);
    for (const ref of plan) {
      const inst = d.state.containers[ref.name]?.instance;
      if (inst && inst.phase !== 'exited' && !inst.kill) {
        d = join(d, orderKill(env, d.state, ref, 'reset', resetKillMessage(ref), { preStop: false, sigterm: true, sigkillAt, restart: false }));
      }
    }
  }
  for (const ref of plan) {
    const inst = d.state.containers[ref.name]?.instance;
    if (!inst) continue;
    if (inst.phase === 'created') {
      d = join(d, dropUnstarted(d.state, ref, true)); // nothing to kill (also a kill ordered before)
      continue;
    }
    if (inst.phase === 'exited') {
      d = join(d, removeForReset(d.state, ref));
      continue;
    }
    if (!inst.kill) d = join(d, orderKill(env, d.state, ref, 'reset', resetKillMessage(ref), { preStop: false, sigterm: false, sigkillAt: env.now, restart: false }));
    return withOutcome(d, false); // R1: wait for this exit before the next entry
  }
  return withOutcome(d, true);
}

/**
 * Steps 2-4 of a reset in progress. The outcome is true while the reset still blocks every
 * start (BG3); false once Step 5 may run.
 */
export function driveReset(env: Env, s: PodState): Outcome<boolean> {
  const r = s.reset;
  if (!r) return withOutcome(keep(s), false);
  let d = keep(s);
  if (r.step === 'removing') {
    const removal = killAndRemove(env, s, r);
    if (!removal.outcome) return withOutcome(removal, true); // R1: an entry is still being killed
    d = decide(recordResetStep(removal.state, 'waiting'), removal); // Step 4: cleanup complete
  }
  const reset = d.state.reset;
  if (reset?.step !== 'waiting') return withOutcome(d, false);
  const b = checkBackoff(d.state.podBackoff, reset.eventTime, env.now, env.backoff, `${d.state.uid}/pod`);
  if (!b.allowed) {
    const events = reset.backoffWait ? [] : [podEvent('Warning', 'BackOff', `Back-off restarting all containers in pod ${env.podRef}`)];
    const waiting = recordResetStep(d.state, 'waiting', { delayMs: b.delayMs, retryAt: b.retryAt });
    return withOutcome(join(d, decide(waiting, { events, wake: [b.retryAt] })), true);
  }
  return withOutcome(join(d, decide(recordResetStep(recordPodBackoffAdvanced(d.state, b.entry), 'restarting'))), false);
}
