/**
 * Starting and killing one container: the start of a new instance with its restart count
 * (§7.3), CrashLoopBackOff (§5.2), the retry of a failed container creation, and kills with
 * their `Killing` event (§7.4).
 */
import type { Probe } from '../../api/types.js';
import { checkBackoff } from '../backoff.js';
import { isCreateError, terminatedRecordOf, type BackoffWait, type KillCause, type KillRecord, type PodState } from '../model.js';
import type { ContainerRef } from '../rules.js';
import {
  recordBackoffAdvanced, recordBackoffWait, recordKillOrdered, recordStartOrdered, recordUnstartedDropped, type StartCounting,
} from '../transitions.js';
import { decide, keep, podEvent, withOutcome, type Decision, type Env, type Outcome } from './decision.js';
import type { Action, StartCause } from './types.js';

/** Why the new instance of `name` starts, read from the instance it replaces. */
function startCause(env: Env, s: PodState, name: string): StartCause {
  const c = s.containers[name];
  const old = c?.instance;
  const cause: StartCause = { kind: 'first' };
  if (c?.rerun) cause.kind = 'sandbox';
  else if (c?.removedByReset) cause.kind = 'reset';
  else if (old?.phase === 'exited') {
    cause.kind = old.decision?.kind === 'restart' ? 'restart' : 'recover';
    if (old.decision?.kind === 'restart') cause.trigger = old.decision.trigger;
  } else if (old) cause.kind = 'recover';
  if (old?.exitCode !== undefined) cause.exitCode = old.exitCode;
  if (old?.oomKilled === true) cause.oomKilled = true;
  if (old?.finishedAt !== undefined) {
    cause.sinceExitMs = env.now - old.finishedAt;
    cause.finishedAt = old.finishedAt;
  }
  return cause;
}

/**
 * §7.3: how the new instance counts. Every new instance of the same container adds 1 (RC2), and
 * the replaced one becomes `lastState`; the first instance after a reset removal adds nothing
 * (it was counted at removal, §4.8); a creation that failed before the process ran is retried
 * without counting and without replacing `lastState` (the container never ran).
 */
function startCounting(s: PodState, name: string): StartCounting {
  const c = s.containers[name];
  const old = c?.instance;
  if (!old) return { count: c?.rerun === true && c.everRan === true };
  if (old.phase === 'exited' && isCreateError(old.startError?.reason)) return { count: false };
  // A start ordered but never carried out (podvisor stopped before it launched anything, §2.4):
  // it was counted when it was ordered; ordering it again is the same start.
  if (old.phase === 'created' && old.id === '') return { count: false };
  const counting: StartCounting = { count: true };
  if (old.phase === 'exited' || old.phase === 'unknown' || old.phase === 'running') counting.last = terminatedRecordOf(old);
  return counting;
}

/** Orders a start of `ref`, replacing its current instance. */
export function orderStart(env: Env, s: PodState, ref: ContainerRef): Decision {
  const old = s.containers[ref.name]?.instance;
  const action: Action = { type: 'start', container: ref.name, kind: ref.kind, cause: startCause(env, s, ref.name) };
  if (old) action.replaces = old.id;
  return decide(recordStartOrdered(s, ref.name, env.now, startCounting(s, ref.name)), { actions: [action] });
}

/**
 * Starts `ref` after an exit, through CrashLoopBackOff (§5.2) unless `immediate`. A creation
 * that failed before the process ran waits back-off INITIAL × 2^(n-1) from its n-th
 * consecutive failure. The outcome says whether the start was ordered.
 */
