/**
 * The planner's vocabulary: node-wide options, the actions it asks the agent to execute, the
 * events it records, and the input and output of one reconcile. Plain data.
 */
import type { BudgetRung, RestartTrigger } from '../../api/restart-trigger.js';
import type { Pod, PodStatus } from '../../api/types.js';
import type { KillCause, PodState, ResetRecord } from '../model.js';
import type { ContainerRef } from '../rules.js';

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
  /** On `RestartBudgetExceeded` events: the rung the ladder climbed to (§10.3). */
  escalation?: BudgetRung;
}

/** Why an instance starts. */
export interface StartCause {
  /** `first`: first start; `restart`: after an exit; `reset`: reset step 5; `sandbox`: new sandbox; `recover`: created/unknown recovery. */
  kind: 'first' | 'restart' | 'reset' | 'sandbox' | 'recover';
  /** For `restart`: what decided it. */
  trigger?: RestartTrigger;
  /** Exit code of the instance it replaces. */
  exitCode?: number;
  /** The instance it replaces was killed for exceeding its memory limit. */
  oomKilled?: boolean;
  /** Time since that instance finished, ms (the back-off actually waited, roughly). */
  sinceExitMs?: number;
  /** `finishedAt` of that instance (epoch ms). */
  finishedAt?: number;
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

/** Input of `reconcile`. The pod must be defaulted and valid. */
export interface ReconcileInput {
  pod: Pod;
  state: PodState;
  now: number;
  options?: CoreOptions;
}

/** A reset that ended in this reconcile, for the restart record (§10). */
export interface ClosedReset {
  record: ResetRecord;
  /** `completed`: every regular container has an instance again (§4.6); `cut`: deletion or a terminal pod ended it. */
  outcome: 'completed' | 'cut';
}

/** Output of `reconcile`. */
export interface ReconcileResult {
  state: PodState;
  actions: Action[];
  events: PodEvent[];
  /** When to reconcile again if nothing else happens (backoff timers, deadlines). */
  wakeAt?: number;
  /** Reconcile again at once: this status (e.g. a reset's Begin) must be published first. */
  requeue?: boolean;
  /** A reset record closed in this reconcile. */
  resetClosed?: ClosedReset;
  status: PodStatus;
}
