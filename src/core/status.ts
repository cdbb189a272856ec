/**
 * Pure status computation: container statuses (§7), phase (§6.1-6.3) and conditions (§6.4)
 * from the spec and the durable pod state. Deterministic: `now` only stamps conditions that
 * have no recorded transition yet.
 */
import type {
  ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus,
} from '../api/types.js';
import { formatGoDuration } from '../api/duration.js';
import { formatTimestamp } from '../api/time.js';
import {
  ephemeralRefs, hasRestartAllRule, initRefs, isRestartableFor, regularRefs, type ContainerRef,
} from './rules.js';
import { isCreateError, terminatedRecordOf, type ContainerRecord, type Instance, type PodState, type TerminatedRecord } from './model.js';
import { RESET_REMOVED_RECORD } from './transitions.js';
import { parseQuantity } from '../api/quantity.js';

/** D3: the waiting state of a container removed by a reset, from its removal until its next instance runs. */
const RESET_REMOVED_WAITING = { reason: RESET_REMOVED_RECORD.reason, message: RESET_REMOVED_RECORD.message };

/** Input of {@link computePodStatus}. */
export interface StatusInput {
  pod: Pod;
  state: PodState;
  now: number;
}

/** Kubernetes timestamps: RFC 3339, whole seconds, UTC. */
const formatted = new Map<number, string>();
export function formatTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  let text = formatted.get(sec);
  if (text === undefined) {
    // A pod's status repeats the same few instants on every publish: keep the last ones.
    if (formatted.size >= 256) formatted.clear();
    text = formatTimestamp(ms);
    formatted.set(sec, text);
  }
  return text;
}

function fmtTerminated(t: TerminatedRecord): ContainerStateTerminated {
  const out: ContainerStateTerminated = { exitCode: t.exitCode, reason: t.reason };
  if (t.message !== undefined) out.message = t.message;
  if (t.startedAt !== undefined) out.startedAt = formatTime(t.startedAt);
  if (t.finishedAt !== undefined) out.finishedAt = formatTime(t.finishedAt);
  if (t.containerID !== undefined) out.containerID = t.containerID;
  return out;
}

function podRef(pod: Pod, uid: string): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? 'default'}(${uid})`;
}

/** A restart was decided when podvisor killed the instance (probe, manual, unknown): restartable whatever the code (§6.1). */
function restartDecidedAtKill(inst: Instance | undefined): boolean {
  return inst?.kill !== undefined && inst.kill.restart && inst.kill.cause !== 'reset';
}

function lastStateOf(c: ContainerRecord): ContainerState {
  return c.last ? { terminated: fmtTerminated(c.last) } : {};
}

/** §7.2: one container status. */
function containerStatus(input: StatusInput, ref: ContainerRef): ContainerStatus {
  const { pod, state: s } = input;
  const c: ContainerRecord = s.containers[ref.name] ?? { name: ref.name, kind: ref.kind, restartCount: 0 };
  const defaultReason = (pod.spec.initContainers ?? []).length > 0 ? 'PodInitializing' : 'ContainerCreating';
  const st: ContainerStatus = {
    name: ref.name,
    image: ref.spec.image ?? '',
    imageID: '',
    ready: false,
    started: false,
    restartCount: c.restartCount,
    state: { waiting: { reason: defaultReason } },
    lastState: lastStateOf(c),
  };
  const inst = c.instance;
  // As the runtime resolved it (the kubelet publishes the runtime's image and image ID).
  const image = inst?.image;
  if (image) {
    st.image = image.name;
    st.imageID = image.imageID;
  }
  const terminal = s.phase === 'Succeeded' || s.phase === 'Failed';
  if (!inst) {
    if (c.removedByReset && c.last) {
      if (s.deletion || s.stopping || terminal || !s.reset) {
        // §8.1 step 7: removed by a cancelled reset and not started again.
        st.state = { terminated: fmtTerminated(c.last) };
      } else if (s.reset.step === 'waiting' && s.reset.backoffWait) {
        st.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${formatGoDuration(s.reset.backoffWait.delayMs)} restarting all containers pod=${podRef(pod, s.uid)}` } };
      } else {
        st.state = { waiting: { ...RESET_REMOVED_WAITING } };
      }
    }
    return st;
  }
  if (inst.id !== '') st.containerID = inst.id;
  switch (inst.phase) {
    case 'creating':
      if (inst.afterReset) st.state = { waiting: { ...RESET_REMOVED_WAITING } };
      else if (c.restartCount > 0 || c.last) st.state = { waiting: {} };
      break;
    case 'created':
      st.state = { waiting: {} };
      break;
    case 'running':
      st.state = { running: inst.startedAt !== undefined ? { startedAt: formatTime(inst.startedAt) } : {} };
      st.started = inst.started;
      // An init container is ready only once it completed with 0 (§7.1).
      st.ready = ref.kind !== 'init' && inst.started && inst.ready;
      break;
    case 'unknown':
      st.state = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' } };
      break;
    case 'exited': {
      const term = fmtTerminated(terminatedRecordOf(inst));
      const d = inst.decision;
      const stopping = s.deletion !== undefined || s.stopping !== undefined || terminal;
      if (!stopping && c.rerun) {
        st.state = { waiting: { reason: defaultReason } };
        st.lastState = { terminated: term };
      } else if (!stopping && d?.kind === 'restart' && inst.startError && isCreateError(inst.startError.reason)) {
        // The container was never created: it waits with the error, `lastState` carried over (§7.2).
        const w = c.backoffWait;
        st.state = inst.startError.reason === 'ErrImagePull' && w?.pullBackOff === true && w.finishedAt === inst.finishedAt
          ? { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image ${JSON.stringify(ref.spec.image ?? '')}: ErrImagePull: ${inst.startError.message}` } }
          : { waiting: { reason: inst.startError.reason, message: inst.startError.message } };
      } else if (!stopping && d?.kind === 'restart' && c.backoffWait) {
        st.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${formatGoDuration(c.backoffWait.delayMs)} restarting failed container=${ref.name} pod=${podRef(pod, s.uid)}` } };
        st.lastState = { terminated: term };
      } else if (!stopping && d?.kind === 'restart' && inst.startError) {
        st.state = { waiting: { reason: inst.startError.reason, message: inst.startError.message } };
        st.lastState = { terminated: term };
      } else {
        st.state = { terminated: term };
      }
      if (ref.kind === 'init' && inst.exitCode === 0 && inst.decision?.kind !== 'absorbed') st.ready = true;
      break;
    }
  }
  return st;
}

