/**
 * The kubelet's image decisions and words (pure; `pkg/kubelet/images/image_manager.go`): whether
 * a container's image is pulled under its `imagePullPolicy`, and the event messages of a pull,
 * spelled as the kubelet spells them.
 */

/** What to do about a container's image before it starts. */
export type ImageDecision = 'pull' | 'use' | 'never-pull-missing';

/**
 * `shouldPullImage`: `Never` never pulls (a missing image is `ErrImageNeverPull`); `Always`
 * always pulls (a registry round trip that fetches nothing when the digest is unchanged);
 * `IfNotPresent` pulls only a missing image.
 */
export function imageDecision(policy: string | undefined, present: boolean): ImageDecision {
  if (policy === 'Never') return present ? 'use' : 'never-pull-missing';
  if (policy === 'Always' || !present) return 'pull';
  return 'use';
}

/**
 * A duration as Go's `time.Duration.String()` prints it after `Truncate(time.Millisecond)`:
 * `512ms`, `1.234s`, `1m1.5s`, `1h0m0s`, `0s`.
 */
export function goDuration(ms: number): string {
  const t = Math.max(0, Math.floor(ms));
  if (t === 0) return '0s';
  if (t < 1000) return `${t}ms`;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const sMs = t % 60_000;
  const secs = `${Math.floor(sMs / 1000)}${sMs % 1000 === 0 ? '' : `.${String(sMs % 1000).padStart(3, '0').replace(/0+$/, '')}`}s`;
  if (h > 0) return `${h}h${m}m${secs}`;
  if (m > 0) return `${m}m${secs}`;
  return secs;
}

/** The kubelet's event messages of an image pull (reasons: `Pulling`, `Pulled`, `Failed`, `BackOff`, `ErrImageNeverPull`, `InspectFailed`). */
export const imageMessages = {
  pulling: (image: string): string => `Pulling image ${JSON.stringify(image)}`,
  pulled: (image: string, pullMs: number, totalMs: number, sizeBytes: number): string =>
    `Successfully pulled image ${JSON.stringify(image)} in ${goDuration(pullMs)} (${goDuration(totalMs)} including waiting). Image size: ${sizeBytes} bytes.`,
  present: (image: string): string => `Container image ${JSON.stringify(image)} already present on machine`,
  neverPullMissing: (image: string): string => `Container image ${JSON.stringify(image)} is not present with pull policy of Never`,
  failed: (image: string, error: string): string => `Failed to pull image ${JSON.stringify(image)}: ${error}`,
  backOff: (image: string): string => `Back-off pulling image ${JSON.stringify(image)}`,
  invalidName: (image: string): string => `Failed to apply default image tag ${JSON.stringify(image)}: couldn't parse image reference ${JSON.stringify(image)}: invalid reference format`,
};
