/**
 * Re-adoption after a podvisor restart (spec §2.4 "Unknown after a podvisor restart", §4.10):
 * what the runtime still finds of the instances an earlier podvisor process started, sorted into
 * what the worker resumes from. Where containers outlive podvisor (a monitor is their parent),
 * a running instance keeps running and an exit that happened meanwhile is an ordinary exit;
 * what cannot be found is lost (`ContainerStatusUnknown`, started again without rules).
 *
 * This module asks the runtime and records facts; it decides nothing: the worker replays the
 * exits found through the normal reconcile, one at a time (see `PodWorker.resume`).
 */
import type { Pod } from '../api/types.js';
import { recordCreated, recordStarted, recordStartNotCarriedOut, recordVanished, recoverAfterRestart } from '../core/facts.js';
import type { PodState } from '../core/model.js';
import type { AdoptedInstance, ContainerHandle, ContainerRuntime, ExitInfo } from '../runtime/types.js';
import { allContainers } from './container-spec.js';

/** A running instance re-attached: the worker supervises it as if it had just started it. */
export interface AdoptedRunning {
  container: string;
  handle: ContainerHandle;
}

/** An instance that exited while podvisor was down, with its real exit. */
export interface ExitWhileDown {
  container: string;
  instanceId: string;
  exit: ExitInfo;
}

/** What a pod resumes from after a podvisor restart. */
export interface Adoption {
  /**
   * The stored state with the facts of the restart recorded: ordered kills to order again
   * (§4.10), lost instances vanished, and an instance recorded as created but found running or
   * exited recorded as started (it ran). Exits found are NOT recorded yet: see {@link exited}.
   */
  state: PodState;
  /** Instances found running (same ID, PID and start time). */
  running: AdoptedRunning[];
  /** Exits that happened while podvisor was down, oldest `finishedAt` first (ties: container order). */
  exited: ExitWhileDown[];
  /** Instances neither running nor with an exit record: recorded as vanished. */
  lost: number;
}

/** The runtime's answer for one instance the stored state does not know to have exited. */
export interface FoundInstance {
  container: string;
  instanceId: string;
  found: AdoptedInstance;
  /**
   * For an instance whose start was in flight when podvisor stopped (stored without an ID): the
   * ID the runtime launched it under, when its launch record was found. Absent with `found`
   * unknown: nothing was launched (or nothing of it can be found).
   */
  launchedAs?: string;
}

/**
 * Asks the runtime about every instance of `stored` that is not known to have exited
 * ({@link ContainerRuntime.adoptContainer}). An instance whose start was in flight (no ID) is
 * looked up among the runtime's launch records of the pod: the newest record of its container
 * that no other instance of the state claims, launched after the start was ordered, is the
 * launch it was waiting for; without one it never launched. A runtime without monitors answers `unknown` for every instance.
 */
export async function findInstances(runtime: ContainerRuntime, stored: PodState): Promise<FoundInstance[]> {
  const asked = Object.values(stored.containers).flatMap((c) => {
    const i = c.instance;
    return i && i.phase !== 'exited' ? [{ container: c.name, instanceId: i.id, orderedAt: i.createdAt }] : [];
  });
  const inFlight = asked.some((q) => q.instanceId === '');
  const records = inFlight ? await runtime.launchedInstances?.(stored.uid).catch(() => []) ?? [] : [];
  const claimed = new Set(Object.values(stored.containers).flatMap((c) => [c.instance?.id ?? '', c.last?.containerID ?? '']));
  return Promise.all(asked.map(async ({ orderedAt, ...q }): Promise<FoundInstance> => {
    if (q.instanceId === '') {
      // Launched after the start was ordered: the records of earlier instances (not removed yet
      // when the earlier process stopped) are never taken for it.
      const launch = records
        .filter((r) => r.container === q.container && !claimed.has(r.id) && r.startedAt >= orderedAt)
        .sort((a, b) => b.startedAt - a.startedAt)[0];
      if (!launch) return { ...q, found: { state: 'unknown' } };
      const found = await runtime.adoptContainer(stored.uid, launch.id).catch((): AdoptedInstance => ({ state: 'unknown' }));
      return found.state === 'unknown' ? { ...q, found } : { ...q, found, launchedAs: launch.id };
    }
    // The port says it never rejects; a runtime that does anyway loses the instance, no more.
    const found = await runtime.adoptContainer(stored.uid, q.instanceId).catch((): AdoptedInstance => ({ state: 'unknown' }));
    return { ...q, found };
  }));
}

/**
 * Records what {@link findInstances} found into `state` (the pod's state when the answers came:
 * a request that arrived meanwhile, such as a deletion, is kept) and sorts the rest for the
 * worker. `now` is the time of the restart. Answers for an instance the state no longer has
 * are ignored (the record functions match the instance ID).
 */
export function adoptionOf(state: PodState, pod: Pod, found: readonly FoundInstance[], now: number): Adoption {
  let s = recoverAfterRestart(state);
  const running: AdoptedRunning[] = [];
  const exited: ExitWhileDown[] = [];
  let lost = 0;
  const specs = allContainers(pod);
  for (const { container, instanceId: storedId, found: f, launchedAs } of found) {
    const inst = s.containers[container]?.instance;
    if (!inst || inst.id !== storedId || inst.phase === 'exited') continue;
    let instanceId = storedId;
    if (storedId === '') {
      if (launchedAs === undefined || f.state === 'unknown') {
        // The start was in flight and launched nothing that can be found: created, never
        // started (§2.4), started again as the same start (a leftover is reaped).
        s = recordStartNotCarriedOut(s, container);
        continue;
      }
      s = recordCreated(s, container, launchedAs, f.state === 'running' ? f.handle.startedAt : f.startedAt);
      instanceId = launchedAs;
    }
    if (f.state === 'unknown') {
      s = recordVanished(s, container, instanceId, now);
      lost++;
      continue;
    }
    if (inst.phase !== 'running') {
      // Recorded as created (the start was interrupted by the restart), but the instance ran:
      // it is started, never started a second time (§2.4 "Created, never started").
      const spec = specs.find((c) => c.name === container);
      const startedAt = f.state === 'running' ? f.handle.startedAt : f.startedAt;
      s = recordStarted(s, container, instanceId, startedAt, spec?.startupProbe !== undefined, spec?.readinessProbe !== undefined);
    }
    if (f.state === 'running') running.push({ container, handle: f.handle });
    else exited.push({ container, instanceId, exit: f.exit });
  }
  exited.sort((x, y) => x.exit.finishedAt - y.exit.finishedAt);
  return { state: s, running, exited, lost };
}