/** Counters of §6.1. */
interface Counts {
  pendingInit: number;
  failedInit: number;
  failedInitFinal: number;
  /** failedInitFinal caused by an init container that ran after the current reset (§6.3 rule 1). */
  failedInitFinalAfterReset: number;
  running: number;
  pendingSidecar: number;
  waiting: number;
  stopped: number;
  succeeded: number;
  stoppedFinal: number;
  unknown: number;
}

function count(input: StatusInput, statuses: Map<string, ContainerStatus>): Counts {
  const { pod, state: s } = input;
  const k: Counts = { pendingInit: 0, failedInit: 0, failedInitFinal: 0, failedInitFinalAfterReset: 0, running: 0, pendingSidecar: 0, waiting: 0, stopped: 0, succeeded: 0, stoppedFinal: 0, unknown: 0 };
  for (const ref of initRefs(pod)) {
    const st = statuses.get(ref.name);
    const c = s.containers[ref.name];
    if (!st) {
      if (ref.kind === 'init') k.pendingInit++;
      else k.unknown++;
      continue;
    }
    if (ref.kind === 'init') {
      const last = st.lastState.terminated;
      // A start already ordered (creating/created) means the restart was decided: pending, never final.
      const starting = c?.instance?.phase === 'creating' || c?.instance?.phase === 'created';
      if (st.state.running || starting || (st.state.waiting && (!last || last.exitCode === 0))) {
        k.pendingInit++;
      } else if (st.state.terminated && st.state.terminated.exitCode === 0) {
        // completed
      } else {
        const code = st.state.terminated?.exitCode ?? last?.exitCode ?? 0;
        if (s.reset?.step === 'restarting' && c?.lastFromReset && !c.instance) {
          k.pendingInit++;
          continue;
        }
        if (st.state.waiting && c?.removedByReset) {
          k.pendingInit++;
          continue;
        }
        k.failedInit++;
        const final = !isRestartableFor(pod, ref, code) && !restartDecidedAtKill(c?.instance);
        if (final) {
          k.failedInitFinal++;
          if (s.reset && c?.instance && c.instance.createdAt >= s.reset.startedAt) k.failedInitFinalAfterReset++;
        }
      }
    } else {
      if (st.state.running) {
        k.running++;
        if (!st.started) k.pendingSidecar++;
      } else if (st.state.waiting && !st.lastState.terminated) {
        k.pendingSidecar++;
        k.waiting++;
      }
    }
  }
  for (const ref of regularRefs(pod)) {
    const st = statuses.get(ref.name);
    const c = s.containers[ref.name];
    if (!st) {
      k.unknown++;
      continue;
    }
    if (st.state.running) {
      k.running++;
    } else if (st.state.terminated) {
      k.stopped++;
      const code = st.state.terminated.exitCode;
      if (code === 0) k.succeeded++;
      const absorbed = c?.instance?.decision?.kind === 'absorbed';
      if (!absorbed && !isRestartableFor(pod, ref, code) && !restartDecidedAtKill(c?.instance) && !c?.rerun) k.stoppedFinal++;
    } else if (st.state.waiting && st.lastState.terminated) {
      k.stopped++;
      const code = st.lastState.terminated.exitCode;
      const owed = c?.removedByReset === true || c?.rerun === true || c?.instance?.phase === 'creating' || c?.instance?.phase === 'created';
      if (!owed && !isRestartableFor(pod, ref, code) && !restartDecidedAtKill(c?.instance)) k.stoppedFinal++;
    } else {
      k.waiting++;
    }
  }
  return k;
}

