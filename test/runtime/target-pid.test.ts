/**
 * `kubectl debug --target=C` with real processes (Linux, root): a container started with
 * `targetPidOf` (an ephemeral container's target) joins the PID namespace of the target's
 * running instance, so busybox `ps` in it lists the target's processes; without it the
 * container has a PID namespace of its own and sees none of them. A target that does not run
 * (any more) refuses the start. On `sandbox` (host commands) and `oci` (the busybox image
 * pushed to a registry on 127.0.0.1 by the registry fixture); `host` needs nothing (every
 * process is in the host's PID namespace). Skipped when the machine cannot run a runtime, except
 * under `CI=true`, where a missing privilege or dependency fails.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ociSpec } from '../../src/core/oci-spec.js';
import { createOciRuntime, ociAvailability } from '../../src/runtime/oci-runtime.js';
import { SandboxRuntime, sandboxAvailability } from '../../src/runtime/sandbox.js';
import { StartError, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type Sandbox } from '../../src/runtime/types.js';
import { BUSYBOX_IMAGE, fixtureProblem } from '../oci/registry-fixture.js';
import { useOciImage } from './oci-fixture.js';
import { logContent, makeTempDir, rand, waitFor } from './helpers.js';

const CI = process.env.CI === 'true';
const sandboxProblem = await sandboxAvailability();
const ociProblem = (await ociAvailability()) ?? fixtureProblem();
/** A bridge and subnet of this file's own (removed at the end). */
const net = { bridge: 'pv-tpid0', subnet: '10.88.247.0/24' } as const;

/** One pod on a fresh runtime. */
interface Pod {
  rt: ContainerRuntime;
  sb: Sandbox;
  /** Starts a container running `sh -c script`. */
  start(name: string, script: string, extra?: Partial<ContainerStartSpec>): Promise<ContainerHandle>;
  close(): Promise<void>;
}

function targetPidContract(name: string, setup: (dir: string) => Promise<Pod>): void {
  describe(`targetPidOf: ${name}`, () => {
    let tmp: { dir: string; remove: () => void };
    let pod: Pod;
    beforeEach(async () => {
      tmp = makeTempDir('podvisor-tpid-');
      pod = await setup(tmp.dir);
    });
    afterEach(async () => {
      await pod.close();
      tmp.remove();
    });

    /** The container's whole log once it wrote `END` (its `ps` output before that). */
    async function output(c: string, h: ContainerHandle): Promise<string> {
      expect(await h.exited).toMatchObject({ exitCode: 0 });
      const file = pod.rt.logPath(pod.sb.podUid, c, false);
      if (file === undefined) throw new Error(`no log of ${c}`);
      return waitFor(() => { const t = logContent(file); return t.includes('END\n') && t; }, 10_000, `the log of ${c}`);
    }

    it('ps in a container started with the target\'s ID shows the target\'s processes; without it, none', async () => {
      const marker = String(100_000 + Math.floor(Math.random() * 800_000));
      const target = await pod.start('app', `exec sleep ${marker}`);
      const ps = 'busybox ps -o pid,args; echo END';
      const debug = await pod.start('debugger', ps, { targetPidOf: target.id });
      const seen = await output('debugger', debug);
      expect(seen).toMatch(new RegExp(`^\\s*\\d+\\s+(\\S*/)?(busybox )?sleep ${marker}$`, 'm'));
      // Its own processes are in the same namespace: ps lists itself too.
      expect(seen).toMatch(/busybox ps -o pid,args/);
      const own = await pod.start('plain', ps);
      const alone = await output('plain', own);
      expect(alone).toMatch(/busybox ps -o pid,args/);
      expect(alone).not.toContain(`sleep ${marker}`);
      // The target was never disturbed.
      expect(await Promise.race([target.exited.then(() => 'exited'), Promise.resolve('running')])).toBe('running');
    });

    it('refuses the start (CreateContainerError) when the target does not run any more, and runs nothing', async () => {
      const target = await pod.start('app', 'exec sleep 1000');
      await pod.rt.killAll(target.id);
      await target.exited;
      const err = await pod.start('debugger', 'echo ran; echo END', { targetPidOf: target.id }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(StartError);
      expect(err).toMatchObject({ reason: 'CreateContainerError' });
      expect((err as Error).message).toContain('is not running in this pod');
    });
  });
}

async function removeBridge(): Promise<void> {
  await Promise.resolve();
  const ports = spawnSync('ip', ['-o', 'link', 'show', 'master', net.bridge], { encoding: 'utf8' });
  if (ports.status === 0 && ports.stdout.trim() === '') spawnSync('ip', ['link', 'del', net.bridge]);
}

describe.skipIf(sandboxProblem !== undefined && !CI)('sandbox runtime', () => {
  it('is available on this machine', () => {
    expect(sandboxProblem).toBeUndefined();
  });
  targetPidContract('sandbox', async (dir) => {
    const rt = await SandboxRuntime.create({ dataDir: join(dir, 'data'), ...net, monitorChoice: 'direct' });
    const sb = await rt.createSandbox({ podUid: `uid-${rand()}`, podName: 'p', namespace: 'default', emptyDirs: [] });
    return {
      rt, sb,
      start: (name, script, extra = {}) => rt.startContainer({
        sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv: ['/bin/sh', '-c', script],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, mounts: [], ...extra,
      }),
      close: async () => {
        await rt.releaseSandbox(sb, { deleteData: true }).catch(() => {});
        await rt.close();
      },
    };
  });
});

describe.skipIf(ociProblem !== undefined && !CI)('oci runtime', () => {
  const fixture = useOciImage('podvisor-tpid-images-', () => ociProblem);

  it('is available on this machine', () => {
    expect(ociProblem).toBeUndefined();
  });
  targetPidContract('oci', async (dir) => {
    const rt = await createOciRuntime({ dataDir: join(dir, 'data'), imageDir: fixture.imageDir, buildSpec: ociSpec, ...net, monitorChoice: 'direct' });
    const ref = rt.images?.normalise(fixture.image);
    if (!ref || 'error' in ref) throw new Error(`bad image reference ${fixture.image}`);
    const pulled = (await rt.images?.pull(ref.name))?.image;
    if (!pulled) throw new Error('no image');
    const sb = await rt.createSandbox({ podUid: `uid-${rand()}`, podName: 'p', namespace: 'default', emptyDirs: [] });
    return {
      rt, sb,
      start: (name, script, extra = {}) => rt.startContainer({
        sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv: ['sh', '-c', script], env: {}, mounts: [],
        image: {
          image: pulled,
          process: { args: ['sh', '-c', script], env: [...BUSYBOX_IMAGE.env], cwd: '/', user: { uid: 0 } },
          security: { privileged: false, add: [], drop: [], readOnlyRootFilesystem: false, supplementalGroups: [] },
        },
        ...extra,
      }),
      close: async () => {
        await rt.releaseSandbox(sb, { deleteData: true }).catch(() => {});
        await rt.close();
      },
    };
  });
});

afterAll(async () => {
  if (sandboxProblem === undefined) await removeBridge();
});
