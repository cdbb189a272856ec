/**
 * Restart budgets and the escalation ladder (§10, podvisor extension): whether a counted
 * container restart or reset may happen, and what replaces it when it may not.
 */
import type { EscalationRung } from '../../api/annotations.js';
import { formatGoDuration } from '../../api/duration.js';
import type { BudgetRung } from '../../api/restart-trigger.js';
import type { PodState } from '../model.js';
import { recordContainerRestartCounted, recordPodRestartCounted } from '../transitions.js';
import { decide, keep, podEvent, withOutcome, type Decision, type Env, type Outcome } from './decision.js';
import { beginStop } from './termination.js';

/** §10.3 step 4: `container <name> exceeded its restart budget: <n> <unit> within <window>`. */
export function budgetText(name: string, n: number, unit: 'restarts' | 'pod restarts' | 're-creations', windowMs: number): string {
  return `container ${name} exceeded its restart budget: ${n} ${unit} within ${formatGoDuration(windowMs)}`;
}

function countInWindow(times: readonly number[], t: number, windowMs: number): number {
  return times.filter((x) => x > t - windowMs && x <= t).length;
}

/** The first rung of the pod's ladder after `after`; `fail` when none follows. */
function nextRung(env: Env, after: EscalationRung): BudgetRung {
  const order: EscalationRung[] = ['container', 'pod', 'recreate', 'fail'];
  for (const r of order.slice(order.indexOf(after) + 1)) if (env.settings.escalation.includes(r)) return r as BudgetRung;
  return 'fail';
}

function escalationEvent(text: string, rung: BudgetRung): Decision['events'][number] {
  return { ...podEvent('Warning', 'RestartBudgetExceeded', `${text}, escalating to ${rung}`), escalation: rung };
}

/** §10.3 step 3: the pod is stopped and fails with reason `RestartBudgetExceeded`. */
export function failByBudget(env: Env, s: PodState, text: string): Decision {
  return decide(beginStop(env, s, 'RestartBudgetExceeded', text), { events: [escalationEvent(text, 'fail')] });
}

/** The `recreate` rung (§4.11, §10.3 step 3): re-create unless that exceeds `max-recreates`. */
export function escalateToRecreate(env: Env, s: PodState, source: string, text: string): Decision {
  const n = env.settings.recreations + 1;
  if (env.settings.maxRecreates !== undefined && n > env.settings.maxRecreates) {
    return failByBudget(env, s, budgetText(source, n, 're-creations', env.settings.restartWindowMs));
  }
  return decide(beginStop(env, s, 'Recreate', text, { kind: 'budget', rung: 'recreate' }, source), { events: [escalationEvent(text, 'recreate')] });
}

/**
 * §10.3 step 2: a counted reset at `eventTime` would begin. The outcome is true when it may
 * (and it is counted); otherwise the next rung has been applied.
 */
export function admitReset(env: Env, s: PodState, source: string, eventTime: number): Outcome<boolean> {
  const max = env.settings.podMaxRestarts;
  // Without a budget nothing is counted: the list would only grow (budgets are immutable, §1.1).
  if (max === undefined) return withOutcome(keep(s), true);
  const windowMs = env.settings.restartWindowMs;
  const n = countInWindow(s.budget.pod, eventTime, windowMs) + 1;
  if (n <= max) return withOutcome(decide(recordPodRestartCounted(s, eventTime, windowMs)), true);
  const text = budgetText(source, n, 'pod restarts', windowMs);
  return withOutcome(nextRung(env, 'pod') === 'recreate' ? escalateToRecreate(env, s, source, text) : failByBudget(env, s, text), false);
}

/** Outcome of {@link admitContainerRestart}. */
export type ContainerAdmission = { ok: true } | { ok: false; rung: BudgetRung; text: string };

/**
 * §10.2, §10.3 step 1: a counted restart of `name` decided at `t`. When it is within budget it
 * is counted; otherwise the outcome names the rung that replaces it (nothing applied yet).
 */
export function admitContainerRestart(env: Env, s: PodState, name: string, t: number): Outcome<ContainerAdmission> {
  const max = env.settings.containerMaxRestarts;
  if (max === undefined) return withOutcome(keep(s), { ok: true });
  const windowMs = env.settings.restartWindowMs;
  const n = countInWindow(s.budget.container[name] ?? [], t, windowMs) + 1;
  if (n <= max) return withOutcome(decide(recordContainerRestartCounted(s, name, t, windowMs)), { ok: true });
  return withOutcome(decide(s), { ok: false, rung: nextRung(env, 'container'), text: budgetText(name, n, 'restarts', windowMs) });
}

/** The `RestartBudgetExceeded` event of a container escalating to a reset (§10.3 step 1). */
export function escalateToPodEvent(text: string): Decision['events'][number] {
  return escalationEvent(text, 'pod');
}
