/**
 * The durable state podvisor keeps for one pod, and the facts the agent records into it.
 *
 * The state is plain JSON (it is persisted as is, C1). The agent never edits it directly: it
 * records facts reported by the runtime and the prober through the `record*` functions here,
 * and asks the planner (`core/plan/`) what to do next; the planner changes the state only
 * through the named transitions of `core/transitions.ts`. Every function is pure and returns a
 * new state; times are epoch milliseconds passed in by the caller.
 */
import type { RestartTrigger } from '../api/restart-trigger.js';
import type { PodPhase } from '../api/types.js';
import type { BackoffEntry } from './backoff.js';
import type { ContainerKind } from './rules.js';

/** Why podvisor killed an instance on its own initiative (X2, C4), or a postStart failure. */
export type KillCause =
  | 'reset'
  | 'deletion'
  | 'stop'
  | 'manual'
  | 'probe'
  | 'unknown'
  | 'definition'
  | 'sandbox'
  | 'postStart';

/** Life cycle of one instance as the core sees it. `creating`: a start was ordered, not yet confirmed. */
export type InstancePhase = 'creating' | 'created' | 'running' | 'exited' | 'unknown';

/** What the reconcile decided for an exited instance (taken once, at the first reconcile after the exit). */
export type InstanceDecision =
  | { kind: 'restart'; counted: boolean; trigger: RestartTrigger; immediate?: boolean }
  | { kind: 'completed' }
  | { kind: 'none' }
  | { kind: 'reset' }
  | { kind: 'absorbed' }
  | { kind: 'escalated'; rung: 'pod' | 'recreate' | 'fail' };

/** A kill podvisor ordered. */
export interface KillRecord {
  cause: KillCause;
  /** The kill action has been handed to the agent (a recorded but unordered kill is ordered by the next reconcile). */
  ordered: boolean;
  at: number;
  /** §2.5 P2/P4: the restart decided at kill time (probe kills); manual and unknown kills restart too. */
  restart: boolean;
  message: string;
  /** The instance was also told to run its preStop hook. */
  preStop?: boolean;
  /** SIGTERM has been ordered (deletion ordering of sidecars, §8.1 step 4). */
  terminated?: boolean;
  /** Whether the kill starts with SIGTERM (false: SIGKILL at once). */
  sigterm?: boolean;
  /** Absolute SIGKILL time. */
  sigkillAt?: number;
  /** For probe kills: the probe that failed. */
  probe?: 'liveness' | 'startup';
  /** The runtime failed to carry the kill out at this time; it is ordered again after {@link KILL_RETRY_MS}. */
  failedAt?: number;
}

/** How long after a failed kill it is ordered again. */
export const KILL_RETRY_MS = 1000;

/** One execution of a container. */
export interface Instance {
  /** Runtime container ID as published (`<runtime>://<id>`); empty while `creating`. */
  id: string;
  phase: InstancePhase;
  /** The image the instance runs, as the runtime resolved it (runtimes that run images). */
  image?: { name: string; imageID: string };
  /** `image` of the container's spec when this instance was created (§2.4 definition change). */
  specImage?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** The runtime reported an out-of-memory kill (D10: reason `OOMKilled`, exit 137). */
  oomKilled?: boolean;
  /** Termination message (`terminationMessagePath` or log tail). */
  message?: string;
  /** Startup probe succeeded (or no startup probe and running). */
  started: boolean;
  /** Readiness (true when running without readiness probe once started). */
  ready: boolean;
  /** Liveness failureThreshold reached (reported by the prober). */
  livenessFailed?: boolean;
  /** Startup failureThreshold reached (reported by the prober). */
  startupFailed?: boolean;
  /** A start error of this instance (`RunContainerError`, `PostStartHookError`, …). */
  startError?: { reason: string; message: string };
  kill?: KillRecord;
  decision?: InstanceDecision;
  /** The state is unknown only because podvisor restarted and could not re-adopt it (§2.4). */
  lostOnRestart?: boolean;
  /** The instance vanished from the runtime while it was running (§7.2). */
  vanished?: boolean;
  /** The first instance after a reset removed the container: until it runs, it still shows `RestartingAllContainers` (D3). */
  afterReset?: boolean;
}

/** `state.terminated` / `lastState.terminated` as published. */
export interface TerminatedRecord {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: number;
  finishedAt?: number;
  containerID?: string;
}

