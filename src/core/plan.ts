/**
 * The pure decision core: `reconcile` looks at the pod spec, the durable pod state (which
 * holds the observed instances) and `now`, and returns the new state, the ordered actions the
 * agent must execute, the events to record, the next wake-up time and the published status.
 *
 * It mirrors the kubelet's computePodActions/SyncPod split (kuberuntime_manager.go): decisions
 * are data, effects happen elsewhere. Every rule cites the section of
 * `shared/spec/restart-semantics.md` it implements. No I/O, no timers, no clock reads.
 */
import type { Pod, PodStatus, Probe } from '../api/types.js';
import { readPodvisorSettings, type EscalationRung, type PodvisorSettings } from '../api/annotations.js';
import { formatGoDuration } from '../api/duration.js';
import { checkBackoff, compileBackoffConfig, type BackoffConfig } from './backoff.js';
import {
  allRefs, effectivePolicy, ephemeralRefs, exitVerdict, fieldPathOf, initRefs, podRestartPolicy,
  regularRefs, type ContainerRef,
} from './rules.js';
import {
  terminatedRecordOf, type ContainerRecord, type Instance, type KillCause, type PodState,
  type ResetTrigger,
} from './model.js';
import { computePodStatus } from './status.js';

/** Node-wide options (daemon flags), compiled once. */
export interface CoreOptions {
  /** CrashLoopBackOff INITIAL, ms (default 10 s). */
  backoffInitialMs: number;
  /** CrashLoopBackOff MAX, ms (default 300 s). */
  backoffMaxMs: number;
}

/** Kubernetes defaults (D1). */
export const DEFAULT_CORE_OPTIONS: CoreOptions = { backoffInitialMs: 10_000, backoffMaxMs: 300_000 };

/** An event to record (§7.4). `container` set: recorded on the container's field path. */
export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  container?: string;
  fieldPath?: string;
}

/** One effect for the agent, executed in list order. */
export type Action =
  | { type: 'createSandbox'; attempt: number }
  | { type: 'releaseSandbox' }
  | {
      type: 'kill';
      container: string;
      instanceId: string;
      cause: KillCause;
      /** Run the preStop hook first (its time counts against the grace period). */
      preStop: boolean;
      /** Send SIGTERM now (false: SIGKILL at once, as a reset does). */
      sigterm: boolean;
      /** Absolute time of the SIGKILL for whatever still runs. */
      sigkillAt: number;
    }
  | { type: 'preStop'; container: string; instanceId: string }
  | { type: 'remove'; container: string; instanceId: string }
  | {
      type: 'start';
      container: string;
      kind: ContainerRef['kind'];
      /** The instance this start replaces (removed by the agent first), if any. */
      replaces?: string;
      /** Why this instance starts: for restart records, live views and metrics. */
      cause: StartCause;
    }
  | { type: 'recreatePod'; recreations: number }
  | { type: 'deletePod' };

/** Why an instance starts. */
export interface StartCause {
  /** `first`: first start; `restart`: after an exit; `reset`: reset step 5; `sandbox`: new sandbox; `recover`: created/unknown recovery. */
  kind: 'first' | 'restart' | 'reset' | 'sandbox' | 'recover';
  /** For `restart`: what decided it (`policy`, `sidecar`, `restartPolicyRules[j]`, `probe`, `manual`, `unknown`). */
  trigger?: string;
  /** Exit code of the instance it replaces. */
  exitCode?: number;
  /** The instance it replaces was killed for exceeding its memory limit. */
  oomKilled?: boolean;
  /** Time since that instance finished, ms (the back-off actually waited, roughly). */
  sinceExitMs?: number;
  /** `finishedAt` of that instance (epoch ms). */
  finishedAt?: number;
}

/** Input of {@link reconcile}. The pod must be defaulted and valid. */
export interface ReconcileInput {
  pod: Pod;
  state: PodState;
  now: number;
  options?: CoreOptions;
}

/** Output of {@link reconcile}. */
export interface ReconcileResult {
  state: PodState;
  actions: Action[];
  events: PodEvent[];
  /** When to reconcile again if nothing else happens (backoff timers, deadlines). */
  wakeAt?: number;
  /** Reconcile again at once: this status (e.g. a reset's Begin) must be published first. */
  requeue?: boolean;
  status: PodStatus;
}

/** Everything one reconcile works with. */
interface Ctx {
  pod: Pod;
  s: PodState;
  now: number;
  settings: PodvisorSettings;
  backoff: BackoffConfig;
  podRef: string;
  graceMs: number;
  actions: Action[];
  events: PodEvent[];
  wake: number[];
  /** Reconcile again at once (after publishing this status). */
  requeue?: boolean;
  /** A reset began in this reconcile. */
  resetBegan?: boolean;
}

