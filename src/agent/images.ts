/**
 * The kubelet's image manager (`pkg/kubelet/images/image_manager.go`, `EnsureImageExists`) for
 * runtimes that run images: before a container starts, its image is made present as its
 * `imagePullPolicy` says, with the kubelet's events (`Pulling`, `Pulled`, `Failed`,
 * `ErrImageNeverPull`, `InspectFailed`) and outcomes (`ErrImagePull`, `ErrImageNeverPull`,
 * `InvalidImageName`, which the core retries with back-off and shows as `ImagePullBackOff`).
 *
 * A container restart and an in-place pod restart go through here too, as in the kubelet:
 * `IfNotPresent` and `Never` find the image on the machine and fetch nothing; `Always` asks the
 * registry again, which costs the manifest requests only (blobs already stored are never
 * fetched again).
 */
import type { Container } from '../api/types.js';
import { imageDecision, imageMessages } from '../core/image-pull.js';
import { ImagePullError, type ImageService, type PulledImage, type PullProgress } from '../runtime/types.js';

/** An event about a container's image (the worker records it on the pod with the container's field path). */
export interface ImageEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What {@link ensureImage} found: the image to run, or the waiting reason and its message. */
export type ImageOutcome =
  | { ok: true; image: PulledImage }
  | { ok: false; reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName'; message: string }
  /** The pod is being deleted or re-created, or podvisor stops: nothing to record. */
  | { ok: false; abandoned: true };

/** What {@link ensureImage} needs besides the image service. */
export interface EnsureImageContext {
  /** Epoch ms (the pull's duration goes into the `Pulled` event). */
  now: () => number;
  event: (e: ImageEvent) => void;
  /** Pull progress, for the live view. */
  onProgress?: (p: PullProgress) => void;
  /** The pod's image pull secrets (Docker config texts), tried before the node's credentials. */
  pullSecrets?: readonly string[];
  /**
   * Aborted when the pod is deleted, re-created or podvisor stops during a pull: the worker
   * stops waiting at once (the pull itself completes into the store for whoever needs it next,
   * as a re-created pod's pull joins it).
   */
  signal?: AbortSignal;
}

/** Thrown by {@link untilAborted}. */
class PullAbandoned extends Error {
  constructor() {
    super('the pull was abandoned: the pod is being deleted or re-created, or podvisor is stopping');
  }
}

/** `p`, or a rejection with {@link PullAbandoned} as soon as `signal` aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new PullAbandoned());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new PullAbandoned());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Makes the image of `c` present as its pull policy says (see the module comment). Never rejects. */
export async function ensureImage(images: ImageService, c: Container, ctx: EnsureImageContext): Promise<ImageOutcome> {
  const image = c.image ?? '';
  const norm = images.normalise(image);
  if ('error' in norm) {
    const message = imageMessages.invalidName(image);
    ctx.event({ type: 'Warning', reason: 'InspectFailed', message });
    return { ok: false, reason: 'InvalidImageName', message };
  }
  let present: PulledImage | undefined;
  try {
    present = await images.local(norm.name);
  } catch {
    present = undefined;
  }
  const decision = imageDecision(c.imagePullPolicy, present !== undefined);
  if (decision === 'use' && present) {
    ctx.event({ type: 'Normal', reason: 'Pulled', message: imageMessages.present(image) });
    return { ok: true, image: present };
  }
  if (decision === 'never-pull-missing') {
    const message = imageMessages.neverPullMissing(image);
    ctx.event({ type: 'Warning', reason: 'ErrImageNeverPull', message });
    return { ok: false, reason: 'ErrImageNeverPull', message };
  }
  ctx.event({ type: 'Normal', reason: 'Pulling', message: imageMessages.pulling(image) });
  const t0 = ctx.now();
  try {
    const opts = { ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}), ...(ctx.pullSecrets?.length ? { pullSecrets: ctx.pullSecrets } : {}) };
    const res = await untilAborted(images.pull(norm.name, opts), ctx.signal);
    const ms = ctx.now() - t0;
    ctx.event({ type: 'Normal', reason: 'Pulled', message: imageMessages.pulled(image, ms, ms, res.image.size) });
    return { ok: true, image: res.image };
  } catch (err) {
    if (err instanceof PullAbandoned) return { ok: false, abandoned: true };
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ImagePullError && err.reason === 'InvalidImageName') {
      ctx.event({ type: 'Warning', reason: 'InspectFailed', message: imageMessages.invalidName(image) });
      return { ok: false, reason: 'InvalidImageName', message: imageMessages.invalidName(image) };
    }
    ctx.event({ type: 'Warning', reason: 'Failed', message: imageMessages.failed(image, message) });
    return { ok: false, reason: 'ErrImagePull', message };
  }
}
