/**
 * Supervision of a pod's running instances: each one's exit is recorded (an event, the
 * runtime's `exited` promise, never polled) and its probes run; exec lifecycle hooks
 * (postStart, preStop) run in it.
 */
import type { Container } from '../api/types.js';
import { recordExited, recordProbe } from '../core/facts.js';
import type { ContainerHandle, ExitInfo } from '../runtime/types.js';
import { allContainers } from './container-spec.js';
import { InstanceProber, type ProbeKind } from './prober.js';
import type { WorkerContext } from './worker-context.js';

/** The exit as the core records it (D10). */
export function exitFact(exit: ExitInfo): { exitCode: number; finishedAt: number; oomKilled?: boolean; message?: string } {
  const e: { exitCode: number; finishedAt: number; oomKilled?: boolean; message?: string } = { exitCode: exit.exitCode, finishedAt: exit.finishedAt };
  if (exit.oomKilled) e.oomKilled = true;
  if (exit.message !== undefined && exit.message !== '') e.message = exit.message;
  return e;
}

const PROBE_TITLE: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

/** What {@link watchInstance} uses of the worker. */
export type WatchContext = Pick<
  WorkerContext, 'runtime' | 'clock' | 'handles' | 'probers' | 'report' | 'state' | 'setState' | 'stopped' | 'sandbox' | 'heldExits' | 'wake'
>;

/**
 * Supervises a running instance: a freshly started one, or one re-adopted after a podvisor
 * restart (the same code for both, so an adopted instance is watched exactly as a started
 * one). Its exit is recorded and wakes the worker; its probes start. `started`: the instance
 * already passed its startup probe (an adopted one), so liveness and readiness start at once.
 */
export function watchInstance(cx: WatchContext, container: string, spec: Container, handle: ContainerHandle, started = false): void {
  const id = handle.id;
  cx.handles.set(id, handle);
  void handle.exited.then((exit) => {
    if (cx.stopped()) return; // stopped by podvisor itself (or after it stopped): no pod event
    cx.probers.get(id)?.stop();
    cx.probers.delete(id);
    cx.handles.delete(id);
    const record = (): void => {
      cx.setState(recordExited(cx.state(), container, id, exitFact(exit)));
      cx.report.log('info', 'container exited', { container, containerID: id, exitCode: exit.exitCode });
      cx.wake();
    };
    const held = cx.heldExits();
    if (held) held.push(record);
    else record();
  });
  const prober = new InstanceProber({
    runtime: cx.runtime, clock: cx.clock, container: spec, instanceId: id, host: cx.sandbox()?.ip ?? '127.0.0.1',
    onResult: (kind, result) => {
      if (cx.stopped()) return;
      cx.setState(recordProbe(cx.state(), container, id, kind, result));
      cx.wake();
    },
    onFailure: (kind, output) => {
      if (cx.stopped() || cx.state().deletion) return;
      cx.report.containerEvent(container, 'Warning', 'Unhealthy', `${PROBE_TITLE[kind]} probe failed: ${output}`);
    },
  });
  if (prober.start({ started })) cx.probers.set(id, prober);
}

/** Runs an exec lifecycle hook; returns false (and records the event) on failure. */
export async function runHook(
  cx: Pick<WorkerContext, 'pod' | 'runtime' | 'clock' | 'report'>, container: string, id: string, hook: 'postStart' | 'preStop', deadline: number,
): Promise<boolean> {
  const spec = allContainers(cx.pod()).find((c) => c.name === container);
  const cmd = spec?.lifecycle?.[hook]?.exec?.command;
  if (!cmd || cmd.length === 0) return true;
  const r = await cx.runtime.exec(id, cmd, { timeoutMs: Math.max(1000, deadline - cx.clock.now()) });
  if (r.exitCode === 0 && !r.timedOut) return true;
  if (hook === 'postStart') cx.report.containerEvent(container, 'Warning', 'FailedPostStartHook', 'PostStartHook failed');
  else cx.report.containerEvent(container, 'Warning', 'FailedPreStopHook', 'PreStopHook failed');
  cx.report.log('warn', 'lifecycle hook failed', { container, hook, exitCode: r.exitCode, output: r.output.slice(0, 500) });
  return false;
}
