/**
 * The core's `start` action: one container instance brought up in the pod's sandbox. Its image
 * is pulled (runtimes that run images), the volumes it mounts are written, its start spec is
 * built and the runtime starts it; then it is supervised and its postStart hook runs. Whatever
 * fails is recorded as a start error the core retries with back-off, and the restart record of
 * a restart is emitted either way.
 */
import { podGraceSeconds } from '../api/defaults.js';
import { recordCreated, recordPostStartFailed, recordStarted, recordStartFailed } from '../core/facts.js';
import type { Action } from '../core/plan/index.js';
import { StartError, type ContainerHandle, type PulledImage, type PullProgress } from '../runtime/types.js';
import { allContainers, containerStartSpec } from './container-spec.js';
import { ensureImage } from './images.js';
import { imagePullSecrets, NO_OBJECTS } from './pod-config.js';
import { containerRestartNotice, endedRun } from './restart-records.js';
import type { WorkerContext } from './worker-context.js';
import { runHook, watchInstance } from './worker-instances.js';

/** Carries out a `start` action (see the file comment). */
export async function startContainer(cx: WorkerContext, a: Extract<Action, { type: 'start' }>): Promise<void> {
  const spec = allContainers(cx.pod()).find((c) => c.name === a.container);
  // Set only by a createSandbox action or a resume, never while a start runs: read once.
  const sandbox = cx.sandbox();
  if (!spec || !sandbox) return;
  if (a.replaces) {
    cx.probers.get(a.replaces)?.stop();
    cx.probers.delete(a.replaces);
    cx.handles.delete(a.replaces);
    await cx.runtime.removeContainer(a.replaces);
    if (cx.stopped()) return;
  }
  const rc = cx.state().containers[a.container]?.restartCount ?? 0;
  const notice = containerRestartNotice(a.cause, a.container, rc);
  const ended = notice ? endedRun(cx.state().containers[a.container], a.replaces) : undefined;
  if (notice && ended) notice.ended = ended;
  let image: PulledImage | undefined;
  if (cx.runtime.images) {
    const abort = new AbortController();
    cx.setPullAbort(abort);
    const secrets = imagePullSecrets(cx.pod(), cx.config?.lookups ?? NO_OBJECTS);
    if (secrets.missing.length > 0) {
      cx.report.emit({ type: 'Warning', reason: 'FailedToRetrieveImagePullSecret', message: `Unable to retrieve some image pull secrets (${secrets.missing.join(', ')}); attempting to pull the image may not succeed.` });
    }
    const found = await ensureImage(cx.runtime.images, spec, {
      pullSecrets: secrets.texts,
      signal: abort.signal,
      now: () => cx.clock.now(),
      event: (e) => cx.report.containerEvent(a.container, e.type, e.reason, e.message),
      ...(cx.sinks.onPullProgress ? { onProgress: (p: PullProgress) => cx.sinks.onPullProgress?.(a.container, p) } : {}),
    }).finally(() => {
      if (cx.pullAbort() === abort) cx.setPullAbort(undefined);
    });
    if (cx.stopped()) return;
    if (!found.ok && 'abandoned' in found) {
      // Deleted or re-created meanwhile: the next reconcile acts on that; the start never happened.
      cx.setState(recordStartFailed(cx.state(), a.container, 'CreateContainerError', 'the image pull was abandoned', cx.clock.now()));
      return;
    }
    if (!found.ok) {
      cx.setState(recordStartFailed(cx.state(), a.container, found.reason, found.message, cx.clock.now()));
      cx.report.containerEvent(a.container, 'Warning', 'Failed', `Error: ${found.reason}`);
      if (notice) cx.report.notice(notice);
      return;
    }
    image = found.image;
  }
  // The volumes it mounts are written first; one that cannot be set up keeps it waiting in
  // ContainerCreating (FailedMount), retried with back-off and on every change of its objects.
  if (cx.volumes) {
    const failed = await cx.volumes.write(cx.pod(), sandbox, spec);
    if (cx.stopped()) return;
    if (failed) {
      cx.setState(recordStartFailed(cx.state(), a.container, 'ContainerCreating', failed.message, cx.clock.now()));
      cx.report.emit({ type: 'Warning', reason: 'FailedMount', message: failed.message });
      if (notice) cx.report.notice(notice);
      return;
    }
  }
  const built = containerStartSpec(cx.pod(), spec, sandbox, {
    restartCount: rc, podRestartCount: cx.state().resetCount ?? 0, gpus: cx.gpus(), ...(cx.config ? { config: cx.config } : {}),
    runningInstance: (name) => cx.runningInstance(name),
  }, image);
  if ('configError' in built) {
    cx.setState(recordStartFailed(cx.state(), a.container, 'CreateContainerConfigError', built.configError, cx.clock.now()));
    cx.report.containerEvent(a.container, 'Warning', 'Failed', `Error: ${built.configError}`);
    if (notice) cx.report.notice(notice);
    return;
  }
  const startSpec = built.spec;
  let handle: ContainerHandle;
  try {
    handle = await cx.runtime.startContainer(startSpec);
  } catch (err) {
    if (cx.stopped()) return; // a start failing because podvisor stops is no start error
    const reason = err instanceof StartError ? err.reason : 'RunContainerError';
    const msg = err instanceof Error ? err.message : String(err);
    cx.setState(recordStartFailed(cx.state(), a.container, reason, msg, cx.clock.now()));
    cx.report.containerEvent(a.container, 'Warning', 'Failed', `Error: ${msg}`);
    cx.report.log('warn', 'container start failed', { container: a.container, error: msg });
    if (notice) cx.report.notice(notice);
    return;
  }
  // Started after stop(): not recorded and not watched; the runtime's close stops it.
  if (cx.stopped()) return;
  const id = handle.id;
  cx.setState(recordCreated(cx.state(), a.container, id, handle.startedAt, image ? { name: image.name, imageID: image.imageID } : undefined, spec.image ?? ''));
  cx.report.containerEvent(a.container, 'Normal', 'Created', `Created container: ${a.container}`);
  cx.setState(recordStarted(cx.state(), a.container, id, handle.startedAt, spec.startupProbe !== undefined, spec.readinessProbe !== undefined));
  cx.report.containerEvent(a.container, 'Normal', 'Started', `Started container ${a.container}`);
  if (notice) {
    if (a.cause.finishedAt !== undefined) notice.latencyMs = Math.max(0, handle.startedAt - a.cause.finishedAt);
    cx.report.notice(notice);
  }
  cx.report.log('info', 'container started', { container: a.container, containerID: id, pid: handle.pid, restartCount: rc });
  watchInstance(cx, a.container, spec, handle);
  // postStart must finish before the next container of the pass starts (§3.3).
  if (spec.lifecycle?.postStart?.exec) {
    const ok = await runHook(cx, a.container, id, 'postStart', cx.clock.now() + podGraceSeconds(cx.pod()) * 1000);
    if (!ok && cx.handles.has(id) && !cx.stopped()) {
      cx.setState(recordPostStartFailed(cx.state(), a.container, id, 'PostStartHook failed', cx.clock.now()));
      await cx.runtime.killAll(id);
    }
  }
}
