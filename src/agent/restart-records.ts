/**
 * Restart records (what `podvisor history`, `GET …/restarts` and the metrics read), built from
 * the core's decisions: the trigger as a value, the exits involved, and readable words.
 */
import { restartTriggerLabel } from '../api/restart-trigger.js';
import { exitSignalName } from '../api/signals.js';
import type { RemovedExit, RestartNotice } from '../api/records.js';
import type { ClosedReset, StartCause } from '../core/plan/index.js';
import { terminatedRecordOf, type ContainerRecord } from '../core/model.js';

/** A restart record before the worker stamps it with the time and the pod. */
export type RestartNoticeBody = Omit<RestartNotice, 'time' | 'pod' | 'namespace' | 'podUid'>;

/** A readable cause of a container restart: `exit code 42 matched restartPolicyRules[0] (Restart)`. */
export function describeRestart(cause: StartCause): string {
  const code = cause.exitCode;
  const sig = code !== undefined ? exitSignalName(code) : undefined;
  const how = cause.oomKilled === true ? 'OOMKilled' : sig;
  const exit = code === undefined ? 'exit' : `exit code ${code}${how ? ` (${how})` : ''}`;
  const t = cause.trigger;
  switch (t?.kind) {
    case 'rule': return `${exit} matched restartPolicyRules[${t.index}] (${t.action})`;
    case 'policy': return `${exit}, restartPolicy ${t.policy}`;
    case 'sidecar': return `sidecar ${exit}, sidecars always restart`;
    case 'probe': return `killed after a failed ${t.probe} probe, ${exit}`;
    case 'api': return 'restart requested through the API';
    case 'unknown': return 'state unknown, killed and started again';
    case 'definition': return 'definition changed, killed and started again';
    case 'create-error': return 'container creation failed, retried';
    case 'budget': return `restart budget exceeded, escalated to ${t.rung}`;
    case undefined: return exit;
  }
}

/** The record of a container-level restart (undefined for first starts, resets and recoveries). */
export function containerRestartNotice(cause: StartCause, container: string, restartCount: number): RestartNoticeBody | undefined {
  if (cause.kind !== 'restart' || !cause.trigger) return undefined;
  const notice: RestartNoticeBody = {
    level: 'container', container, trigger: restartTriggerLabel(cause.trigger), cause: cause.trigger,
    description: describeRestart(cause), restartCount,
  };
  if (cause.exitCode !== undefined) {
    notice.exitCode = cause.exitCode;
    const sig = exitSignalName(cause.exitCode);
    if (sig) notice.signal = sig;
  }
  if (cause.sinceExitMs !== undefined) notice.backoffMs = cause.sinceExitMs;
  if (cause.trigger.kind === 'rule') notice.rule = cause.trigger.index;
  return notice;
}

/**
 * The record of an in-place restart once its reset record closed (§4.6): the trigger, the
 * source's exit code, and the real exit of every instance the reset removed (D3: their
 * `lastState` shows the reset's record instead). A reset cut short (deletion, terminal pod)
 * has no duration.
 */
export function resetNotice(closed: ClosedReset, now: number): RestartNoticeBody {
  const r = closed.record;
  const notice: RestartNoticeBody = {
    level: 'pod', trigger: restartTriggerLabel(r.trigger.trigger, 'pod'), cause: r.trigger.trigger, description: r.trigger.text,
    removed: r.removed.map((x) => {
      const out: NonNullable<RestartNotice['removed']>[number] = { container: x.container, exitCode: x.record.exitCode, reason: x.record.reason };
      const sig = exitSignalName(x.record.exitCode);
      if (sig && x.record.reason !== 'OOMKilled') out.signal = sig;
      if (x.record.startedAt !== undefined) out.startedAt = x.record.startedAt;
      if (x.record.finishedAt !== undefined) out.finishedAt = x.record.finishedAt;
      if (x.record.containerID !== undefined) out.containerID = x.record.containerID;
      return out;
    }),
  };
  if (r.trigger.exitCode !== undefined) notice.exitCode = r.trigger.exitCode;
  if (r.trigger.trigger.kind === 'rule') notice.rule = r.trigger.trigger.index;
  if (closed.outcome === 'completed') notice.latencyMs = Math.max(0, now - r.eventTime);
  return notice;
}

/**
 * The run a container-level restart (or a re-creation) ends, for the restart timeline: the
 * instance `replaces` names when it is still the record's, else the record's `lastState`.
 */
export function endedRun(rec: ContainerRecord | undefined, replaces: string | undefined): RemovedExit | undefined {
  if (!rec) return undefined;
  const inst = rec.instance;
  const t = inst && inst.startedAt !== undefined && (replaces === undefined || inst.id === replaces) ? terminatedRecordOf(inst) : rec.last;
  if (!t) return undefined;
  const out: RemovedExit = { container: rec.name, exitCode: t.exitCode, reason: t.reason };
  const sig = exitSignalName(t.exitCode);
  if (sig && t.reason !== 'OOMKilled') out.signal = sig;
  if (t.startedAt !== undefined) out.startedAt = t.startedAt;
  if (t.finishedAt !== undefined) out.finishedAt = t.finishedAt;
  if (t.containerID !== undefined) out.containerID = t.containerID;
  return out;
}