/** A start refused by CrashLoopBackOff (§5.2 step 2), kept until the timer fires. */
export interface BackoffWait {
  delayMs: number;
  retryAt: number;
  /** `finishedAt` the refusal is for (the `BackOff` event is recorded once per refused exit). */
  finishedAt: number;
  /**
   * A failed image pull: after half the wait, `ErrImagePull` turns into `ImagePullBackOff` (the
   * kubelet's next sync finds the image back-off), with its `BackOff` event, once.
   */
  pullBackOff?: boolean;
}

/** Everything podvisor remembers about one container of the pod. */
export interface ContainerRecord {
  name: string;
  kind: ContainerKind;
  restartCount: number;
  /** The newest instance that still exists in the runtime (or is being created). */
  instance?: Instance;
  /** The previous instance's terminated record (`lastState`), or the one kept by a reset (§4.4 R3). */
  last?: TerminatedRecord;
  /** The instance was removed by a reset and no new instance exists yet (§4.4 R4). */
  removedByReset?: boolean;
  /** The last instance removed by a reset had not run since (for §6.1's reset exception). */
  lastFromReset?: boolean;
  /** Pending CrashLoopBackOff refusal. */
  backoffWait?: BackoffWait;
  /** The container has had at least one instance. */
  everRan?: boolean;
  /** A new sandbox was created: this container runs again from the start (§2.6 S5). */
  rerun?: boolean;
  /** A manual restart was requested through the API (§2.8) and is not yet ordered. */
  manualRestartAt?: number;
  /** Consecutive container creations that failed before the process ran (retried with back-off, §7.2). */
  createFailures?: number;
}

/**
 * Start errors raised before the container's process existed (`CreateContainerError`,
 * `CreateContainerConfigError`, and `ContainerCreating` while a volume it mounts cannot be set
 * up, the kubelet's `FailedMount`): the container never ran, so the kubelet retries it with
 * back-off whatever the restart policy, and its `restartCount` does not grow.
 */
export function isCreateError(reason: string | undefined): boolean {
  return reason === 'CreateContainerError' || reason === 'CreateContainerConfigError' || reason === 'ContainerCreating' || isImageError(reason);
}

/**
 * The kubelet's image errors (`ErrImagePull`, `ErrImageNeverPull`, `InvalidImageName`): the
 * container was never created, so they are create errors, retried with back-off.
 */
export function isImageError(reason: string | undefined): boolean {
  return reason === 'ErrImagePull' || reason === 'ErrImageNeverPull' || reason === 'InvalidImageName';
}

/** What started a reset (§4.1): the trigger as a value, and the cause as the `RestartingAllContainers` event words it. */
export interface ResetTrigger {
  /** `rule` (T1), `api` (T2) or `budget` (T3). */
  trigger: RestartTrigger;
  /** `container <name> exited with code <code> matching restartPolicyRules[<j>]`, or the API/budget text (C5). */
  text: string;
  /** The exit code of the first source (rule and budget resets). */
  exitCode?: number;
}

/** An instance a reset removed, with its real terminated record (kept for the restart record, D3). */
export interface RemovedInstance {
  container: string;
  record: TerminatedRecord;
}

/** The durable record of an in-place restart of all containers (§4.2 BG1). */
export interface ResetRecord {
  startedAt: number;
  phaseBefore: 'Pending' | 'Running';
  /** Latest source `finishedAt`, or the API call time. */
  eventTime: number;
  trigger: ResetTrigger;
  /** Source container names. */
  sources: string[];
  /** Instance IDs killed by this reset (always targets, never rule-evaluated). */
  killed: string[];
  /** The instances removed so far, in removal order, with their real exits (§4.4 R3). */
  removed: RemovedInstance[];
  /** `removing` = steps 1-3, `waiting` = step 4 with a pod back-off pending, `restarting` = step 5. */
  step: 'removing' | 'waiting' | 'restarting';
  conditionReason: string;
  conditionMessage: string;
  /** Step 4 refusal (pod-level back-off). */
  backoffWait?: { delayMs: number; retryAt: number };
}

/** Why the pod is being stopped with nothing left to run (§8.2), or re-created / failed by a budget. */
export interface StopRecord {
  reason: 'Finished' | 'RestartBudgetExceeded' | 'DeadlineExceeded' | 'Recreate';
  message?: string;
  /** For `Recreate`: what asked for the re-creation (the API, or the budget ladder). */
  trigger?: RestartTrigger;
  /** The container whose exit led to the stop (a budget exceeded by its exit): its exit ended by itself, whatever its time. */
  source?: string;
  at: number;
  /** SIGKILL deadline for every container (at + grace). */
  deadline: number;
}

/** Deletion in progress (§8.1). */
export interface DeletionRecord {
  requestedAt: number;
  deadline: number;
}

