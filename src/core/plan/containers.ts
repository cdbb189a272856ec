/**
 * Normal operation (§2.4, §2.5, §2.8, §3): the init sequence, regular containers, probe kills,
 * unknown states and manual restarts. Also Step 5 of a reset, which is a normal start-up.
 */
import type { ContainerRecord, PodState } from '../model.js';
import { effectivePolicy, type ContainerRef } from '../rules.js';
import { recordDecision, recordInitialized, recordManualRestartTaken } from '../transitions.js';
import { each, join, keep, withOutcome, type Decision, type Env, type Outcome } from './decision.js';
import { hasPreStop, orderKill, orderStart, probeGraceMs, tryRestart } from './start.js';

/** §2.4: kill an instance in unknown state; an init container under `Never` fails the pod instead of restarting. */
export function handleUnknown(env: Env, s: PodState, ref: ContainerRef): Decision {
  const inst = s.containers[ref.name]?.instance;
  if (!inst || inst.phase !== 'unknown' || inst.kill) return keep(s);
  const msg = ref.kind === 'regular' || ref.kind === 'ephemeral'
    ? 'Container is in "unknown" state, try killing it before restart'
    : 'Init container is in "unknown" state, try killing it before restart';
  const opts = { preStop: false, sigterm: false, sigkillAt: env.now };
  if (ref.kind === 'ephemeral' || (ref.kind === 'init' && effectivePolicy(env.pod, ref) === 'Never' && !inst.lostOnRestart)) {
    // X4: ephemeral containers are only killed; an init container under Never fails the pod.
    const killed = orderKill(env, s, ref, 'stop', msg, { ...opts, restart: false });
    return ref.kind === 'init' ? join(killed, keep(recordDecision(killed.state, ref.name, { kind: 'none' }))) : killed;
  }
  return orderKill(env, s, ref, 'unknown', msg, { ...opts, restart: true });
}

/** §2.5 P2-P4: a liveness or startup failure kills the instance; the restart is decided now. */
function handleProbeFailure(env: Env, s: PodState, ref: ContainerRef): Decision {
  const inst = s.containers[ref.name]?.instance;
  if (!inst || inst.phase !== 'running' || inst.kill) return keep(s);
  const which = inst.livenessFailed ? 'liveness' : inst.startupFailed && !inst.started ? 'startup' : undefined;
  if (!which) return keep(s);
  const probe = which === 'liveness' ? ref.spec.livenessProbe : ref.spec.startupProbe;
  const restart = ref.kind === 'sidecar' || effectivePolicy(env.pod, ref) !== 'Never';
  const message = ref.kind === 'sidecar'
    ? `Init container ${ref.name} failed ${which} probe`
    : restart ? `Container ${ref.name} failed ${which} probe, will be restarted` : `Container ${ref.name} failed ${which} probe`;
  return orderKill(env, s, ref, 'probe', message, { preStop: hasPreStop(ref), sigterm: true, sigkillAt: env.now + probeGraceMs(env, probe), restart, probe: which });
}

/**
 * §2.4: the container's definition changed (its `image` was updated through the API, which
 * Kubernetes permits): the running instance is killed gracefully and started again from the
 * new definition whatever the policy, as the kubelet does when a container's hash changes.
 * An instance created before podvisor recorded its definition is left alone.
 */
function handleDefinitionChange(env: Env, s: PodState, ref: ContainerRef): Decision {
  const inst = s.containers[ref.name]?.instance;
  if (!inst || inst.phase !== 'running' || inst.kill || inst.specImage === undefined || inst.specImage === (ref.spec.image ?? '')) return keep(s);
  const message = ref.kind === 'sidecar' ? `Init container ${ref.name} definition changed` : `Container ${ref.name} definition changed, will be restarted`;
  return orderKill(env, s, ref, 'definition', message, { preStop: hasPreStop(ref), sigterm: true, sigkillAt: env.now + probeGraceMs(env, undefined), restart: true });
}

/** §2.8: a manual restart request is taken up: kill gracefully, restart at once. */
export function handleManualRestart(env: Env, s: PodState, ref: ContainerRef): Decision {
  const c = s.containers[ref.name];
  if (c?.manualRestartAt === undefined) return keep(s);
  const taken = recordManualRestartTaken(s, ref.name);
  const inst = c.instance;
  if (!inst || inst.kill) return keep(taken);
  if (inst.phase === 'exited') return keep(recordDecision(taken, ref.name, { kind: 'restart', counted: false, trigger: { kind: 'api' }, immediate: true }));
  return orderKill(env, taken, ref, 'manual', `Stopping container ${ref.name} to restart it on request`, {
    preStop: hasPreStop(ref), sigterm: true, sigkillAt: env.now + probeGraceMs(env, undefined), restart: true,
  });
}

