/**
 * The two steps of `PodWorker.resume` after a podvisor restart (§4.10, §2.4): adoption of what
 * the runtime still finds of the pod's instances (adoption.ts sorts it), and the replay of the
 * exits that happened while podvisor was down, one at a time through the normal reconcile.
 */
import { recordExited, recordSandboxReady } from '../core/facts.js';
import type { Sandbox } from '../runtime/types.js';
import { adoptionOf, findInstances, type ExitWhileDown } from './adoption.js';
import { allContainers } from './container-spec.js';
import { sandboxSpec } from './worker-actions.js';
import type { WorkerContext } from './worker-context.js';
import { exitFact, watchInstance } from './worker-instances.js';

/**
 * The first part of `PodWorker.resume`: adopts what the runtime finds, reaps the rest, re-attaches
 * the sandbox. Returns the exits found, oldest first (undefined once stopped).
 */
export async function adopt(cx: WorkerContext): Promise<readonly ExitWhileDown[] | undefined> {
  const now = cx.clock.now();
  const found = await findInstances(cx.runtime, cx.state());
  if (cx.stopped()) return undefined;
  const adopted = new Set(found.flatMap((f) => (f.found.state === 'running' ? [f.found.handle.id] : [])));
  const reaped = (await cx.runtime.reapOrphans?.(cx.state().uid, adopted)) ?? 0;
  if (cx.stopped()) return undefined;
  let sandbox: Sandbox | undefined;
  if (cx.state().sandbox.state === 'ready' || cx.state().sandbox.state === 'creating') {
    sandbox = await cx.runtime.createSandbox(sandboxSpec(cx.pod(), cx.state().uid));
    if (cx.stopped()) return undefined;
    cx.setSandbox(sandbox);
  }
  // Recorded on the state as it is now: requests that arrived meanwhile are kept.
  const adoption = adoptionOf(cx.state(), cx.pod(), found, now);
  cx.setState(sandbox ? recordSandboxReady(adoption.state, now) : adoption.state);
  // Exits of adopted instances seen from now on happened after those found: they wait for
  // the replay (an exit already reported by the runtime is delivered after this call too).
  if (adoption.exited.length > 0) cx.setHeldExits([]);
  const specs = allContainers(cx.pod());
  for (const { container, handle } of adoption.running) {
    const spec = specs.find((c) => c.name === container);
    if (spec) watchInstance(cx, container, spec, handle, cx.state().containers[container]?.instance?.started === true);
  }
  cx.report.log('info', 'pod resumed after a podvisor restart', {
    adopted: adoption.running.length, exitedWhileDown: adoption.exited.length, lost: adoption.lost, leftoverContainers: reaped,
  });
  return adoption.exited;
}

/**
 * Records exits that happened while podvisor was down, in order, each followed by a full
 * reconcile (see `PodWorker.resume`); exits seen live meanwhile are held until the end.
 */
export async function replayExits(cx: WorkerContext, exits: readonly ExitWhileDown[]): Promise<void> {
  if (exits.length === 0) {
    cx.wake();
    return;
  }
  try {
    for (const { container, instanceId, exit } of exits) {
      if (cx.stopped()) return;
      cx.setState(recordExited(cx.state(), container, instanceId, exitFact(exit)));
      cx.report.log('info', 'container exited while podvisor was down', {
        container, containerID: instanceId, exitCode: exit.exitCode, finishedAt: new Date(exit.finishedAt).toISOString(),
      });
      cx.wake();
      await cx.whenIdle();
    }
  } finally {
    const held = cx.heldExits() ?? [];
    cx.setHeldExits(undefined);
    for (const record of held) record();
  }
}
