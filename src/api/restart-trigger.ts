/**
 * Why a restart happens, as a value. The core decides it; events, restart records, metrics and
 * the live view read it. Nothing renders a trigger to text and parses it back: every consumer
 * derives what it shows from these fields ({@link restartTriggerLabel} for metric labels).
 */
import type { RestartPolicy } from './types.js';

/** The rungs of a pod's escalation ladder (spec §10.3). */
export type BudgetRung = 'pod' | 'recreate' | 'fail';

/** What decided a restart, at any level (container, pod in place, re-create). */
export type RestartTrigger =
  /** A rule of `restartPolicyRules` matched the exit code (§2.2); `index` is its position. */
  | { kind: 'rule'; index: number; action: 'Restart' | 'RestartAllContainers' }
  /** The effective `restartPolicy` restarts after this exit (§2.3 X9). */
  | { kind: 'policy'; policy: RestartPolicy }
  /** A sidecar always restarts (§2.3 X6). */
  | { kind: 'sidecar' }
  /** A failed liveness or startup probe killed the instance (§2.5). */
  | { kind: 'probe'; probe: 'liveness' | 'startup' }
  /** podvisor's restart API (§2.8, §4.1 T2) or re-create API (§4.11). */
  | { kind: 'api' }
  /** A restart budget was exceeded and the ladder climbed to `rung` (§10.3). */
  | { kind: 'budget'; rung: BudgetRung }
  /** The instance's state was unknown, or it was lost when podvisor restarted (§2.4). */
  | { kind: 'unknown' }
  /** The container's definition changed (§2.4). */
  | { kind: 'definition' }
  /** A container create failed before the process ran, and is retried (§7.2). */
  | { kind: 'create-error' };

/**
 * The `trigger` label of `podvisor_restarts_total` and the restart records: `policy`, `sidecar`,
 * `probe`, `api`, `budget`, `unknown`, `definition`, `create-error`, and `restartPolicyRules[j]`
 * for a container rule (`restartPolicyRules` for a pod-level reset, whose rule may differ per source).
 */
export function restartTriggerLabel(t: RestartTrigger, level: 'container' | 'pod' | 'recreate' = 'container'): string {
  if (t.kind === 'rule') return level === 'container' ? `restartPolicyRules[${t.index}]` : 'restartPolicyRules';
  return t.kind;
}