/** `<name>_<namespace>(<uid>)`, the kubelet's pod reference in messages (§0.1). */
export function podRefOf(pod: Pod, uid: string): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? 'default'}(${uid})`;
}

/** The backoff parameters for a pod: node-wide options, replaced by the pod's annotations (§5.1, §10.1). */
export function backoffConfigFor(settings: PodvisorSettings, options: CoreOptions): BackoffConfig {
  return compileBackoffConfig(
    settings.backoffInitialMs ?? options.backoffInitialMs,
    settings.backoffMaxMs ?? options.backoffMaxMs,
    settings.backoffJitter,
  );
}

function isTerminalPhase(phase: string): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

function event(ctx: Ctx, type: PodEvent['type'], reason: string, message: string, ref?: ContainerRef): void {
  const e: PodEvent = { type, reason, message };
  if (ref) {
    e.container = ref.name;
    e.fieldPath = fieldPathOf(ref);
  }
  ctx.events.push(e);
}

function rec(ctx: Ctx, ref: ContainerRef): ContainerRecord {
  let c = ctx.s.containers[ref.name];
  if (!c) {
    c = { name: ref.name, kind: ref.kind, restartCount: 0 };
    ctx.s.containers[ref.name] = c;
  }
  c.kind = ref.kind;
  return c;
}

function isAlive(i: Instance | undefined): boolean {
  return i !== undefined && i.phase !== 'exited';
}

// ---------------------------------------------------------------------------------------------
// Starting and killing

/** Orders a start of `ref`, replacing its current instance; restartCount per §7.3. */
function orderStart(ctx: Ctx, ref: ContainerRef): void {
  const c = rec(ctx, ref);
  const old = c.instance;
  const cause: StartCause = { kind: 'first' };
  if (c.rerun) cause.kind = 'sandbox';
  else if (c.removedByReset) cause.kind = 'reset';
  else if (old?.phase === 'exited') {
    cause.kind = old.decision?.kind === 'restart' ? 'restart' : 'recover';
    if (old.decision?.kind === 'restart') cause.trigger = old.decision.trigger;
  } else if (old) cause.kind = 'recover';
  if (old?.exitCode !== undefined) cause.exitCode = old.exitCode;
  if (old?.oomKilled === true) cause.oomKilled = true;
  if (old?.finishedAt !== undefined) {
    cause.sinceExitMs = ctx.now - old.finishedAt;
    cause.finishedAt = old.finishedAt;
  }
  const action: Action = { type: 'start', container: ref.name, kind: ref.kind, cause };
  if (old) {
    action.replaces = old.id;
    if (old.phase === 'exited' || old.phase === 'unknown' || old.phase === 'running') {
      c.last = terminatedRecordOf(old);
    }
    c.restartCount += 1; // RC2: every new instance of the same container adds 1
  } else if (c.rerun && c.everRan) {
    c.restartCount += 1;
  }
  // RC3/§4.8: the first instance after a reset removal adds nothing (counted at removal).
  delete c.removedByReset;
  delete c.lastFromReset;
  delete c.backoffWait;
  delete c.rerun;
  c.everRan = true;
  c.instance = { id: '', phase: 'creating', createdAt: ctx.now, started: false, ready: false };
  ctx.actions.push(action);
}

/**
 * Starts `ref` after an exit, through CrashLoopBackOff (§5.2) unless `immediate`.
 * Returns true when the start was ordered.
 */
function tryRestart(ctx: Ctx, ref: ContainerRef, immediate: boolean): boolean {
  const c = rec(ctx, ref);
  const inst = c.instance;
  const finishedAt = inst?.finishedAt ?? ctx.now;
  if (immediate) {
    orderStart(ctx, ref);
    return true;
  }
  const d = checkBackoff(ctx.s.backoff[ref.name], finishedAt, ctx.now, ctx.backoff, `${ctx.s.uid}/${ref.name}`);
  if (d.allowed) {
    ctx.s.backoff[ref.name] = d.entry;
    orderStart(ctx, ref);
    return true;
  }
  if (c.backoffWait?.finishedAt !== finishedAt) {
    event(ctx, 'Warning', 'BackOff', `Back-off restarting failed container ${ref.name} in pod ${ctx.podRef}`, ref);
  }
  c.backoffWait = { delayMs: d.delayMs, retryAt: d.retryAt, finishedAt };
  ctx.wake.push(d.retryAt);
  return false;
}

/** Grace of a probe kill (§2.5 P2): the probe's own, else the pod's, at least 2 s. */
function probeGraceMs(ctx: Ctx, probe: Probe | undefined): number {
  const sec = probe?.terminationGracePeriodSeconds ?? ctx.pod.spec.terminationGracePeriodSeconds ?? 30;
  return Math.max(2000, sec * 1000);
}

interface KillOpts {
  preStop: boolean;
  sigterm: boolean;
  sigkillAt: number;
  restart: boolean;
}

/** Orders a kill of the current instance of `ref` with a `Killing` event (§7.4). */
function orderKill(ctx: Ctx, ref: ContainerRef, cause: KillCause, message: string, o: KillOpts): void {
  const c = rec(ctx, ref);
  const inst = c.instance;
  if (!inst || inst.phase === 'exited') return;
  inst.kill = {
    cause, ordered: true, at: ctx.now, restart: o.restart, message, preStop: o.preStop,
    terminated: o.sigterm || !o.preStop, sigterm: o.sigterm, sigkillAt: o.sigkillAt,
  };
  event(ctx, 'Normal', 'Killing', message, ref);
  ctx.actions.push({
    type: 'kill', container: ref.name, instanceId: inst.id, cause, preStop: o.preStop, sigterm: o.sigterm, sigkillAt: o.sigkillAt,
  });
}

// ---------------------------------------------------------------------------------------------
// Budgets (§10)

function budgetText(name: string, n: number, unit: string, windowMs: number): string {
  return `container ${name} exceeded its restart budget: ${n} ${unit} within ${formatGoDuration(windowMs)}`;
}

function countInWindow(times: readonly number[], t: number, windowMs: number): number {
  return times.filter((x) => x > t - windowMs && x <= t).length;
}

function nextRung(settings: PodvisorSettings, after: EscalationRung): EscalationRung {
  const ladder = settings.escalation;
  const order: EscalationRung[] = ['container', 'pod', 'recreate', 'fail'];
  const from = order.indexOf(after);
  for (const r of order.slice(from + 1)) if (ladder.includes(r)) return r;
  return 'fail';
}

/** Fails the pod (§10.3 step 3): stop as in §8.2, then `Failed` with reason `RestartBudgetExceeded`. */
function failByBudget(ctx: Ctx, text: string): void {
  event(ctx, 'Warning', 'RestartBudgetExceeded', `${text}, escalating to fail`);
  beginStop(ctx, 'RestartBudgetExceeded', text);
}

/** Re-creation rung (§4.11, §10.3 step 3). */
function escalateToRecreate(ctx: Ctx, source: string, text: string): void {
  const n = ctx.settings.recreations + 1;
  if (ctx.settings.maxRecreates !== undefined && n > ctx.settings.maxRecreates) {
    failByBudget(ctx, budgetText(source, n, 're-creations', ctx.settings.restartWindowMs));
    return;
  }
  event(ctx, 'Warning', 'RestartBudgetExceeded', `${text}, escalating to recreate`);
  beginStop(ctx, 'Recreate', text);
}

/**
 * A reset is about to start (from a rule or from container escalation): checks the pod budget
 * (§10.3 step 2). Returns false when the reset must not happen (the next rung was applied).
 */
function admitReset(ctx: Ctx, source: string, eventTime: number, counted: boolean): boolean {
  if (!counted) return true;
  const max = ctx.settings.podMaxRestarts;
  const n = countInWindow(ctx.s.budget.pod, eventTime, ctx.settings.restartWindowMs) + 1;
  if (max !== undefined && n > max) {
    const text = budgetText(source, n, 'pod restarts', ctx.settings.restartWindowMs);
    const rung = nextRung(ctx.settings, 'pod');
    if (rung === 'recreate') escalateToRecreate(ctx, source, text);
    else failByBudget(ctx, text);
    return false;
  }
  ctx.s.budget.pod = [...ctx.s.budget.pod.filter((x) => x > eventTime - ctx.settings.restartWindowMs), eventTime];
  return true;
}

/**
 * A container restart is about to be decided at `t` (§10.2, §10.3 step 1). Returns 'ok' when
 * it may happen, else the rung that replaced it (already applied, except `pod`, which the
 * caller turns into a reset).
 */
function admitContainerRestart(ctx: Ctx, ref: ContainerRef, t: number): { ok: true } | { ok: false; rung: 'pod' | 'recreate' | 'fail'; text: string } {
  const times = ctx.s.budget.container[ref.name] ?? [];
  const n = countInWindow(times, t, ctx.settings.restartWindowMs) + 1;
  const max = ctx.settings.containerMaxRestarts;
  if (max !== undefined && n > max) {
    const text = budgetText(ref.name, n, 'restarts', ctx.settings.restartWindowMs);
    const rung = nextRung(ctx.settings, 'container');
    return { ok: false, rung: rung === 'container' ? 'fail' : rung, text };
  }
  ctx.s.budget.container[ref.name] = [...times.filter((x) => x > t - ctx.settings.restartWindowMs), t];
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Resets (§4)

/** §4.2 Step 1: begins a reset. */
function beginReset(ctx: Ctx, trigger: ResetTrigger, sources: string[], eventTime: number, reason: string, message: string): void {
  const phaseBefore = ctx.s.phase === 'Running' ? 'Running' : 'Pending';
  ctx.s.reset = {
    startedAt: ctx.now, phaseBefore, eventTime, trigger, sources, killed: [], step: 'removing',
    conditionReason: reason, conditionMessage: message,
  };
  ctx.resetBegan = true;
  if (trigger.kind !== 'rule') ctx.s.resetEligible = true;
  ctx.s.reinitializing = true;
  ctx.s.resetCount = (ctx.s.resetCount ?? 0) + 1;
  for (const c of Object.values(ctx.s.containers)) delete c.backoffWait; // BG3
  event(ctx, 'Normal', 'RestartingAllContainers', `Restarting all containers in place: ${trigger.text}`);
}

/** §4.3: the removal plan, in order. */
function removalPlan(ctx: Ctx): ContainerRef[] {
  const sources = new Set(ctx.s.reset?.sources ?? []);
  const has = (r: ContainerRef): boolean => ctx.s.containers[r.name]?.instance !== undefined;
  const regs = regularRefs(ctx.pod).filter(has).reverse();
  const inits = initRefs(ctx.pod).filter(has).reverse();
  return [
    ...regs.filter((r) => !sources.has(r.name)),
    ...inits.filter((r) => !sources.has(r.name)),
    ...regs.filter((r) => sources.has(r.name)),
    ...inits.filter((r) => sources.has(r.name)),
  ];
}

/** §4.4 R3-R4: removes an exited instance and publishes it as removed by the reset. */
function removeForReset(ctx: Ctx, ref: ContainerRef): void {
  const c = rec(ctx, ref);
  const inst = c.instance;
  if (!inst) return;
  ctx.actions.push({ type: 'remove', container: ref.name, instanceId: inst.id });
  c.last = terminatedRecordOf(inst);
  delete c.instance;
  c.restartCount += 1;
  c.removedByReset = true;
  c.lastFromReset = true;
  delete c.backoffWait;
}

/** Steps 2-4 of a reset. Returns true while the reset still blocks starts (steps 1-4). */
function driveReset(ctx: Ctx): boolean {
  const r = ctx.s.reset;
  if (!r) return false;
  if (r.step === 'removing') {
    const plan = removalPlan(ctx);
    const graceSec = ctx.settings.restartGracePeriodSeconds;
    if (graceSec > 0) {
      // R2: SIGTERM to every running target at once; SIGKILL at the end of the shared window.
      const deadline = r.startedAt + graceSec * 1000;
      for (const ref of plan) {
        const inst = ctx.s.containers[ref.name]?.instance;
        if (inst && isAlive(inst) && !inst.kill) {
          r.killed.push(inst.id);
          orderKill(ctx, ref, 'reset', `Stopping container ${ref.name} to restart all containers`, {
            preStop: false, sigterm: true, sigkillAt: Math.max(deadline, ctx.now), restart: false,
          });
        }
      }
    }
    for (const ref of plan) {
      const inst = ctx.s.containers[ref.name]?.instance;
      if (!inst) continue;
      if (inst.phase === 'exited') {
        removeForReset(ctx, ref);
        continue;
      }
      if (!inst.kill) {
        r.killed.push(inst.id);
        orderKill(ctx, ref, 'reset', `Stopping container ${ref.name} to restart all containers`, {
          preStop: false, sigterm: false, sigkillAt: ctx.now, restart: false,
        });
      }
      return true; // R1: wait for this exit before the next entry
    }
    // Step 4: cleanup complete.
    r.step = 'waiting';
  }
  if (r.step === 'waiting') {
    const d = checkBackoff(ctx.s.podBackoff, r.eventTime, ctx.now, ctx.backoff, `${ctx.s.uid}/pod`);
    if (!d.allowed) {
      if (!r.backoffWait) event(ctx, 'Warning', 'BackOff', `Back-off restarting all containers in pod ${ctx.podRef}`);
      r.backoffWait = { delayMs: d.delayMs, retryAt: d.retryAt };
      ctx.wake.push(d.retryAt);
      return true;
    }
    ctx.s.podBackoff = d.entry;
    delete r.backoffWait;
    r.step = 'restarting';
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Exit decisions (§2.3)

/** Decides every exited instance that has no decision yet. Returns the reset sources found. */
function decideExits(ctx: Ctx): void {
  const resetSources: { ref: ContainerRef; finishedAt: number; text: string }[] = [];
  const stoppingOrGone = ctx.s.deletion !== undefined || isTerminalPhase(ctx.s.phase) || ctx.s.stopping !== undefined;
  const resetBlocking = ctx.s.reset !== undefined && ctx.s.reset.step !== 'restarting';
  for (const ref of allRefs(ctx.pod)) {
    const c = rec(ctx, ref);
    const inst = c.instance;
    if (!inst || inst.phase !== 'exited' || inst.decision) continue;
    const code = inst.exitCode ?? 0;
    const t = inst.finishedAt ?? ctx.now;
    // X1
    if (stoppingOrGone) {
      inst.decision = { kind: 'none' };
      continue;
    }
    // X2
    // A kill ordered after the process had already exited did not cause the exit: the exit is
    // ordinary (a probe result racing with the exit must not turn it into a probe kill).
    const kill = inst.kill && (inst.finishedAt === undefined || inst.finishedAt >= inst.kill.at || inst.kill.cause === 'reset') ? inst.kill : undefined;
    if (kill && kill.cause !== 'postStart' && !(kill.cause === 'probe' && !kill.restart)) {
      if (kill.cause === 'reset' || ctx.s.reset?.killed.includes(inst.id)) inst.decision = { kind: 'absorbed' };
      else if (kill.cause === 'manual') inst.decision = { kind: 'restart', counted: false, trigger: 'manual', immediate: true };
      else if (kill.cause === 'unknown' || kill.cause === 'definition') inst.decision = { kind: 'restart', counted: false, trigger: kill.cause };
      else if (kill.cause === 'probe') {
        if (resetBlocking) inst.decision = { kind: 'absorbed' };
        else decideRestart(ctx, ref, inst, t, code, 'probe', true, resetSources);
      } else inst.decision = { kind: 'none' }; // deletion, stop, sandbox: the owning section decides
      continue;
    }
    // X3
    if (resetBlocking) {
      inst.decision = { kind: 'absorbed' };
      continue;
    }
    const v = exitVerdict(ctx.pod, ref, code);
    if (v.kind === 'reset') {
      resetSources.push({ ref, finishedAt: t, text: `container ${ref.name} exited with code ${code} matching restartPolicyRules[${v.rule.index}]` });
      inst.decision = { kind: 'reset' };
    } else if (v.kind === 'restart') {
      const trigger = v.by === 'rule' ? `restartPolicyRules[${v.rule?.index ?? 0}]` : v.by;
      decideRestart(ctx, ref, inst, t, code, trigger, !ctx.settings.freeExitCodes.includes(code), resetSources);
    } else if (v.kind === 'completed') {
      inst.decision = { kind: 'completed' };
    } else {
      inst.decision = { kind: 'none' };
    }
  }
  if (resetSources.length > 0 && !ctx.s.stopping) {
    // Several sources: one reset; event time = latest finishedAt; texts in spec order (init first).
    const ruleSources = resetSources.filter((x) => ctx.s.containers[x.ref.name]?.instance?.decision?.kind === 'reset');
    const budgetSources = resetSources.filter((x) => ctx.s.containers[x.ref.name]?.instance?.decision?.kind === 'escalated');
    const eventTime = Math.max(...resetSources.map((x) => x.finishedAt));
    const first = resetSources[0] as (typeof resetSources)[number];
    if (ruleSources.length > 0) {
      if (admitReset(ctx, first.ref.name, eventTime, true)) {
        const text = ruleSources.map((x) => x.text).join('; ');
        beginReset(ctx, { kind: 'rule', text }, resetSources.map((x) => x.ref.name), eventTime,
          'RestartAllContainersStarted', 'container exited with restart policy rule');
      }
    } else if (budgetSources.length > 0) {
      if (admitReset(ctx, first.ref.name, eventTime, true)) {
        beginReset(ctx, { kind: 'budget', text: first.text }, resetSources.map((x) => x.ref.name), eventTime,
          'RestartBudgetExceeded', first.text);
      }
    }
  }
}

/** A restart decided by X2 (probe), X6, X8 or X9, checked against the budget first (§10.3). */
function decideRestart(
  ctx: Ctx, ref: ContainerRef, inst: Instance, t: number, code: number, trigger: string, counted: boolean,
  resetSources: { ref: ContainerRef; finishedAt: number; text: string }[],
): void {
  if (counted) {
    const adm = admitContainerRestart(ctx, ref, t);
    if (!adm.ok) {
      inst.decision = { kind: 'escalated', rung: adm.rung };
      if (adm.rung === 'pod') {
        event(ctx, 'Warning', 'RestartBudgetExceeded', `${adm.text}, escalating to pod`);
        resetSources.push({ ref, finishedAt: t, text: adm.text });
      } else if (adm.rung === 'recreate') {
        escalateToRecreate(ctx, ref.name, adm.text);
      } else {
        failByBudget(ctx, adm.text);
      }
      return;
    }
  }
  void code;
  inst.decision = { kind: 'restart', counted, trigger };
}

// ---------------------------------------------------------------------------------------------
// Stopping (§2.7, §8)

function beginStop(ctx: Ctx, reason: NonNullable<PodState['stopping']>['reason'], message?: string): void {
  if (ctx.s.stopping) return;
  ctx.s.stopping = { reason, at: ctx.now, deadline: ctx.now + ctx.graceMs };
  if (message !== undefined) ctx.s.stopping.message = message;
  for (const c of Object.values(ctx.s.containers)) delete c.backoffWait;
}

/**
 * §8.1 steps 3-5 (also used by §8.2): regular and ephemeral containers get preStop + SIGTERM at
 * once; sidecars get their preStop at T0 and SIGTERM in reverse start order after every regular
 * container (and every later sidecar) has terminated; SIGKILL at the deadline, never less than
 * 2 s after a container's SIGTERM. Returns true when nothing runs any more.
 */
function driveTermination(ctx: Ctx, t0: number, deadline: number, cause: 'deletion' | 'stop'): boolean {
  const live = (ref: ContainerRef): Instance | undefined => {
    const i = ctx.s.containers[ref.name]?.instance;
    return i && isAlive(i) ? i : undefined;
  };
  for (const ref of [...regularRefs(ctx.pod), ...ephemeralRefs(ctx.pod)]) {
    const inst = live(ref);
    if (!inst || (inst.kill && inst.kill.cause !== 'probe' && inst.kill.cause !== 'manual')) continue;
    if (inst.kill) continue; // a probe or manual kill already runs; it ends by the same deadline
    orderKill(ctx, ref, cause, `Stopping container ${ref.name}`, {
      preStop: hasPreStop(ref), sigterm: true, sigkillAt: Math.max(deadline, ctx.now), restart: false,
    });
  }
  // Init containers (not sidecars) still running: stopped like regular containers.
  for (const ref of initRefs(ctx.pod).filter((r) => r.kind === 'init')) {
    const inst = live(ref);
    if (!inst || inst.kill) continue;
    orderKill(ctx, ref, cause, `Stopping container ${ref.name}`, {
      preStop: false, sigterm: true, sigkillAt: Math.max(deadline, ctx.now), restart: false,
    });
  }
  const sidecars = initRefs(ctx.pod).filter((r) => r.kind === 'sidecar');
  // preStop hooks of sidecars at T0, with their Killing event.
  for (const ref of sidecars) {
    const inst = live(ref);
    if (!inst || inst.kill) continue;
    const message = `Stopping container ${ref.name}`;
    inst.kill = { cause, ordered: true, at: ctx.now, restart: false, message, preStop: hasPreStop(ref), terminated: false };
    event(ctx, 'Normal', 'Killing', message, ref);
    if (hasPreStop(ref)) ctx.actions.push({ type: 'preStop', container: ref.name, instanceId: inst.id });
  }
  const regularsDone = [...regularRefs(ctx.pod), ...ephemeralRefs(ctx.pod), ...initRefs(ctx.pod).filter((r) => r.kind === 'init')]
    .every((r) => !live(r));
  if (regularsDone) {
    // Reverse start order: the last sidecar in spec order first, one after another.
    for (let k = sidecars.length - 1; k >= 0; k--) {
      const ref = sidecars[k] as ContainerRef;
      const inst = live(ref);
      if (!inst) continue;
      if (inst.kill && !inst.kill.terminated) {
        inst.kill.terminated = true;
        ctx.actions.push({
          type: 'kill', container: ref.name, instanceId: inst.id, cause, preStop: false, sigterm: true,
          sigkillAt: Math.max(deadline, ctx.now + 2000),
        });
      }
      break; // wait for this one before the next
    }
  }
  void t0;
  return allRefs(ctx.pod).every((r) => !live(r));
}

function hasPreStop(ref: ContainerRef): boolean {
  return ref.spec.lifecycle?.preStop !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Normal operation: probes, unknown states, init sequence, regular containers (§2.4, §2.5, §3)

function handleUnknown(ctx: Ctx, ref: ContainerRef): boolean {
  const c = rec(ctx, ref);
  const inst = c.instance;
  if (!inst || inst.phase !== 'unknown' || inst.kill) return false;
  const msg = ref.kind === 'regular' || ref.kind === 'ephemeral'
    ? 'Container is in "unknown" state, try killing it before restart'
    : 'Init container is in "unknown" state, try killing it before restart';
  if (ref.kind === 'init' && effectivePolicy(ctx.pod, ref) === 'Never' && !inst.lostOnRestart) {
    // §2.4: an init container under Never in unknown state fails the pod.
    orderKill(ctx, ref, 'stop', msg, { preStop: false, sigterm: false, sigkillAt: ctx.now, restart: false });
    inst.decision = { kind: 'none' };
    return true;
  }
  orderKill(ctx, ref, 'unknown', msg, { preStop: false, sigterm: false, sigkillAt: ctx.now, restart: true });
  return true;
}

function handleProbeFailure(ctx: Ctx, ref: ContainerRef): void {
  const c = rec(ctx, ref);
  const inst = c.instance;
  if (!inst || inst.phase !== 'running' || inst.kill) return;
  const which = inst.livenessFailed ? 'liveness' : inst.startupFailed && !inst.started ? 'startup' : undefined;
  if (!which) return;
  const probe = which === 'liveness' ? ref.spec.livenessProbe : ref.spec.startupProbe;
  const restart = ref.kind === 'sidecar' || effectivePolicy(ctx.pod, ref) !== 'Never';
  const message = ref.kind === 'sidecar'
    ? `Init container ${ref.name} failed ${which} probe`
    : restart ? `Container ${ref.name} failed ${which} probe, will be restarted` : `Container ${ref.name} failed ${which} probe`;
  orderKill(ctx, ref, 'probe', message, {
    preStop: hasPreStop(ref), sigterm: true, sigkillAt: ctx.now + probeGraceMs(ctx, probe), restart,
  });
}

function handleManualRestart(ctx: Ctx, ref: ContainerRef): void {
  const c = rec(ctx, ref);
  if (c.manualRestartAt === undefined) return;
  delete c.manualRestartAt;
  const inst = c.instance;
  if (!inst || inst.phase === 'exited' || inst.kill) {
    if (inst?.phase === 'exited') {
      inst.decision = { kind: 'restart', counted: false, trigger: 'manual', immediate: true };
    }
    return;
  }
  orderKill(ctx, ref, 'manual', `Stopping container ${ref.name} to restart it on request`, {
    preStop: hasPreStop(ref), sigterm: true, sigkillAt: ctx.now + probeGraceMs(ctx, undefined), restart: true,
  });
}

/** Whether a start of `ref`'s container is owed now regardless of its exit decision. */
function owedFreshStart(c: ContainerRecord): boolean {
  return c.rerun === true || c.removedByReset === true;
}

/**
 * Runs one container through the start logic. Returns 'blocked' when later init entries must
 * wait, 'done' when it is complete/started, 'failed' when it failed the pod.
 */
function driveContainer(ctx: Ctx, ref: ContainerRef): 'blocked' | 'done' | 'failed' {
  const c = rec(ctx, ref);
  const inst = c.instance;
  if (!inst) {
    if (!c.everRan || owedFreshStart(c)) {
      orderStart(ctx, ref);
      return 'blocked';
    }
    return 'done';
  }
  if (owedFreshStart(c) && inst.phase === 'exited') {
    orderStart(ctx, ref);
    return 'blocked';
  }
  switch (inst.phase) {
    case 'creating':
      return 'blocked';
    case 'created':
      // §2.4: created, never started: start it, whatever the policy.
      orderStart(ctx, ref);
      return 'blocked';
    case 'unknown':
      handleUnknown(ctx, ref);
      return ref.kind === 'sidecar' && inst.started ? 'done' : 'blocked';
    case 'running':
      if (!ctx.s.deletion) handleProbeFailure(ctx, ref);
      if (ref.kind === 'sidecar') return inst.started || inst.kill ? (inst.started ? 'done' : 'blocked') : 'blocked';
      return ref.kind === 'init' ? 'blocked' : 'done';
    case 'exited': {
      const d = inst.decision;
      if (!d) return 'blocked';
      if (d.kind === 'completed') return 'done';
      if (d.kind === 'restart') {
        tryRestart(ctx, ref, d.immediate === true);
        return ref.kind === 'sidecar' && inst.kill === undefined && c.everRan && wasStarted(inst) ? 'done' : 'blocked';
      }
      if (d.kind === 'none') return ref.kind === 'init' ? 'failed' : 'done';
      return 'blocked';
    }
  }
}

function wasStarted(inst: Instance): boolean {
  return inst.startedAt !== undefined && inst.started;
}

/** §3.2: init containers and sidecars one at a time in spec order. Returns true when initialized. */
function driveInit(ctx: Ctx): 'initialized' | 'pending' | 'failed' {
  const refs = initRefs(ctx.pod);
  const initialized = ctx.s.initializedOnce && ctx.s.reinitializing !== true;
  for (const ref of refs) {
    const c = rec(ctx, ref);
    if (initialized) {
      // I5: init containers never run again; sidecars are restarted on every exit (X6).
      if (ref.kind === 'sidecar') driveContainer(ctx, ref);
      else if (c.instance?.phase === 'running' || c.instance?.phase === 'unknown') handleUnknown(ctx, ref);
      continue;
    }
    const r = driveContainer(ctx, ref);
    if (r === 'failed') return 'failed';
    if (r === 'blocked') return 'pending';
  }
  ctx.s.initializedOnce = true;
  delete ctx.s.reinitializing;
  return 'initialized';
}

/** §2.7/X10: no regular container is running and none will be started. */
function nothingLeftToRun(ctx: Ctx): boolean {
  return regularRefs(ctx.pod).every((ref) => {
    const c = ctx.s.containers[ref.name];
    const inst = c?.instance;
    if (!c || !inst) return c?.everRan === true && !owedFreshStart(c);
    if (inst.phase !== 'exited') return false;
    const d = inst.decision;
    return d !== undefined && (d.kind === 'none' || d.kind === 'completed');
  });
}

/** §2.6: the sandbox is gone. Returns true when the normal path must not run. */
function driveSandboxLoss(ctx: Ctx): boolean {
  // S1: kill all remaining instances.
  let alive = false;
  for (const ref of allRefs(ctx.pod)) {
    const inst = ctx.s.containers[ref.name]?.instance;
    if (inst && isAlive(inst)) {
      alive = true;
      if (!inst.kill) orderKill(ctx, ref, 'sandbox', `Stopping container ${ref.name}`, { preStop: false, sigterm: false, sigkillAt: ctx.now, restart: false });
    }
  }
  if (alive) return true;
  const regs = regularRefs(ctx.pod);
  const anyRan = allRefs(ctx.pod).some((r) => ctx.s.containers[r.name]?.everRan);
  // S2
  if (podRestartPolicy(ctx.pod) === 'Never' && anyRan) {
    beginStop(ctx, 'Finished');
    return true;
  }
  // S3
  const set = regs.filter((ref) => {
    const c = ctx.s.containers[ref.name];
    const inst = c?.instance;
    const lastCode = inst?.phase === 'exited' ? inst.exitCode : c?.last?.exitCode;
    const runsOnce = ref.spec.restartPolicy === 'OnFailure' || (ref.spec.restartPolicy === undefined && podRestartPolicy(ctx.pod) === 'OnFailure');
    return !(lastCode === 0 && runsOnce && c?.everRan);
  });
  // S4
  if (set.length === 0 && regs.some((r) => ctx.s.containers[r.name]?.everRan)) {
    beginStop(ctx, 'Finished');
    return true;
  }
  // S5
  const attempt = ctx.s.sandbox.attempt + 1;
  ctx.s.sandbox = { state: 'creating', attempt };
  ctx.actions.push({ type: 'releaseSandbox' }, { type: 'createSandbox', attempt });
  event(ctx, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
  for (const ref of initRefs(ctx.pod)) rec(ctx, ref).rerun = true;
  for (const ref of set) rec(ctx, ref).rerun = true;
  ctx.s.reinitializing = true;
  for (const ref of regs.filter((r) => !set.includes(r))) {
    const inst = ctx.s.containers[ref.name]?.instance;
    if (inst && !inst.decision) inst.decision = { kind: 'none' };
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

/**
 * The reconcile (§0.1): decides what to do now. Idempotent: calling it again with the returned
 * state and no new facts yields no new actions.
 */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const { pod, now } = input;
  const options = input.options ?? DEFAULT_CORE_OPTIONS;
  const settings = readPodvisorSettings(pod.metadata.annotations);
  const s = structuredClone(input.state);
  const ctx: Ctx = {
    pod, s, now, settings,
    backoff: backoffConfigFor(settings, options),
    podRef: podRefOf(pod, s.uid),
    graceMs: (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000,
    actions: [], events: [], wake: [],
  };
  for (const ref of allRefs(pod)) rec(ctx, ref);

  if (!s.finished) {
    reissueKills(ctx);
    step(ctx);
  }

  const status = computePodStatus({ pod, state: s, now });
  s.phase = status.phase ?? s.phase;
  if (isTerminalPhase(s.phase)) {
    if (status.reason !== undefined) s.reason = status.reason;
    if (status.message !== undefined) s.message = status.message;
    if (s.reset) delete s.reset; // a terminal pod closes the reset record (§4.6)
  }
  for (const cond of status.conditions ?? []) {
    const prev = s.conditions[cond.type];
    if (!prev || prev.status !== cond.status) s.conditions[cond.type] = { status: cond.status, lastTransitionTime: now };
  }
  const finalStatus = computePodStatus({ pod, state: s, now });
  const result: ReconcileResult = { state: s, actions: ctx.actions, events: ctx.events, status: finalStatus };
  if (ctx.requeue) result.requeue = true;
  const wake = ctx.wake.filter((w) => w > now);
  if (wake.length > 0) result.wakeAt = Math.min(...wake);
  return result;
}

/** Kills recorded but not (or no longer known to be) ordered: order them again (§4.10). */
function reissueKills(ctx: Ctx): void {
  for (const ref of allRefs(ctx.pod)) {
    const inst = ctx.s.containers[ref.name]?.instance;
    const k = inst?.kill;
    if (!inst || !k || k.ordered || inst.phase === 'exited') continue;
    k.ordered = true;
    ctx.actions.push({
      type: 'kill', container: ref.name, instanceId: inst.id, cause: k.cause, preStop: false,
      sigterm: k.sigterm ?? false, sigkillAt: Math.max(k.sigkillAt ?? ctx.now, ctx.now),
    });
  }
}

/** Reads `stopping` afresh (TypeScript's narrowing does not see mutations made by callees). */
function stoppingOf(s: PodState): PodState['stopping'] {
  return s.stopping;
}

function step(ctx: Ctx): void {
  const s = ctx.s;

  // Deletion (§8.1) wins over everything.
  if (s.deletion) {
    if (s.reset) delete s.reset; // step 2: cancel the reset, close its record
    for (const c of Object.values(s.containers)) delete c.backoffWait;
    decideExits(ctx);
    if (driveTermination(ctx, s.deletion.requestedAt, s.deletion.deadline, 'deletion')) {
      s.finished = true;
      ctx.actions.push({ type: 'releaseSandbox' }, { type: 'deletePod' });
    }
    return;
  }

  if (isTerminalPhase(s.phase) && !s.stopping) {
    // Terminal is final; make sure nothing keeps running.
    beginStop(ctx, 'Finished');
  }

  // §1.4: a pod that is not placed gets no sandbox and starts nothing until it is.
  if (s.unschedulable && !s.stopping) return;

  if (!s.stopping) {
    // activeDeadlineSeconds (§1.4)
    const ads = ctx.pod.spec.activeDeadlineSeconds;
    if (ads !== undefined && s.startTime !== undefined) {
      const at = s.startTime + ads * 1000;
      if (ctx.now >= at) beginStop(ctx, 'DeadlineExceeded', 'Pod was active on the node longer than the specified deadline');
      else ctx.wake.push(at);
    }
  }

  if (!s.stopping) {
    if (s.sandbox.state === 'none') {
      s.sandbox = { state: 'creating', attempt: s.sandbox.attempt };
      ctx.actions.push({ type: 'createSandbox', attempt: s.sandbox.attempt });
      return;
    }
    if (s.sandbox.state === 'creating') return;
    if (s.sandbox.state === 'lost') {
      decideExits(ctx);
      if (driveSandboxLoss(ctx)) {
        if (!s.stopping) return;
      }
    }
  }

  if (!s.stopping) {
    decideExits(ctx);
    if (ctx.resetBegan && s.reset && !s.stopping) {
      // BG1/BG2: a reset that begins is persisted and published (condition True) before
      // anything is killed; the removal continues in an immediate follow-up reconcile.
      ctx.requeue = true;
      return;
    }
  }

  if (s.stopping) {
    if (s.reset) delete s.reset;
    decideExits(ctx);
    const done = driveTermination(ctx, s.stopping.at, s.stopping.deadline, 'stop');
    if (done && s.sandbox.state !== 'none') {
      if (s.stopping.reason === 'Recreate') {
        s.finished = true;
        ctx.actions.push({ type: 'releaseSandbox' }, { type: 'recreatePod', recreations: ctx.settings.recreations + 1 });
      } else if (s.sandbox.state === 'ready' || s.sandbox.state === 'lost') {
        s.sandbox = { state: 'none', attempt: s.sandbox.attempt };
        ctx.actions.push({ type: 'releaseSandbox' });
      }
    }
    return;
  }

  // Reset steps 1-4 block every start (BG3).
  if (s.reset && driveReset(ctx)) return;

  for (const ref of allRefs(ctx.pod)) {
    handleManualRestart(ctx, ref);
  }

  const init = driveInit(ctx);
  if (init === 'failed') {
    finishPod(ctx);
    return;
  }
  if (init === 'initialized') {
    for (const ref of regularRefs(ctx.pod)) driveContainer(ctx, ref);
  }
  for (const ref of ephemeralRefs(ctx.pod)) {
    // X4: ephemeral containers are never restarted; unknown ones are only killed.
    const inst = ctx.s.containers[ref.name]?.instance;
    if (inst?.phase === 'unknown' && !inst.kill) {
      orderKill(ctx, ref, 'stop', 'Container is in "unknown" state, try killing it before restart', { preStop: false, sigterm: false, sigkillAt: ctx.now, restart: false });
    }
  }

  // Close the reset record once every regular container has an instance again (§4.6).
  if (s.reset?.step === 'restarting') {
    const allHave = regularRefs(ctx.pod).every((r) => ctx.s.containers[r.name]?.instance !== undefined);
    if (allHave) delete s.reset;
  }

  if (init === 'initialized' && nothingLeftToRun(ctx)) finishPod(ctx);
}

/** §2.7/§8.2: stop what still runs; once nothing runs, release the sandbox. */
function finishPod(ctx: Ctx): void {
  beginStop(ctx, 'Finished');
  const st = stoppingOf(ctx.s);
  const done = st !== undefined && driveTermination(ctx, st.at, st.deadline, 'stop');
  if (done && ctx.s.sandbox.state !== 'none') {
    ctx.s.sandbox = { state: 'none', attempt: ctx.s.sandbox.attempt };
    ctx.actions.push({ type: 'releaseSandbox' });
  }
}

// ---------------------------------------------------------------------------------------------
// Requests from the API (§2.8, §4.1 T2)

/** A refusal of a restart request (HTTP 409 Conflict, C5). */
export interface RestartRefusal {
  refused: true;
  message: string;
}

function podStateWord(s: PodState): string | undefined {
  if (s.deletion) return 'being deleted';
  if (s.stopping?.reason === 'Recreate') return 'being re-created';
  if (s.phase === 'Succeeded' || s.phase === 'Failed') return s.phase;
  return undefined;
}

/**
 * T2: restart the whole pod in place through the API. A request during a reset joins it.
 * Returns the new state, or a refusal naming the pod and its state.
 */
export function requestPodRestart(pod: Pod, state: PodState, now: number): { state: PodState; events: PodEvent[] } | RestartRefusal {
  const word = podStateWord(state);
  const ref = podRefOf(pod, state.uid);
  if (word) return { refused: true, message: `pod ${ref} cannot be restarted: ${word}` };
  if (state.reset) return { state, events: [] };
  const settings = readPodvisorSettings(pod.metadata.annotations);
  const ctx: Ctx = {
    pod, s: structuredClone(state), now, settings, backoff: backoffConfigFor(settings, DEFAULT_CORE_OPTIONS),
    podRef: ref, graceMs: 0, actions: [], events: [], wake: [],
  };
  beginReset(ctx, { kind: 'api', text: 'pod restart requested through the podvisor API' }, [], now,
    'RestartRequested', 'pod restart requested through the podvisor API');
  return { state: ctx.s, events: ctx.events };
}

/** §2.8: restart one regular container or sidecar on request. */
export function requestContainerRestart(pod: Pod, state: PodState, container: string, now: number): { state: PodState } | RestartRefusal {
  const ref = podRefOf(pod, state.uid);
  const word = podStateWord(state);
  const target = allRefs(pod).find((r) => r.name === container);
  const prefix = `pod ${ref} cannot restart container ${container}`;
  if (word) return { refused: true, message: `${prefix}: ${word}` };
  if (state.reset) return { refused: true, message: `${prefix}: restarting all containers` };
  if (!target) return { refused: true, message: `${prefix}: no such container` };
  if (target.kind === 'init') return { refused: true, message: `${prefix}: init container` };
  if (target.kind === 'ephemeral') return { refused: true, message: `${prefix}: ephemeral container` };
  const s = structuredClone(state);
  const c = s.containers[container] ?? { name: container, kind: target.kind, restartCount: 0 };
  c.manualRestartAt = now;
  s.containers[container] = c;
  return { state: s };
}

/**
 * Re-create through the API (§4.11, podvisor extension): the pod is stopped as in §8.2 and
 * replaced by a new instance (new UID, fresh sandbox) once nothing runs any more.
 */
export function requestPodRecreate(pod: Pod, state: PodState, now: number): { state: PodState } | RestartRefusal {
  const word = podStateWord(state);
  if (word) return { refused: true, message: `pod ${podRefOf(pod, state.uid)} cannot be re-created: ${word}` };
  if (state.stopping?.reason === 'Recreate') return { state };
  const s = structuredClone(state);
  const grace = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  s.stopping = { reason: 'Recreate', message: 're-creation requested through the podvisor API', at: now, deadline: now + grace };
  delete s.reset;
  for (const c of Object.values(s.containers)) delete c.backoffWait;
  return { state: s };
}