export function tryRestart(env: Env, s: PodState, ref: ContainerRef, immediate: boolean): Outcome<boolean> {
  const c = s.containers[ref.name];
  const inst = c?.instance;
  const finishedAt = inst?.finishedAt ?? env.now;
  if (immediate) return withOutcome(orderStart(env, s, ref), true);
  const createFailures = inst && isCreateError(inst.startError?.reason) ? (c?.createFailures ?? 1) : 0;
  let wait: { delayMs: number; retryAt: number } | undefined;
  let next = s;
  if (createFailures > 0) {
    const delayMs = Math.min(env.backoff.initialMs * 2 ** (createFailures - 1), env.backoff.maxMs);
    if (env.now < finishedAt + delayMs) wait = { delayMs, retryAt: finishedAt + delayMs };
  } else {
    const d = checkBackoff(s.backoff[ref.name], finishedAt, env.now, env.backoff, `${s.uid}/${ref.name}`);
    if (d.allowed) next = recordBackoffAdvanced(s, ref.name, d.entry);
    else wait = { delayMs: d.delayMs, retryAt: d.retryAt };
  }
  if (!wait) return withOutcome(orderStart(env, next, ref), true);
  const fresh = c?.backoffWait?.finishedAt !== finishedAt;
  const events = fresh && createFailures === 0
    ? [podEvent('Warning', 'BackOff', `Back-off restarting failed container ${ref.name} in pod ${env.podRef}`, ref)]
    : [];
  const record: BackoffWait = { ...wait, finishedAt };
  const wake = [wait.retryAt];
  if (inst?.startError?.reason === 'ErrImagePull') {
    // ErrImagePull for the first half of the wait, then ImagePullBackOff (see BackoffWait).
    const backOffAt = finishedAt + Math.floor(wait.delayMs / 2);
    if (env.now >= backOffAt) {
      record.pullBackOff = true;
      if (fresh || c?.backoffWait?.pullBackOff !== true) {
        const image = ref.spec.image ?? '';
        events.push(podEvent('Normal', 'BackOff', `Back-off pulling image ${JSON.stringify(image)}`, ref), podEvent('Warning', 'Failed', 'Error: ImagePullBackOff', ref));
      }
    } else wake.unshift(backOffAt);
  }
  return withOutcome(decide(recordBackoffWait(s, ref.name, record), { events, wake }), false);
}

/** Grace of a probe or manual kill (§2.5 P2): the probe's own, else the pod's, at least 2 s. */
export function probeGraceMs(env: Env, probe: Probe | undefined): number {
  const sec = probe?.terminationGracePeriodSeconds ?? env.graceMs / 1000;
  return Math.max(2000, sec * 1000);
}

/** How a kill proceeds. */
export interface KillOpts {
  preStop: boolean;
  sigterm: boolean;
  sigkillAt: number;
  /** The restart decided at kill time (§2.5 P2/P4; manual and unknown kills restart too). */
  restart: boolean;
  /** For probe kills: the probe that failed. */
  probe?: 'liveness' | 'startup';
}

/** Orders a kill of the current instance of `ref` with a `Killing` event (§7.4). */
export function orderKill(env: Env, s: PodState, ref: ContainerRef, cause: KillCause, message: string, o: KillOpts): Decision {
  const inst = s.containers[ref.name]?.instance;
  if (!inst || inst.phase === 'exited') return keep(s);
  if (inst.phase === 'created') return dropUnstarted(s, ref, cause === 'reset' || o.restart);
  const kill: KillRecord = {
    cause, ordered: true, at: env.now, restart: o.restart, message, preStop: o.preStop,
    terminated: o.sigterm || !o.preStop, sigterm: o.sigterm, sigkillAt: o.sigkillAt,
  };
  if (o.probe) kill.probe = o.probe;
  return decide(recordKillOrdered(s, ref.name, kill), {
    events: [podEvent('Normal', 'Killing', message, ref)],
    actions: [{ type: 'kill', container: ref.name, instanceId: inst.id, cause, preStop: o.preStop, sigterm: o.sigterm, sigkillAt: o.sigkillAt }],
  });
}

/**
 * §2.4 created, never started (a start the stop of an earlier podvisor process cut short): no
 * process exists, so nothing is killed and no exit will come; a kill drops the instance at once
 * (`owed`: the container is owed a fresh start, as after a reset). Others are kept.
 */
export function dropUnstarted(s: PodState, ref: ContainerRef, owed: boolean): Decision {
  const inst = s.containers[ref.name]?.instance;
  if (inst?.phase !== 'created') return keep(s);
  return decide(recordUnstartedDropped(s, ref.name, owed), {
    actions: inst.id === '' ? [] : [{ type: 'remove', container: ref.name, instanceId: inst.id }],
  });
}

/** Whether `ref` declares a preStop hook. */
export function hasPreStop(ref: ContainerRef): boolean {
  return ref.spec.lifecycle?.preStop !== undefined;
}
