/**
 * Execution of the core's actions for one pod worker (sandbox, start, kill, preStop, remove,
 * re-creation and deletion of the pod), and what happens when the runtime cannot carry one out.
 * Starts are in worker-start.ts; graceful kills run in the background and report back through
 * facts + a wake.
 */
import type { Pod } from '../api/types.js';
import { ANN_RECREATIONS, readPodvisorSettings } from '../api/annotations.js';
import { podGraceSeconds } from '../api/defaults.js';
import { restartTriggerLabel } from '../api/restart-trigger.js';
import { recordKillFailed, recordSandboxFailed, recordSandboxReady } from '../core/facts.js';
import type { Action } from '../core/plan/index.js';
import type { Sandbox, SandboxSpec } from '../runtime/types.js';
import type { Timer } from './clock.js';
import { allContainers } from './container-spec.js';
import { endedRun } from './restart-records.js';
import type { WorkerContext } from './worker-context.js';
import { runHook } from './worker-instances.js';
import { startContainer } from './worker-start.js';

/** What the runtime needs to build (or re-attach) this pod's sandbox. */
export function sandboxSpec(pod: Pod, podUid: string): SandboxSpec {
  const spec: SandboxSpec = {
    podUid, podName: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? 'default',
    emptyDirs: (pod.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name),
    shareProcessNamespace: pod.spec.shareProcessNamespace === true,
  };
  const init = readPodvisorSettings(pod.metadata.annotations).containerInit;
  if (init !== undefined) spec.containerInit = init;
  const fsGroup = pod.spec.securityContext?.fsGroup;
  if (fsGroup !== undefined) spec.fsGroup = fsGroup;
  return spec;
}

/** Carries out one action of a reconcile (the worker runs them in order, one at a time). */
export async function executeAction(cx: WorkerContext, a: Action): Promise<void> {
  switch (a.type) {
    case 'createSandbox': {
      let sandbox: Sandbox;
      try {
        sandbox = await cx.runtime.createSandbox(sandboxSpec(cx.pod(), cx.state().uid));
      } catch (err) {
        if (cx.stopped()) return;
        // FailedCreatePodSandBox: the core records the event and retries with back-off.
        const message = err instanceof Error ? err.message : String(err);
        cx.setState(recordSandboxFailed(cx.state(), message, cx.clock.now()));
        cx.report.log('warn', 'sandbox creation failed', { attempt: a.attempt, error: message });
        return;
      }
      if (cx.stopped()) return;
      cx.setSandbox(sandbox);
      cx.setState(recordSandboxReady(cx.state(), cx.clock.now()));
      return;
    }
    case 'releaseSandbox': {
      for (const p of cx.probers.values()) p.stop();
      const sandbox = cx.sandbox();
      if (sandbox) await cx.runtime.releaseSandbox(sandbox, { deleteData: cx.state().finished === true });
      return;
    }
    case 'start':
      return startContainer(cx, a);
    case 'kill':
      return kill(cx, a);
    case 'preStop': {
      const spec = allContainers(cx.pod()).find((c) => c.name === a.container);
      if (spec?.lifecycle?.preStop?.exec) cx.track(runHook(cx, a.container, a.instanceId, 'preStop', cx.clock.now() + podGraceSeconds(cx.pod()) * 1000));
      return;
    }
    case 'remove': {
      cx.probers.get(a.instanceId)?.stop();
      cx.probers.delete(a.instanceId);
      cx.handles.delete(a.instanceId);
      if (a.instanceId !== '') await cx.runtime.removeContainer(a.instanceId);
      return;
    }
    case 'recreatePod': {
      // Also when this process has no sandbox object (released before a podvisor restart).
      await cx.runtime.releaseSandbox(cx.sandbox() ?? { podUid: cx.state().uid }, { deleteData: true });
      if (cx.stopped()) return; // the next start re-creates it from the stored state
      // The stop record says what asked for the re-creation (the API or the budget ladder).
      const state = cx.state();
      const trigger = state.stopping?.trigger ?? { kind: 'api' };
      const removed = Object.values(state.containers).map((r) => endedRun(r, undefined)).filter((x) => x !== undefined);
      const stopAt = state.stopping?.at;
      const source = state.stopping?.source;
      cx.report.notice({
        level: 'recreate', trigger: restartTriggerLabel(trigger, 'recreate'), cause: trigger, description: state.stopping?.message ?? 're-created', removed,
        ...(source !== undefined ? { container: source } : {}),
        ...(stopAt !== undefined ? { latencyMs: Math.max(0, cx.clock.now() - stopAt) } : {}),
      });
      const pod: Pod = structuredClone(cx.pod());
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [ANN_RECREATIONS]: String(a.recreations) };
      cx.sinks.onRecreate?.(pod, a.recreations);
      return;
    }
    case 'deletePod': {
      await cx.runtime.releaseSandbox(cx.sandbox() ?? { podUid: cx.state().uid }, { deleteData: true });
      if (cx.stopped()) return; // the next start completes the deletion from the stored state
      cx.sinks.onDeleted?.({ ...cx.pod(), status: cx.status() ?? {} }, cx.state());
      return;
    }
  }
}

