/**
 * The kubectl column printers: the text of the READY, STATUS, RESTARTS and AGE columns as
 * kubectl and the API server's printers compute it (kubernetes/kubernetes `pkg/printers/
 * internalversion/printers.go`, apimachinery `duration.HumanDuration`). Pure: the CLI's
 * terminal view and the server's Tables both use them, so `podvisor get` and `kubectl get`
 * show the same text; time is an argument.
 */
import type { ContainerStatus, Pod } from './types.js';

/** kubectl's age (apimachinery `duration.HumanDuration`): `5s`, `3m2s`, `12m`, `4h30m`, `2d5h`, `3y12d`. */
export function shortAge(ms: number): string {
  const sec = Math.max(0, Math.floor(ms / 1000));
  if (sec < 120) return `${sec}s`;
  const min = Math.floor(sec / 60);
  if (min < 10) return sec % 60 === 0 ? `${min}m` : `${min}m${sec % 60}s`;
  if (min < 180) return `${min}m`;
  const h = Math.floor(min / 60);
  if (h < 8) return min % 60 === 0 ? `${h}h` : `${h}h${min % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const days = Math.floor(h / 24);
  if (h < 24 * 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

/** The STATUS column as kubectl computes it (printers' printPod). */
export function podStatusColumn(pod: Pod): string {
  const st = pod.status ?? {};
  let reason: string = st.reason ?? st.phase ?? 'Pending';
  const inits = st.initContainerStatuses ?? [];
  const initSpecs = pod.spec.initContainers ?? [];
  let initializing = false;
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i] as ContainerStatus;
    const isSidecar = initSpecs[i]?.restartPolicy === 'Always';
    if (c.state.terminated?.exitCode === 0) continue;
    if (isSidecar && c.started) continue;
    if (c.state.terminated) {
      reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
      initializing = true;
    } else if (c.state.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${c.state.waiting.reason}`;
      initializing = true;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
      initializing = true;
    }
    break;
  }
  const initializedTrue = st.conditions?.some((c) => c.type === 'Initialized' && c.status === 'True') === true;
  if (!initializing || initializedTrue) {
    let hasRunning = false;
    const cs = [...(st.containerStatuses ?? [])].reverse();
    for (const c of cs) {
      if (c.state.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state.terminated) reason = c.state.terminated.exitCode === 0 ? 'Completed' : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
    if (st.phase === 'Running' && hasRunning && cs.every((c) => c.state.running)) reason = 'Running';
  }
  if (pod.metadata.deletionTimestamp && st.phase !== 'Succeeded' && st.phase !== 'Failed') reason = 'Terminating';
  return reason;
}

/** READY column: ready/total over regular containers and sidecars. */
export function readyColumn(pod: Pod): string {
  const st = pod.status ?? {};
  const sidecars = (st.initContainerStatuses ?? []).filter((_, i) => pod.spec.initContainers?.[i]?.restartPolicy === 'Always');
  const all = [...(st.containerStatuses ?? []), ...sidecars];
  const total = pod.spec.containers.length + sidecars.length;
  return `${all.filter((c) => c.ready).length}/${total}`;
}

/** RESTARTS column with the age of the last restart: `3 (12s ago)`. */
export function restartsColumn(pod: Pod, now: number): string {
  const st = pod.status ?? {};
  const all = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])];
  const n = all.reduce((a, c) => a + c.restartCount, 0);
  let last = 0;
  for (const c of all) {
    const f = c.lastState.terminated?.finishedAt;
    if (c.restartCount > 0 && f) last = Math.max(last, Date.parse(f));
  }
  return n > 0 && last > 0 ? `${n} (${shortAge(now - last)} ago)` : String(n);
}
