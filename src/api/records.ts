/**
 * Records shared by every layer: Kubernetes-shaped events as the agent records them
 * (spec §7.4) and restart records. They live in `api/` because the agent produces them, the
 * store keeps them, the server serves them and the CLI prints them; none of those layers may
 * import another for a type.
 */
import type { BudgetRung, RestartTrigger } from './restart-trigger.js';

/** One recorded event, close to core/v1 Event. */
export interface RecordedEvent {
  /** Epoch ms of the first occurrence. */
  firstTimestamp: number;
  /** Epoch ms of the last occurrence. */
  lastTimestamp: number;
  count: number;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  involvedObject: {
    kind: 'Pod';
    name: string;
    namespace: string;
    uid: string;
    /** `spec.containers{name}` for container events. */
    fieldPath?: string;
  };
  /** The container the event is about, if any. */
  container?: string;
  /** On `RestartBudgetExceeded` events: the rung the ladder climbed to (not part of the API object). */
  escalation?: BudgetRung;
}

/** The real exit of an instance a pod-level restart removed (its `lastState` shows the reset's record, D3). */
export interface RemovedExit {
  container: string;
  exitCode: number;
  /** `Completed`, `Error`, `OOMKilled`, ... */
  reason: string;
  /** The signal that ended it, from its 128+N exit code. */
  signal?: string;
  startedAt?: number;
  finishedAt?: number;
  containerID?: string;
}

/** One restart at any level: what restarted, why, and how (the restart record of issue 6 builds on it). */
export interface RestartNotice {
  time: number;
  pod: string;
  namespace: string;
  podUid: string;
  level: 'container' | 'pod' | 'recreate';
  /** The container restarted (container level), or whose exit led to a re-creation by the budget ladder. */
  container?: string;
  /** The trigger's label: `policy`, `sidecar`, `restartPolicyRules[j]`, `probe`, `api`, `unknown`, `budget`, ... (from `cause`). */
  trigger: string;
  /** What decided the restart, as a value (absent in records written before podvisor 0.2). */
  cause?: RestartTrigger;
  /** Pod level and re-creations: the instances the reset (or the re-creation) removed, with their real exits, in removal order. */
  removed?: RemovedExit[];
  /** Container level: the run that ended (its start, exit and reason), as the restart timeline draws it. */
  ended?: RemovedExit;
  exitCode?: number;
  /** Human-readable cause, e.g. `exit code 42 matched restartPolicyRules[0]`. */
  description: string;
  /** New restartCount of the container (container level). */
  restartCount?: number;
  /** Back-off waited before the restart, ms (time from the exit to the decision to start). */
  backoffMs?: number;
  /** How long the restart took: exit (or reset start) until running again, ms; for a re-creation, from the stop's start until the old pod was released. */
  latencyMs?: number;
  /** A matching rule's index, when a rule decided. */
  rule?: number;
  /** The signal that ended the previous instance (from its 128+N exit code). */
  signal?: string;
}

/**
 * An event as a core/v1 Event object (metadata.name, resourceVersion, involvedObject, ...): what
 * the agent makes of a {@link RecordedEvent}, the store keeps and the API serves.
 */
export type EventObject = Record<string, unknown> & { metadata: { name: string; namespace: string; resourceVersion: string }; involvedObject: RecordedEvent['involvedObject'] };
