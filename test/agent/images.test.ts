/**
 * The agent's image manager with a fake image service, a fake runtime and a fake clock: pull
 * policies, the kubelet's events and waiting reasons (ErrImagePull, then ImagePullBackOff with
 * growing delays; ErrImageNeverPull), the process computed from the image, status image and
 * imageID, and a deletion that does not wait for a pull.
 */
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/api/records.js';
import type { Container, Pod } from '../../src/api/types.js';
import { defaultPod } from '../../src/api/defaults.js';
import { Supervisor } from '../../src/agent/supervisor.js';
import { ImagePullError, type ImageService, type PulledImage } from '../../src/runtime/types.js';
import { FakeClock, settle } from './fake-clock.js';
import { FakeRuntime } from './fake-runtime.js';

const IMAGE: PulledImage = {
  name: 'registry.test/app:v1', imageID: 'registry.test/app@sha256:' + 'a'.repeat(64), size: 1234,
  layers: ['sha256:' + 'b'.repeat(64)], config: { Entrypoint: ['/bin/app'], Cmd: ['--serve'], Env: ['PATH=/bin', 'MODE=image'], WorkingDir: '/srv', User: '1000' },
};

/** An image service whose store and registry are maps; pulls resolve when the test says. */
class FakeImages implements ImageService {
  local_ = new Map<string, PulledImage>();
  registry = new Map<string, PulledImage>();
  pulls: string[] = [];
  /** When set, pulls wait for it. */
  gate: Promise<void> | undefined;
  normalise(image: string): { name: string } | { error: string } {
    if (/[A-Z]/.test(image)) return { error: 'invalid reference format' };
    return { name: image.includes(':') ? image : `${image}:latest` };
  }
  async local(name: string): Promise<PulledImage | undefined> {
    return this.local_.get(name);
  }
  async pull(name: string): Promise<{ image: PulledImage; fetchedBytes: number }> {
    this.pulls.push(name);
    if (this.gate) await this.gate;
    const img = this.registry.get(name);
    if (!img) throw new ImagePullError('ErrImagePull', `${name}: not found`);
    this.local_.set(name, img);
    return { image: img, fetchedBytes: img.size };
  }
}

function setup(containers: Container[], extra: Partial<Pod['spec']> = {}) {
  const clock = new FakeClock();
  const rt = new FakeRuntime(clock);
  const images = new FakeImages();
  rt.images = images;
  const events: RecordedEvent[] = [];
  const sup = new Supervisor({ runtime: rt, clock, core: { backoffInitialMs: 10_000, backoffMaxMs: 300_000 }, sinks: { onEvent: (e) => events.push(e) } });
  const p = defaultPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { restartPolicy: 'Always', containers, ...extra } });
  return { clock, rt, images, events, sup, start: () => sup.add(p) };
}

const said = (events: RecordedEvent[]): string[] => events.map((e) => `${e.reason}: ${e.message}`);