function allStopped(s: PodState): boolean {
  return Object.values(s.containers).every((c) => !c.instance || c.instance.phase === 'exited');
}

/** §6.2 lines 3-9. */
function phaseFromCounts(k: Counts, s: PodState): PodPhase {
  if (k.failedInitFinal > 0) return 'Failed';
  if (k.pendingInit > 0 || k.waiting > 0 || (k.pendingSidecar > 0 && !s.initializedOnce)) return 'Pending';
  if (k.running > 0 && k.unknown === 0) return 'Running';
  if (k.running === 0 && k.stopped > 0 && k.unknown === 0) {
    if ((s.deletion || s.stopping) && allStopped(s)) return k.stopped === k.succeeded ? 'Succeeded' : 'Failed';
    if (k.stopped > k.stoppedFinal) return 'Running';
    return k.stopped === k.succeeded ? 'Succeeded' : 'Failed';
  }
  return 'Pending';
}

/** §6.2 and §6.3: the phase, plus `status.reason`/`message` for line 1a. */
export function computePhase(input: StatusInput, statuses: Map<string, ContainerStatus>): { phase: PodPhase; reason?: string; message?: string } {
  const s = input.state;
  if (s.phase === 'Succeeded' || s.phase === 'Failed') {
    const out: { phase: PodPhase; reason?: string; message?: string } = { phase: s.phase };
    if (s.reason !== undefined) out.reason = s.reason;
    if (s.message !== undefined) out.message = s.message;
    return out;
  }
  if (s.stopping && (s.stopping.reason === 'RestartBudgetExceeded' || s.stopping.reason === 'DeadlineExceeded') && allStopped(s)) {
    const out: { phase: PodPhase; reason?: string; message?: string } = { phase: 'Failed', reason: s.stopping.reason };
    if (s.stopping.message !== undefined) out.message = s.stopping.message;
    return out;
  }
  if (s.stopping?.reason === 'Recreate') {
    // §4.11: the instance is being replaced, not finished: its phase holds (a controller must
    // not see the pod fail on its way to a fresh instance).
    return { phase: s.phase };
  }
  const k = count(input, statuses);
  if (s.reset) {
    if (k.failedInitFinalAfterReset > 0) return { phase: 'Failed' };
    return { phase: s.reset.phaseBefore };
  }
  return { phase: phaseFromCounts(k, s) };
}

function names(list: string[]): string {
  return `[${list.join(' ')}]`;
}

/**
 * The published status (§7.1): phase, conditions, container statuses. `podIP` and `hostIP`
 * are added by the agent, which owns the sandbox.
 */
