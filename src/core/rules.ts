/**
 * Container kinds, effective policies and restart-rule matching (spec §0.1, §2.2, §2.3 X5-X9).
 */
import type { Container, ContainerRestartRule, Pod, RestartPolicy } from '../api/types.js';

/** The four container kinds of spec §0.1. */
export type ContainerKind = 'init' | 'sidecar' | 'regular' | 'ephemeral';

/** A container of the pod with its kind and position. */
export interface ContainerRef {
  name: string;
  kind: ContainerKind;
  /** Index in its spec list (`initContainers`, `containers` or `ephemeralContainers`). */
  index: number;
  spec: Container;
}

/** The spec list a kind lives in. */
export function specListOf(kind: ContainerKind): 'initContainers' | 'containers' | 'ephemeralContainers' {
  return kind === 'regular' ? 'containers' : kind === 'ephemeral' ? 'ephemeralContainers' : 'initContainers';
}

/** Event field path of a container: `spec.containers{name}` (§7.4). */
export function fieldPathOf(ref: { kind: ContainerKind; name: string }): string {
  return `spec.${specListOf(ref.kind)}{${ref.name}}`;
}

/** Init containers and sidecars in spec order. */
export function initRefs(pod: Pod): ContainerRef[] {
  return (pod.spec.initContainers ?? []).map((spec, index) => ({
    name: spec.name,
    kind: spec.restartPolicy === 'Always' ? 'sidecar' : 'init',
    index,
    spec,
  }));
}

/** Regular containers in spec order. */
export function regularRefs(pod: Pod): ContainerRef[] {
  return pod.spec.containers.map((spec, index) => ({ name: spec.name, kind: 'regular', index, spec }));
}

/** Ephemeral containers in spec order. */
export function ephemeralRefs(pod: Pod): ContainerRef[] {
  return (pod.spec.ephemeralContainers ?? []).map((spec, index) => ({ name: spec.name, kind: 'ephemeral', index, spec }));
}

/** Every container: init/sidecars, regular, ephemeral (spec order within each list). */
export function allRefs(pod: Pod): ContainerRef[] {
  return [...initRefs(pod), ...regularRefs(pod), ...ephemeralRefs(pod)];
}

/** The pod's restart policy after defaulting (`Always` when absent or empty). */
export function podRestartPolicy(pod: Pod): RestartPolicy {
  const p = pod.spec.restartPolicy;
  return p === 'OnFailure' || p === 'Never' ? p : 'Always';
}

/** Effective policy: the container's own `restartPolicy` if set, else the pod's (§0.1). */
export function effectivePolicy(pod: Pod, ref: ContainerRef): RestartPolicy {
  return ref.spec.restartPolicy ?? podRestartPolicy(pod);
}

/** A matching rule and its index in `restartPolicyRules`. */
export interface RuleMatch {
  index: number;
  rule: ContainerRestartRule;
}

/**
 * §2.2: the first rule whose exit-code condition holds. Rules are consulted only when the
 * container has its own `restartPolicy` and is not ephemeral (M1).
 */
export function findMatchingRule(ref: ContainerRef, exitCode: number): RuleMatch | undefined {
  if (ref.kind === 'ephemeral' || ref.spec.restartPolicy === undefined) return undefined;
  const rules = ref.spec.restartPolicyRules ?? [];
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index] as ContainerRestartRule;
    const cond = rule.exitCodes;
    if (!cond) continue;
    const inValues = (cond.values ?? []).includes(exitCode);
    const holds = cond.operator === 'In' ? inValues : cond.operator === 'NotIn' ? !inValues : false;
    if (holds) return { index, rule };
  }
  return undefined;
}

/** Whether the effective policy restarts after an exit with `exitCode` (§2.3 X9). */
export function policyRestarts(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** What the rules and policies of §2.3 X4-X10 say about an ordinary exit. */
export type ExitVerdict =
  | { kind: 'reset'; rule: RuleMatch }
  | { kind: 'restart'; rule?: RuleMatch; by: 'sidecar' | 'rule' | 'policy' }
  | { kind: 'completed' }
  | { kind: 'none' };

/**
 * §2.3 X4-X10 for an exit that no earlier line (X1-X3) handled: the verdict for `exitCode`.
 * Pure function of the spec; used for decisions and for "restartable for code X" (§6.1).
 */
export function exitVerdict(pod: Pod, ref: ContainerRef, exitCode: number): ExitVerdict {
  if (ref.kind === 'ephemeral') return { kind: 'none' };
  const match = findMatchingRule(ref, exitCode);
  if (match && match.rule.action === 'RestartAllContainers') return { kind: 'reset', rule: match };
  if (ref.kind === 'sidecar') return { kind: 'restart', by: 'sidecar' };
  if (ref.kind === 'init' && exitCode === 0) return { kind: 'completed' };
  if (match && match.rule.action === 'Restart') return { kind: 'restart', rule: match, by: 'rule' };
  if (policyRestarts(effectivePolicy(pod, ref), exitCode)) return { kind: 'restart', by: 'policy' };
  return { kind: 'none' };
}

/** "Restartable for code X" of §6.1: X5, X8 or X9 would restart the container. */
export function isRestartableFor(pod: Pod, ref: ContainerRef, exitCode: number): boolean {
  const v = exitVerdict(pod, ref, exitCode);
  return v.kind === 'reset' || v.kind === 'restart';
}

/** D2: the pod has at least one `RestartAllContainers` rule on a non-ephemeral container. */
export function hasRestartAllRule(pod: Pod): boolean {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c) =>
    (c.restartPolicyRules ?? []).some((r) => r.action === 'RestartAllContainers'),
  );
}
