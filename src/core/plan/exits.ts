/**
 * Exit decisions (§2.3): every exited instance without a decision gets one, once, at the first
 * reconcile after its exit. Sources of `RestartAllContainers` found here begin one reset.
 */
import type { RestartTrigger } from '../../api/restart-trigger.js';
import { isCreateError, type Instance, type InstanceDecision, type PodState } from '../model.js';
import { exitVerdict, podRestartPolicy, type ContainerRef } from '../rules.js';
import { recordDecision } from '../transitions.js';
import { admitContainerRestart, admitReset, escalateToPodEvent, escalateToRecreate, failByBudget } from './budget.js';
import { decide, isTerminalPhase, join, keep, type Decision, type Env } from './decision.js';
import { beginReset } from './reset.js';

/** A container whose exit asks for a reset: by a rule (T1) or by budget escalation (T3). */
interface ResetSource {
  ref: ContainerRef;
  finishedAt: number;
  exitCode: number;
  /** The `RestartingAllContainers` cause (rule) or the budget text. */
  text: string;
  by: 'rule' | 'budget';
  ruleIndex?: number;
}

/** What one exit leads to: a decision, possibly with side effects (events, a stop) and a reset source. */
interface ExitOutcome {
  d: Decision;
  source?: ResetSource;
}

function decided(s: PodState, name: string, decision: InstanceDecision): ExitOutcome {
  return { d: keep(recordDecision(s, name, decision)) };
}

/** A restart decided by X2 (probe), X6, X8 or X9, checked against the budget first (§10.3). */
function decideRestart(env: Env, s: PodState, ref: ContainerRef, t: number, code: number, trigger: RestartTrigger, counted: boolean): ExitOutcome {
  if (!counted) return decided(s, ref.name, { kind: 'restart', counted, trigger });
  const adm = admitContainerRestart(env, s, ref.name, t);
  if (adm.outcome.ok) return { d: join(adm, keep(recordDecision(adm.state, ref.name, { kind: 'restart', counted, trigger }))) };
  const { rung, text } = adm.outcome;
  const st = recordDecision(adm.state, ref.name, { kind: 'escalated', rung });
  if (rung === 'pod') {
    return { d: decide(st, { events: [escalateToPodEvent(text)] }), source: { ref, finishedAt: t, exitCode: code, text, by: 'budget' } };
  }
  return { d: rung === 'recreate' ? escalateToRecreate(env, st, ref.name, text) : failByBudget(env, st, text) };
}

/** The kill that caused this exit, if podvisor's (a kill ordered after the process had exited did not). */
function causingKill(inst: Instance): Instance['kill'] {
  const k = inst.kill;
  if (!k) return undefined;
  return inst.finishedAt === undefined || inst.finishedAt >= k.at || k.cause === 'reset' ? k : undefined;
}