describe('the image manager', () => {
  it('pulls a missing image, then runs the image\'s entrypoint with the container\'s env over the image\'s; status image and imageID', async () => {
    const { rt, images, events, start } = setup([{ name: 'c', image: 'registry.test/app:v1', env: [{ name: 'MODE', value: 'pod' }] }]);
    images.registry.set('registry.test/app:v1', IMAGE);
    const w = start();
    await settle();
    expect(images.pulls).toEqual(['registry.test/app:v1']);
    const spec = rt.instances[0]?.spec;
    expect(spec?.argv).toEqual(['/bin/app', '--serve']);
    expect(spec?.image?.process).toMatchObject({ args: ['/bin/app', '--serve'], cwd: '/srv', user: { uid: 1000 } });
    expect(spec?.image?.process.env).toEqual(expect.arrayContaining(['PATH=/bin', 'MODE=pod']));
    expect(spec?.image?.process.env).not.toContain('MODE=image');
    expect(said(events)).toEqual(expect.arrayContaining([
      'Pulling: Pulling image "registry.test/app:v1"',
      expect.stringMatching(/^Pulled: Successfully pulled image "registry\.test\/app:v1" in \d+m?s \(\d+m?s including waiting\)\. Image size: 1234 bytes\.$/),
    ]));
    expect(w.status?.containerStatuses?.[0]).toMatchObject({ image: IMAGE.name, imageID: IMAGE.imageID });
  });

  it('IfNotPresent with the image present: no pull, "already present"; a container restart does not pull either', async () => {
    const { rt, images, events, clock, start } = setup([{ name: 'c', image: 'registry.test/app:v1', command: ['x'] }]);
    images.local_.set('registry.test/app:v1', IMAGE);
    start();
    await settle();
    rt.live('c').exit(1);
    await settle();
    await clock.advance(10_000);
    expect(rt.calls.filter((c) => c === 'start c')).toHaveLength(2);
    expect(images.pulls).toEqual([]);
    expect(said(events).filter((e) => e.startsWith('Pulled: Container image "registry.test/app:v1" already present on machine'))).toHaveLength(2);
  });

  it('a failed pull: ErrImagePull, ImagePullBackOff after half the delay with its events, retried after 10 s, then 20 s', async () => {
    const { rt, images, events, clock, start } = setup([{ name: 'c', image: 'registry.test/missing:v1', command: ['x'] }]);
    const w = start();
    await settle();
    expect(images.pulls).toHaveLength(1);
    expect(w.status?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'ErrImagePull', message: 'registry.test/missing:v1: not found' } });
    expect(said(events)).toEqual(expect.arrayContaining(['Failed: Failed to pull image "registry.test/missing:v1": registry.test/missing:v1: not found', 'Failed: Error: ErrImagePull']));
    await clock.advance(5_000);
    expect(w.status?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.test/missing:v1": ErrImagePull: registry.test/missing:v1: not found' } });
    expect(said(events)).toEqual(expect.arrayContaining(['BackOff: Back-off pulling image "registry.test/missing:v1"', 'Failed: Error: ImagePullBackOff']));
    await clock.advance(4_999);
    expect(images.pulls).toHaveLength(1);
    await clock.advance(1);
    expect(images.pulls).toHaveLength(2); // 10 s after the first failure
    await clock.advance(19_999);
    expect(images.pulls).toHaveLength(2);
    await clock.advance(1);
    expect(images.pulls).toHaveLength(3); // 20 s after the second
    expect(rt.calls.filter((c) => c.startsWith('start'))).toEqual([]);
    expect(w.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it('Never with a missing image: ErrImageNeverPull, never a pull; an invalid name: InvalidImageName', async () => {
    const never = setup([{ name: 'c', image: 'registry.test/app:v1', imagePullPolicy: 'Never', command: ['x'] }]);
    const w = never.start();
    await settle();
    expect(never.images.pulls).toEqual([]);
    expect(w.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImageNeverPull');
    expect(said(never.events)).toContain('ErrImageNeverPull: Container image "registry.test/app:v1" is not present with pull policy of Never');
    const bad = setup([{ name: 'c', image: 'registry.test/App', command: ['x'] }]);
    const wb = bad.start();
    await settle();
    expect(wb.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('InvalidImageName');
    expect(bad.images.pulls).toEqual([]);
  });

  it('runAsNonRoot with an image that runs as root: CreateContainerConfigError with the kubelet\'s message', async () => {
    const { images, start } = setup([{ name: 'c', image: 'registry.test/root:v1' }], { securityContext: { runAsNonRoot: true } });
    images.local_.set('registry.test/root:v1', { ...IMAGE, name: 'registry.test/root:v1', config: { Cmd: ['sh'] } });
    const w = start();
    await settle();
    expect(w.status?.containerStatuses?.[0]?.state?.waiting).toEqual({
      reason: 'CreateContainerConfigError',
      message: `container has runAsNonRoot and image will run as root (pod: "web_default(${w.state.uid})", container: c)`,
    });
  });

  it('a deletion does not wait for a pull in progress', async () => {
    const { images, sup, start } = setup([{ name: 'c', image: 'registry.test/app:v1', command: ['x'] }]);
    images.registry.set('registry.test/app:v1', IMAGE);
    images.gate = new Promise(() => undefined); // a pull that never ends
    const w = start();
    await settle();
    expect(images.pulls).toHaveLength(1);
    let deleted = false;
    w.delete(0);
    await settle();
    await sup.whenAllSettled().then(() => (deleted = true));
    expect(deleted).toBe(true);
    expect(w.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
  });
});