/**
 * An action the runtime could not carry out is never silent: a Warning event names it, and
 * what must be retried is recorded as a fact the core retries (sandbox creation and kills;
 * start errors are recorded by `start` itself).
 */
export function actionFailed(cx: WorkerContext, a: Action, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  cx.report.log('error', 'action failed', { action: a.type, error: message });
  switch (a.type) {
    case 'kill':
      killFailed(cx, a, message);
      return;
    case 'remove':
      cx.report.containerEvent(a.container, 'Warning', 'Failed', `Error: cannot remove container ${a.container}: ${message}`);
      return;
    case 'releaseSandbox':
    case 'deletePod':
    case 'recreatePod':
      cx.report.emit({ type: 'Warning', reason: 'FailedKillPod', message: `error killing pod: ${message}` });
      return;
    default:
      cx.report.emit({ type: 'Warning', reason: 'FailedSync', message: `error executing ${a.type}: ${message}` });
  }
}

/** A kill failed: `FailedKillPod`, and the core orders it again after a short delay. */
function killFailed(cx: WorkerContext, a: Extract<Action, { type: 'kill' }>, message: string): void {
  cx.report.containerEvent(a.container, 'Warning', 'FailedKillPod', `error killing container ${a.container}: ${message}`);
  cx.setState(recordKillFailed(cx.state(), a.container, a.instanceId, cx.clock.now()));
  cx.wake();
}

/**
 * Kills an instance in the background: its preStop hook when ordered, then SIGTERM and SIGKILL
 * at `sigkillAt` (or SIGKILL at once), unless it exited meanwhile.
 */
function kill(cx: WorkerContext, a: Extract<Action, { type: 'kill' }>): void {
  const handle = cx.handles.get(a.instanceId);
  cx.probers.get(a.instanceId)?.stop();
  if (!handle) return;
  const task = (async () => {
    let exited = false;
    const exitP = handle.exited.then(() => {
      exited = true;
    });
    if (a.preStop) await runHook(cx, a.container, a.instanceId, 'preStop', a.sigkillAt);
    // After stop() the kill is the stop's business (PodWorker.stop): this task ends.
    if (exited || cx.stopped()) return;
    if (!a.sigterm) {
      await cx.runtime.killAll(a.instanceId);
      return;
    }
    cx.runtime.signal(a.instanceId, 'SIGTERM');
    let t: Timer | undefined;
    let end!: () => void;
    const deadline = new Promise<void>((resolve) => {
      end = resolve;
      t = cx.clock.at(a.sigkillAt, resolve);
    });
    cx.onStop.add(end);
    await Promise.race([exitP, deadline]);
    cx.onStop.delete(end);
    t?.cancel();
    if (!exited && !cx.stopped()) await cx.runtime.killAll(a.instanceId);
  })().catch((err: unknown) => {
    if (!cx.stopped()) actionFailed(cx, a, err);
  });
  cx.track(task);
}