/** §2.3 X1-X10 for one exited instance. */
function decideExit(env: Env, s: PodState, ref: ContainerRef, inst: Instance, flags: { stoppingOrGone: boolean; resetBlocking: boolean }): ExitOutcome {
  const code = inst.exitCode ?? 0;
  const t = inst.finishedAt ?? env.now;
  // X1: deletion, a stop or a terminal phase: nothing restarts.
  if (flags.stoppingOrGone) return decided(s, ref.name, { kind: 'none' });
  // X2: podvisor killed it on its own initiative (C4): the owning section decides, no rules.
  const kill = causingKill(inst);
  if (kill && kill.cause !== 'postStart' && !(kill.cause === 'probe' && !kill.restart)) {
    if (kill.cause === 'reset' || s.reset?.killed.includes(inst.id)) return decided(s, ref.name, { kind: 'absorbed' });
    if (kill.cause === 'manual') return decided(s, ref.name, { kind: 'restart', counted: false, trigger: { kind: 'api' }, immediate: true });
    if (kill.cause === 'unknown') return decided(s, ref.name, { kind: 'restart', counted: false, trigger: { kind: 'unknown' } });
    if (kill.cause === 'definition') return decided(s, ref.name, { kind: 'restart', counted: false, trigger: { kind: 'definition' } });
    if (kill.cause === 'probe') {
      if (flags.resetBlocking) return decided(s, ref.name, { kind: 'absorbed' });
      return decideRestart(env, s, ref, t, code, { kind: 'probe', probe: kill.probe ?? 'liveness' }, true);
    }
    return decided(s, ref.name, { kind: 'none' }); // deletion, stop, sandbox loss
  }
  // X3: a reset in Steps 1-4 absorbs the exit.
  if (flags.resetBlocking) return decided(s, ref.name, { kind: 'absorbed' });
  // A creation that failed before the process ran is retried whatever the policy (§7.2).
  if (isCreateError(inst.startError?.reason)) return decided(s, ref.name, { kind: 'restart', counted: false, trigger: { kind: 'create-error' } });
  // X4-X10
  const v = exitVerdict(env.pod, ref, code);
  if (v.kind === 'reset') {
    const text = `container ${ref.name} exited with code ${code} matching restartPolicyRules[${v.rule.index}]`;
    return { ...decided(s, ref.name, { kind: 'reset' }), source: { ref, finishedAt: t, exitCode: code, text, by: 'rule', ruleIndex: v.rule.index } };
  }
  if (v.kind === 'restart') {
    const trigger: RestartTrigger = v.by === 'rule'
      ? { kind: 'rule', index: v.rule?.index ?? 0, action: 'Restart' }
      : v.by === 'sidecar' ? { kind: 'sidecar' } : { kind: 'policy', policy: ref.spec.restartPolicy ?? podRestartPolicy(env.pod) };
    return decideRestart(env, s, ref, t, code, trigger, !env.settings.freeExitCodes.includes(code));
  }
  return decided(s, ref.name, { kind: v.kind === 'completed' ? 'completed' : 'none' });
}

/** Several sources make one reset; its event time is the latest `finishedAt` (§4.9). */
function resetFromSources(env: Env, s: PodState, sources: ResetSource[]): Decision {
  const first = sources[0];
  if (!first || s.stopping) return keep(s);
  const eventTime = Math.max(...sources.map((x) => x.finishedAt));
  const names = sources.map((x) => x.ref.name);
  const ruleSources = sources.filter((x) => x.by === 'rule');
  const admitted = admitReset(env, s, first.ref.name, eventTime);
  if (!admitted.outcome) return admitted;
  const rule = ruleSources[0];
  if (rule) {
    const trigger = { trigger: { kind: 'rule', index: rule.ruleIndex ?? 0, action: 'RestartAllContainers' } as RestartTrigger, text: ruleSources.map((x) => x.text).join('; '), exitCode: rule.exitCode };
    return join(admitted, beginReset(env, admitted.state, trigger, names, eventTime, { reason: 'RestartAllContainersStarted', message: 'container exited with restart policy rule' }));
  }
  const trigger = { trigger: { kind: 'budget', rung: 'pod' } as RestartTrigger, text: first.text, exitCode: first.exitCode };
  return join(admitted, beginReset(env, admitted.state, trigger, names, eventTime, { reason: 'RestartBudgetExceeded', message: first.text }));
}

/** Decides every exited instance that has no decision yet (§2.3), then begins a reset if one was asked for. */
export function decideExits(env: Env, s0: PodState): Decision {
  const flags = {
    stoppingOrGone: s0.deletion !== undefined || isTerminalPhase(s0.phase) || s0.stopping !== undefined,
    resetBlocking: s0.reset !== undefined && s0.reset.step !== 'restarting',
  };
  let d = keep(s0);
  const sources: ResetSource[] = [];
  for (const ref of env.all) {
    const inst = d.state.containers[ref.name]?.instance;
    if (!inst || inst.phase !== 'exited' || inst.decision) continue;
    const o = decideExit(env, d.state, ref, inst, flags);
    d = join(d, o.d);
    if (o.source) sources.push(o.source);
  }
  return sources.length > 0 ? join(d, resetFromSources(env, d.state, sources)) : d;
}
