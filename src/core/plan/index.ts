/**
 * The pure decision core's planner: {@link reconcile} and the API requests. Decisions are data,
 * effects happen in the agent. Every rule cites the section of the restart-semantics spec it
 * implements. No I/O, no timers, no clock reads.
 */
export { reconcile } from './reconcile.js';
export { requestContainerRestart, requestPodRecreate, requestPodRestart, type RestartRefusal } from './requests.js';
export { backoffConfigFor, podRefOf } from './decision.js';
export {
  DEFAULT_CORE_OPTIONS, type Action, type ClosedReset, type CoreOptions, type PodEvent, type ReconcileInput, type ReconcileResult, type StartCause,
} from './types.js';