export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, state: s, now } = input;
  if (s.unschedulable && s.sandbox.state === 'none' && !Object.values(s.containers).some((c) => c.instance)) {
    // §1.4: waiting to be placed: only PodScheduled, no container statuses.
    const memo = s.conditions['PodScheduled'];
    return {
      phase: 'Pending',
      conditions: [{
        type: 'PodScheduled', status: 'False', lastProbeTime: null, reason: s.unschedulable.reason, message: s.unschedulable.message,
        lastTransitionTime: formatTime(memo && memo.status === 'False' ? memo.lastTransitionTime : now),
      }],
    };
  }
  const statuses = new Map<string, ContainerStatus>();
  const init = initRefs(pod).map((r) => {
    const st = containerStatus(input, r);
    statuses.set(r.name, st);
    return st;
  });
  const regular = regularRefs(pod).map((r) => {
    const st = containerStatus(input, r);
    statuses.set(r.name, st);
    return st;
  });
  const eph = ephemeralRefs(pod).map((r) => containerStatus(input, r));
  const ph = computePhase(input, statuses);
  const phase = ph.phase;

  const conds: PodCondition[] = [];
  const cond = (type: string, status: 'True' | 'False', reason?: string, message?: string): void => {
    const c: PodCondition = { type, status, lastProbeTime: null };
    if (reason !== undefined && reason !== '') c.reason = reason;
    if (message !== undefined && message !== '') c.message = message;
    const memo = s.conditions[type];
    c.lastTransitionTime = formatTime(memo && memo.status === status ? memo.lastTransitionTime : now);
    conds.push(c);
  };

  // PodReadyToStartContainers
  cond('PodReadyToStartContainers', s.sandbox.state === 'ready' ? 'True' : 'False');

  // Initialized
  const inits = initRefs(pod);
  const initializedTrue = ((): { ok: boolean; reason?: string; message?: string } => {
    if (inits.length === 0) return { ok: true };
    if (phase === 'Succeeded' && inits.every((r) => statuses.has(r.name))) return { ok: true, reason: 'PodCompleted' };
    if (regular.some((st) => st.state.running || st.state.terminated)) return { ok: true };
    const unknownNames: string[] = [];
    const incomplete: string[] = [];
    for (const r of inits) {
      const st = statuses.get(r.name);
      if (!st) unknownNames.push(r.name);
      else if (r.kind === 'init' ? !st.ready : !st.started) incomplete.push(r.name);
    }
    if (unknownNames.length === 0 && incomplete.length === 0) return { ok: true };
    if (s.conditions['Initialized']?.status === 'True' || s.initializedOnce) return { ok: true };
    const parts: string[] = [];
    if (unknownNames.length) parts.push(`containers with unknown status: ${names(unknownNames)}`);
    if (incomplete.length) parts.push(`containers with incomplete status: ${names(incomplete)}`);
    return { ok: false, reason: 'ContainersNotInitialized', message: parts.join(', ') };
  })();
  cond('Initialized', initializedTrue.ok ? 'True' : 'False', initializedTrue.reason, initializedTrue.message);

  // ContainersReady and Ready
  const cr = ((): { ok: boolean; reason?: string; message?: string } => {
    if (phase === 'Succeeded') return { ok: false, reason: 'PodCompleted' };
    if (phase === 'Failed') return { ok: false, reason: 'PodFailed' };
    const unknownNames: string[] = [];
    const unready: string[] = [];
    for (const r of [...inits.filter((x) => x.kind === 'sidecar'), ...regularRefs(pod)]) {
      const st = statuses.get(r.name);
      if (!st) unknownNames.push(r.name);
      else if (!st.ready) unready.push(r.name);
    }
    if (unknownNames.length === 0 && unready.length === 0) return { ok: true };
    const parts: string[] = [];
    if (unknownNames.length) parts.push(`containers with unknown status: ${names(unknownNames)}`);
    if (unready.length) parts.push(`containers with unready status: ${names(unready)}`);
    return { ok: false, reason: 'ContainersNotReady', message: parts.join(', ') };
  })();
  if (cr.ok) {
    const gates = pod.spec.readinessGates ?? [];
    const gateMsgs = gates.map((g) => `corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`);
    if (gateMsgs.length > 0) cond('Ready', 'False', 'ReadinessGatesNotReady', gateMsgs.join(', '));
    else cond('Ready', 'True');
  } else {
    cond('Ready', 'False', cr.reason, cr.message);
  }
  cond('ContainersReady', cr.ok ? 'True' : 'False', cr.reason, cr.message);
  cond('PodScheduled', 'True');

  // AllContainersRestarting (D2)
  if (hasRestartAllRule(pod) || s.resetEligible) {
    if (phase === 'Succeeded') cond('AllContainersRestarting', 'False', 'PodCompleted');
    else if (phase === 'Failed') cond('AllContainersRestarting', 'False', 'PodFailed');
    else if (s.reset && s.reset.step === 'removing' && !s.deletion) cond('AllContainersRestarting', 'True', s.reset.conditionReason, s.reset.conditionMessage);
    else cond('AllContainersRestarting', 'False');
  }

  const status: PodStatus = { phase, conditions: conds };
  if (ph.reason !== undefined) status.reason = ph.reason;
  if (ph.message !== undefined) status.message = ph.message;
  if (s.startTime !== undefined) status.startTime = formatTime(s.startTime);
  if (init.length > 0) status.initContainerStatuses = init;
  status.containerStatuses = [...regular].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (eph.length > 0) status.ephemeralContainerStatuses = eph.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  status.qosClass = qosClass(pod);
  return status;
}

/**
 * The pod's QoS class as the kubelet computes it (`qos.GetPodQOS`, over regular and init
 * containers, CPU and memory): `BestEffort` without any request or limit, `Guaranteed` when
 * every container has CPU and memory limits equal to its requests, else `Burstable`.
 */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const req = requests[r];
      const lim = limits[r];
      if (req !== undefined || lim !== undefined) any = true;
      // Requests default to limits (defaultPod); equal quantities compare by value.
      const rq = req === undefined ? undefined : parseQuantity(req);
      const lq = lim === undefined ? undefined : parseQuantity(lim);
      if (!lq?.ok || !rq?.ok || rq.value !== lq.value || lq.value === 0) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