/** A sandbox creation that failed, retried with back-off (kubelet `FailedCreatePodSandBox`). */
export interface SandboxFailure {
  message: string;
  at: number;
  /** Consecutive failures so far (the retry waits back-off INITIAL × 2^(failures-1), capped at MAX). */
  failures: number;
  /** The `FailedCreatePodSandBox` event of this failure has been recorded. */
  reported?: boolean;
}

/** The pod's sandbox as the core sees it. `failed`: the last creation failed and waits for its retry. */
export interface SandboxRecord {
  state: 'none' | 'creating' | 'ready' | 'lost' | 'failed';
  attempt: number;
  failure?: SandboxFailure;
}

/** Published condition bookkeeping: `lastTransitionTime` changes only when the status changes. */
export interface ConditionMemo {
  status: string;
  lastTransitionTime: number;
}

/** The durable per-pod state. */
export interface PodState {
  uid: string;
  /** Acceptance time. */
  acceptedAt: number;
  /** `status.startTime`: when the sandbox was first ready. */
  startTime?: number;
  sandbox: SandboxRecord;
  /** Container records keyed by name (names are unique across kinds). */
  containers: Record<string, ContainerRecord>;
  /** Per-container CrashLoopBackOff entries keyed by container name (C1). */
  backoff: Record<string, BackoffEntry>;
  /** Pod-level back-off for resets (§5.4). */
  podBackoff?: BackoffEntry;
  reset?: ResetRecord;
  /** D2: the pod had a reset through the API or a budget escalation. */
  resetEligible: boolean;
  /** In-place pod restarts so far (exposed to workloads as `PODVISOR_POD_RESTART_COUNT`). */
  resetCount?: number;
  /** `Initialized` has been `True` once (§6.4 rule 5). */
  initializedOnce: boolean;
  /** Init containers run again (after a reset, §4.6, or on a new sandbox, §2.6 S5). */
  reinitializing?: boolean;
  deletion?: DeletionRecord;
  stopping?: StopRecord;
  /** The last published phase (terminal is final, §6.2 line 1). */
  phase: PodPhase;
  /** `status.reason` / `status.message` of a terminal pod (§6.2 line 1a). */
  reason?: string;
  message?: string;
  conditions: Record<string, ConditionMemo>;
  /** Counted restarts (§10.2): per container, and resets of the pod; times in ms. */
  budget: { container: Record<string, number[]>; pod: number[] };
  /** The pod is gone from the runtime (deletion finished, or replaced by a re-creation). */
  finished?: boolean;
  /**
   * The re-creation that finished this pod may not have been carried out: podvisor stopped
   * after storing the decision (set at the resume, like unordered kills, §4.10); the next
   * reconcile orders it again.
   */
  recreatePending?: boolean;
  /** GPU device IDs held by this pod instance (kept across restarts in place and podvisor restarts). */
  gpus?: string[];
  /** Not placed yet (e.g. not enough free GPUs, §1.4): no sandbox, `PodScheduled=False`. */
  unschedulable?: { reason: string; message: string };
}

/** A fresh state for a newly accepted pod. */
export function newPodState(uid: string, now: number): PodState {
  return {
    uid,
    acceptedAt: now,
    sandbox: { state: 'none', attempt: 0 },
    containers: {},
    backoff: {},
    resetEligible: false,
    initializedOnce: false,
    phase: 'Pending',
    conditions: {},
    budget: { container: {}, pod: [] },
  };
}

/** The terminated record of an exited (or vanished) instance. */
export function terminatedRecordOf(inst: Instance): TerminatedRecord {
  const exitCode = inst.exitCode ?? 137;
  const reason = inst.phase !== 'exited'
    ? 'ContainerStatusUnknown'
    : inst.oomKilled
      ? 'OOMKilled'
      : exitCode === 0
        ? 'Completed'
        : inst.startError && inst.startError.reason !== 'PostStartHookError'
          ? 'StartError'
          : 'Error';
  const rec: TerminatedRecord = { exitCode, reason: inst.vanished ? 'ContainerStatusUnknown' : reason };
  if (inst.vanished) rec.message = 'The container could not be located when the pod was deleted.  The container used to be Running';
  else if (inst.phase !== 'exited') rec.message = 'The container could not be located when the pod was terminated';
  else if (inst.message !== undefined && inst.message !== '') rec.message = inst.message;
  if (inst.startedAt !== undefined) rec.startedAt = inst.startedAt;
  if (inst.finishedAt !== undefined) rec.finishedAt = inst.finishedAt;
  if (inst.id !== '') rec.containerID = inst.id;
  return rec;
}
