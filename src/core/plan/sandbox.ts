/**
 * The pod sandbox: its creation, the retry of a failed creation with back-off (the kubelet's
 * `FailedCreatePodSandBox`), and the loss of a sandbox (§2.6).
 */
import type { PodState } from '../model.js';
import { podRestartPolicy } from '../rules.js';
import { recordSandboxFailureReported, recordSandboxOrdered, recordSandboxRecreating } from '../transitions.js';
import { decide, each, join, keep, podEvent, type Decision, type Env } from './decision.js';
import { orderKill } from './start.js';
import { beginStop } from './termination.js';

/** The wait before retrying after the n-th consecutive failure: INITIAL × 2^(n-1), capped at MAX. */
export function sandboxRetryDelayMs(env: Env, failures: number): number {
  return Math.min(env.backoff.initialMs * 2 ** Math.max(0, failures - 1), env.backoff.maxMs);
}

/**
 * Creates the sandbox when there is none, and retries a failed creation once its back-off has
 * passed. Nothing else can happen before the sandbox is ready, so the caller stops here unless
 * it is `ready` or `lost`.
 */
export function ensureSandbox(env: Env, s: PodState): Decision {
  const sb = s.sandbox;
  if (sb.state === 'none') return decide(recordSandboxOrdered(s, sb.attempt), { actions: [{ type: 'createSandbox', attempt: sb.attempt }] });
  if (sb.state !== 'failed' || !sb.failure) return keep(s);
  const f = sb.failure;
  let d = keep(s);
  if (!f.reported) {
    d = decide(recordSandboxFailureReported(s), { events: [podEvent('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${f.message}`)] });
  }
  const retryAt = f.at + sandboxRetryDelayMs(env, f.failures);
  if (env.now < retryAt) return join(d, decide(d.state, { wake: [retryAt] }));
  const attempt = sb.attempt + 1;
  return join(d, decide(recordSandboxOrdered(d.state, attempt), { actions: [{ type: 'createSandbox', attempt }] }));
}

/**
 * §2.6: the sandbox is gone. S1 kills what remains; S2/S4 end the pod; S5 builds a new sandbox
 * and runs init containers and the S3 set again. The pod is either stopping afterwards or waits
 * for the new sandbox.
 */
export function handleSandboxLoss(env: Env, s0: PodState): Decision {
  // S1: kill all remaining instances.
  const alive = env.all.filter((ref) => {
    const inst = s0.containers[ref.name]?.instance;
    return inst !== undefined && inst.phase !== 'exited';
  });
  if (alive.length > 0) {
    return each(keep(s0), alive, (s, ref) => (s.containers[ref.name]?.instance?.kill
      ? keep(s)
      : orderKill(env, s, ref, 'sandbox', `Stopping container ${ref.name}`, { preStop: false, sigterm: false, sigkillAt: env.now, restart: false })));
  }
  const anyRan = env.all.some((r) => s0.containers[r.name]?.everRan);
  // S2
  if (podRestartPolicy(env.pod) === 'Never' && anyRan) return keep(beginStop(env, s0, 'Finished'));
  // S3: every regular container except the run-once ones whose last instance exited 0.
  const set = env.regulars.filter((ref) => {
    const c = s0.containers[ref.name];
    const inst = c?.instance;
    const lastCode = inst?.phase === 'exited' ? inst.exitCode : c?.last?.exitCode;
    const runsOnce = ref.spec.restartPolicy === 'OnFailure' || (ref.spec.restartPolicy === undefined && podRestartPolicy(env.pod) === 'OnFailure');
    return !(lastCode === 0 && runsOnce && c?.everRan);
  });
  // S4
  if (set.length === 0 && env.regulars.some((r) => s0.containers[r.name]?.everRan)) return keep(beginStop(env, s0, 'Finished'));
  // S5
  const attempt = s0.sandbox.attempt + 1;
  const rerun = [...env.inits, ...set].map((r) => r.name);
  const notRestarted = env.regulars.filter((r) => !set.includes(r)).map((r) => r.name);
  return decide(recordSandboxRecreating(s0, attempt, rerun, notRestarted), {
    actions: [{ type: 'releaseSandbox' }, { type: 'createSandbox', attempt }],
    events: [podEvent('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.')],
  });
}