/** A start of the container is owed now regardless of its exit decision (reset Step 5, new sandbox). */
function owedFreshStart(c: ContainerRecord): boolean {
  return c.rerun === true || c.removedByReset === true;
}

/** How one container stands in the start-up sequence. */
type Drive = 'blocked' | 'done' | 'failed';

/**
 * Runs one container through the start logic. `blocked`: later init entries must wait;
 * `done`: completed or started; `failed`: it failed the pod.
 */
function driveContainer(env: Env, s: PodState, ref: ContainerRef): Outcome<Drive> {
  const c = s.containers[ref.name];
  const inst = c?.instance;
  if (!c || !inst) {
    if (!c?.everRan || (c && owedFreshStart(c))) return withOutcome(orderStart(env, s, ref), 'blocked');
    return withOutcome(keep(s), 'done');
  }
  if (owedFreshStart(c) && inst.phase === 'exited') return withOutcome(orderStart(env, s, ref), 'blocked');
  switch (inst.phase) {
    case 'creating':
      return withOutcome(keep(s), 'blocked');
    case 'created':
      // §2.4: created, never started: start it, whatever the policy.
      return withOutcome(orderStart(env, s, ref), 'blocked');
    case 'unknown':
      return withOutcome(handleUnknown(env, s, ref), ref.kind === 'sidecar' && inst.started ? 'done' : 'blocked');
    case 'running': {
      const changed = s.deletion || ref.kind === 'init' ? keep(s) : handleDefinitionChange(env, s, ref);
      const d = s.deletion || changed.state !== s ? changed : handleProbeFailure(env, s, ref);
      if (ref.kind === 'sidecar') return withOutcome(d, inst.started ? 'done' : 'blocked');
      return withOutcome(d, ref.kind === 'init' ? 'blocked' : 'done');
    }
    case 'exited': {
      const dec = inst.decision;
      if (!dec) return withOutcome(keep(s), 'blocked');
      if (dec.kind === 'completed') return withOutcome(keep(s), 'done');
      if (dec.kind === 'restart') {
        const d = tryRestart(env, s, ref, dec.immediate === true);
        // I3: a sidecar that had started does not block later entries while it restarts.
        const startedSidecar = ref.kind === 'sidecar' && inst.kill === undefined && c.everRan === true && inst.startedAt !== undefined && inst.started;
        return withOutcome(d, startedSidecar ? 'done' : 'blocked');
      }
      if (dec.kind === 'none') return withOutcome(keep(s), ref.kind === 'init' ? 'failed' : 'done');
      return withOutcome(keep(s), 'blocked');
    }
  }
}

/** §3.2: init containers and sidecars one at a time in spec order. */
export function driveInit(env: Env, s0: PodState): Outcome<'initialized' | 'pending' | 'failed'> {
  let d = keep(s0);
  if (s0.initializedOnce && s0.reinitializing !== true) {
    // I5: init containers never run again; sidecars are restarted on every exit (X6).
    d = each(d, env.inits, (s, ref) => {
      if (ref.kind === 'sidecar') return driveContainer(env, s, ref);
      const phase = s.containers[ref.name]?.instance?.phase;
      return phase === 'running' || phase === 'unknown' ? handleUnknown(env, s, ref) : keep(s);
    });
    return withOutcome(join(d, keep(recordInitialized(d.state))), 'initialized');
  }
  for (const ref of env.inits) {
    const r = driveContainer(env, d.state, ref);
    d = join(d, r);
    if (r.outcome === 'failed') return withOutcome(d, 'failed');
    if (r.outcome === 'blocked') return withOutcome(d, 'pending');
  }
  return withOutcome(join(d, keep(recordInitialized(d.state))), 'initialized');
}

/** §3.3: every regular container in one pass, in spec order. */
export function driveRegulars(env: Env, s: PodState): Decision {
  return each(keep(s), env.regulars, (st, ref) => driveContainer(env, st, ref));
}

/** §2.7/X10: no regular container is running and none will be started. */
export function nothingLeftToRun(env: Env, s: PodState): boolean {
  return env.regulars.every((ref) => {
    const c = s.containers[ref.name];
    const inst = c?.instance;
    if (!c || !inst) return c?.everRan === true && !owedFreshStart(c);
    if (inst.phase !== 'exited') return false;
    const d = inst.decision;
    return d !== undefined && (d.kind === 'none' || d.kind === 'completed');
  });
}
