/**
 * Stopping a pod (§2.7, §8): the stop record, and the termination order of §8.1 steps 3-5,
 * used for deletion and for pods that finished, failed by budget or are re-created.
 */
import type { Instance, PodState, StopRecord } from '../model.js';
import type { ContainerRef } from '../rules.js';
import { recordKillOrdered, recordSandboxReleased, recordSidecarTerminated, recordStopBegun } from '../transitions.js';
import { decide, each, join, keep, podEvent, andThen, withOutcome, type Decision, type Env, type Outcome } from './decision.js';
import { dropUnstarted, hasPreStop, orderKill } from './start.js';

/** Begins stopping the pod (§8.2) with its grace deadline; the first stop wins. */
export function beginStop(env: Env, s: PodState, reason: StopRecord['reason'], message?: string, trigger?: StopRecord['trigger'], source?: string): PodState {
  const stop: StopRecord = { reason, at: env.now, deadline: env.now + env.graceMs };
  if (message !== undefined) stop.message = message;
  if (trigger !== undefined) stop.trigger = trigger;
  if (source !== undefined) stop.source = source;
  return recordStopBegun(s, stop);
}

function live(s: PodState, ref: ContainerRef): Instance | undefined {
  const i = s.containers[ref.name]?.instance;
  return i && i.phase !== 'exited' ? i : undefined;
}

/**
 * §8.1 steps 3-5 (also used by §8.2): regular, ephemeral and init containers get preStop +
 * SIGTERM at once; sidecars get their preStop at T0 and SIGTERM in reverse start order after
 * every regular container (and every later sidecar) has terminated; SIGKILL at the deadline,
 * never less than 2 s after a container's SIGTERM. The outcome is true when nothing runs any more.
 */
export function driveTermination(env: Env, s0: PodState, deadline: number, cause: 'deletion' | 'stop'): Outcome<boolean> {
  const sigkillAt = Math.max(deadline, env.now);
  const message = (ref: ContainerRef): string => `Stopping container ${ref.name}`;
  // Created, never started (§2.4): nothing to kill, dropped at once (also with a kill ordered).
  let d = each(keep(s0), env.all, (s, ref) => dropUnstarted(s, ref, false));
  // A probe or manual kill already running ends by the same deadline: it is left alone.
  d = each(d, [...env.regulars, ...env.ephemerals], (s, ref) =>
    live(s, ref) && !live(s, ref)?.kill ? orderKill(env, s, ref, cause, message(ref), { preStop: hasPreStop(ref), sigterm: true, sigkillAt, restart: false }) : keep(s));
  const plainInits = env.inits.filter((r) => r.kind === 'init');
  d = each(d, plainInits, (s, ref) =>
    live(s, ref) && !live(s, ref)?.kill ? orderKill(env, s, ref, cause, message(ref), { preStop: false, sigterm: true, sigkillAt, restart: false }) : keep(s));
  const sidecars = env.inits.filter((r) => r.kind === 'sidecar');
  // Sidecars: preStop at T0 with their Killing event; SIGTERM comes later, in reverse order.
  d = each(d, sidecars, (s, ref) => {
    const inst = live(s, ref);
    if (!inst || inst.kill) return keep(s);
    const state = recordKillOrdered(s, ref.name, { cause, ordered: true, at: env.now, restart: false, message: message(ref), preStop: hasPreStop(ref), terminated: false });
    return decide(state, {
      events: [podEvent('Normal', 'Killing', message(ref), ref)],
      actions: hasPreStop(ref) ? [{ type: 'preStop', container: ref.name, instanceId: inst.id }] : [],
    });
  });
  if ([...env.regulars, ...env.ephemerals, ...plainInits].every((r) => !live(d.state, r))) {
    // Reverse start order: the last sidecar in spec order first, one after another.
    const next = [...sidecars].reverse().find((r) => live(d.state, r) !== undefined);
    const inst = next ? live(d.state, next) : undefined;
    if (next && inst?.kill && !inst.kill.terminated) {
      d = join(d, decide(recordSidecarTerminated(d.state, next.name), {
        actions: [{ type: 'kill', container: next.name, instanceId: inst.id, cause, preStop: false, sigterm: true, sigkillAt: Math.max(deadline, env.now + 2000) }],
      }));
    }
  }
  return withOutcome(d, env.all.every((r) => !live(d.state, r)));
}

/** §2.7/§8.2: stop what still runs; once nothing runs, release the sandbox. */
export function finishPod(env: Env, s0: PodState): Decision {
  const s = beginStop(env, s0, 'Finished');
  const stop = s.stopping;
  if (!stop) return keep(s);
  const t = driveTermination(env, s, stop.deadline, 'stop');
  if (!t.outcome || t.state.sandbox.state === 'none') return t;
  return andThen(t, (st) => decide(recordSandboxReleased(st), { actions: [{ type: 'releaseSandbox' }] }));
}
