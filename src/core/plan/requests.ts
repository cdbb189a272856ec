/**
 * Requests from podvisor's API (§2.8, §4.1 T2, §4.11): restart one container, restart the whole
 * pod in place, or re-create it. Each returns the new state, or a refusal naming the pod and
 * its state (HTTP 409 Conflict at the edge, C5).
 */
import type { Pod } from '../../api/types.js';
import type { PodState } from '../model.js';
import { recordManualRestartRequested, recordRecreateRequested } from '../transitions.js';
import { compileEnv, podRefOf } from './decision.js';
import { beginReset } from './reset.js';
import type { PodEvent } from './types.js';

/** A refusal of a restart request (HTTP 409 Conflict, C5). */
export interface RestartRefusal {
  refused: true;
  message: string;
}

function podStateWord(s: PodState): string | undefined {
  if (s.deletion) return 'being deleted';
  if (s.stopping?.reason === 'Recreate') return 'being re-created';
  if (s.phase === 'Succeeded' || s.phase === 'Failed') return s.phase;
  return undefined;
}

/** The text of an API reset, used as its condition message and event cause (D2). */
const API_RESET_TEXT = 'pod restart requested through the podvisor API';

/** T2: restart the whole pod in place. A request during a reset joins it. */
export function requestPodRestart(pod: Pod, state: PodState, now: number): { state: PodState; events: PodEvent[] } | RestartRefusal {
  const word = podStateWord(state);
  if (word) return { refused: true, message: `pod ${podRefOf(pod, state.uid)} cannot be restarted: ${word}` };
  if (state.reset) return { state, events: [] };
  const d = beginReset(compileEnv(pod, state.uid, now), state, { trigger: { kind: 'api' }, text: API_RESET_TEXT }, [], now,
    { reason: 'RestartRequested', message: API_RESET_TEXT });
  return { state: d.state, events: [...d.events] };
}

/** §2.8: restart one regular container or sidecar. */
export function requestContainerRestart(pod: Pod, state: PodState, container: string, now: number): { state: PodState } | RestartRefusal {
  const word = podStateWord(state);
  const target = compileEnv(pod, state.uid, now).all.find((r) => r.name === container);
  const prefix = `pod ${podRefOf(pod, state.uid)} cannot restart container ${container}`;
  if (word) return { refused: true, message: `${prefix}: ${word}` };
  if (state.reset) return { refused: true, message: `${prefix}: restarting all containers` };
  if (!target) return { refused: true, message: `${prefix}: no such container` };
  if (target.kind === 'init') return { refused: true, message: `${prefix}: init container` };
  if (target.kind === 'ephemeral') return { refused: true, message: `${prefix}: ephemeral container` };
  return { state: recordManualRestartRequested(state, container, target.kind, now) };
}

/**
 * Re-create (§4.11, podvisor extension): the pod is stopped as in §8.2 and replaced by a new
 * instance (new UID, fresh sandbox) once nothing runs any more.
 */
export function requestPodRecreate(pod: Pod, state: PodState, now: number): { state: PodState } | RestartRefusal {
  const word = podStateWord(state);
  if (word) return { refused: true, message: `pod ${podRefOf(pod, state.uid)} cannot be re-created: ${word}` };
  const env = compileEnv(pod, state.uid, now);
  return { state: recordRecreateRequested(state, { reason: 'Recreate', message: 're-creation requested through the podvisor API', trigger: { kind: 'api' }, at: now, deadline: now + env.graceMs }) };
}
