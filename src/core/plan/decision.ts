/**
 * What a planning step returns: the state after its transitions, the actions and events it
 * decided, and the wake-up times it needs. Steps never mutate their input; they are chained
 * with {@link andThen}, which runs the next step on the state the previous one produced.
 */
import type { Pod } from '../../api/types.js';
import { readPodvisorSettings, type PodvisorSettings } from '../../api/annotations.js';
import { podGraceSeconds } from '../../api/defaults.js';
import { compileBackoffConfig, type BackoffConfig } from '../backoff.js';
import type { PodState } from '../model.js';
import { ephemeralRefs, fieldPathOf, initRefs, regularRefs, type ContainerRef } from '../rules.js';
import { DEFAULT_CORE_OPTIONS, type Action, type ClosedReset, type CoreOptions, type PodEvent } from './types.js';

/** The read-only facts one reconcile works with, compiled once per reconcile. */
export interface Env {
  readonly pod: Pod;
  readonly now: number;
  readonly settings: PodvisorSettings;
  readonly backoff: BackoffConfig;
  /** `<name>_<namespace>(<uid>)` (§0.1). */
  readonly podRef: string;
  /** `terminationGracePeriodSeconds` in ms. */
  readonly graceMs: number;
  readonly inits: readonly ContainerRef[];
  readonly regulars: readonly ContainerRef[];
  readonly ephemerals: readonly ContainerRef[];
  /** init and sidecars, regular, ephemeral: spec order within each list. */
  readonly all: readonly ContainerRef[];
}

/** What a step decided. */
export interface Decision {
  readonly state: PodState;
  readonly actions: readonly Action[];
  readonly events: readonly PodEvent[];
  readonly wake: readonly number[];
  /** A reset began (§4.2): it is published before anything is killed. */
  readonly resetBegan?: boolean;
  /** A reset record was closed or cancelled (for the restart record). */
  readonly resetClosed?: ClosedReset;
}

/** A step's decision plus a result the caller branches on. */
export type Outcome<T> = Decision & { readonly outcome: T };

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

/** Compiles the environment of one reconcile. */
export function compileEnv(pod: Pod, uid: string, now: number, options: CoreOptions = DEFAULT_CORE_OPTIONS): Env {
  const settings = readPodvisorSettings(pod.metadata.annotations);
  const inits = initRefs(pod);
  const regulars = regularRefs(pod);
  const ephemerals = ephemeralRefs(pod);
  return {
    pod, now, settings,
    backoff: backoffConfigFor(settings, options),
    podRef: podRefOf(pod, uid),
    graceMs: podGraceSeconds(pod) * 1000,
    inits, regulars, ephemerals,
    all: [...inits, ...regulars, ...ephemerals],
  };
}

/** Nothing decided: the state as it is. */
export function keep(state: PodState): Decision {
  return { state, actions: [], events: [], wake: [] };
}

/** A decision with a new state and what goes with it. */
export function decide(
  state: PodState,
  parts: { actions?: readonly Action[]; events?: readonly PodEvent[]; wake?: readonly number[]; resetBegan?: boolean; resetClosed?: ClosedReset } = {},
): Decision {
  let d: Decision = { state, actions: parts.actions ?? [], events: parts.events ?? [], wake: parts.wake ?? [] };
  if (parts.resetBegan) d = { ...d, resetBegan: true };
  if (parts.resetClosed) d = { ...d, resetClosed: parts.resetClosed };
  return d;
}

/** `next` was computed from `d.state`: the combined decision. */
export function join(d: Decision, next: Decision): Decision {
  let out: Decision = {
    state: next.state,
    actions: next.actions.length ? [...d.actions, ...next.actions] : d.actions,
    events: next.events.length ? [...d.events, ...next.events] : d.events,
    wake: next.wake.length ? [...d.wake, ...next.wake] : d.wake,
  };
  if (d.resetBegan || next.resetBegan) out = { ...out, resetBegan: true };
  const closed = next.resetClosed ?? d.resetClosed;
  if (closed) out = { ...out, resetClosed: closed };
  return out;
}

/** Runs `step` on the state `d` produced and combines both decisions. */
export function andThen(d: Decision, step: (s: PodState) => Decision): Decision {
  return join(d, step(d.state));
}

/** Runs `step` for each item in order, each on the state the previous produced. */
export function each<T>(d: Decision, items: readonly T[], step: (s: PodState, item: T) => Decision): Decision {
  let acc = d;
  for (const item of items) acc = join(acc, step(acc.state, item));
  return acc;
}

/** Attaches a result to a decision. */
export function withOutcome<T>(d: Decision, outcome: T): Outcome<T> {
  return { ...d, outcome };
}

/** An event (§7.4), on the container's field path when `ref` is given. */
export function podEvent(type: PodEvent['type'], reason: string, message: string, ref?: ContainerRef): PodEvent {
  const e: PodEvent = { type, reason, message };
  if (ref) {
    e.container = ref.name;
    e.fieldPath = fieldPathOf(ref);
  }
  return e;
}

/** Whether the phase is terminal (§6.2 line 1). */
export function isTerminalPhase(phase: string): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}
