/**
 * The pure `config.json` builder against a real OCI runtime: runc runs the fixture's image on an
 * overlay root file system inside namespaces held by another process (as a pod sandbox holds
 * them), with the process, user, capabilities, read-only root and volume the spec says.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/api/types.js';
import { containerProcess } from '../../src/core/oci-process.js';
import { ociSpec, type OciSpecInput } from '../../src/core/oci-spec.js';
import { NO_CREDENTIALS } from '../../src/runtime/oci/credentials.js';
import { pullImage } from '../../src/runtime/oci/pull.js';
import { RegistryClient } from '../../src/runtime/oci/registry.js';
import { mountRootfs, removeRootfs } from '../../src/runtime/oci/rootfs.js';
import { ImageStore } from '../../src/runtime/oci/store.js';
import { LayerStore } from '../../src/runtime/oci/unpack.js';
import { buildImages, fixtureProblem, startRegistry, type BuiltImages, type TestRegistry } from './registry-fixture.js';

const root = process.getuid?.() === 0;
const runc = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));
const problem = fixtureProblem() ?? (!root ? 'runc needs root' : runc === undefined ? 'runc is not installed (apt-get install runc)' : undefined);
const skip = problem !== undefined && process.env.CI !== 'true';

describe.skipIf(skip)('config.json under runc', () => {
  let reg: TestRegistry;
  let images: BuiltImages;
  let tmp: string;
  let layerDirs: string[];
  let imageConfig: { config: { Cmd?: string[]; Env?: string[]; WorkingDir?: string } };
  let holder: ChildProcess;
  const mounts: string[] = [];

  beforeAll(async () => {
    if (problem !== undefined) throw new Error(problem);
    tmp = await mkdtemp(join(tmpdir(), 'podvisor-runc-'));
    reg = await startRegistry();
    images = await buildImages(reg);
    const store = await ImageStore.open(join(tmp, 'images'));
    const pulled = await pullImage(new RegistryClient({ credentials: NO_CREDENTIALS }), store, images.layers.ref);
    const layers = new LayerStore(store);
    layerDirs = await Promise.all(pulled.image.layers.map((l) => layers.unpack(l)));
    imageConfig = JSON.parse((await store.read(pulled.image.config.digest)).toString()) as typeof imageConfig;
    // The "sandbox": a process holding a network, IPC and UTS namespace of its own.
    holder = spawn('unshare', ['--net', '--ipc', '--uts', 'sh', '-c', 'hostname pod-host && exec sleep 1000'], { stdio: 'ignore' });
    const ns = `/proc/${holder.pid ?? 0}/ns/uts`;
    const deadline = Date.now() + 5_000;
    for (;;) {
      const r = await promisify(execFile)('nsenter', ['--uts=' + ns, 'hostname']).catch(() => ({ stdout: '' }));
      if (r.stdout.trim() === 'pod-host') break;
      if (Date.now() > deadline) throw new Error('the namespace holder did not start');
      await new Promise((res) => setImmediate(res));
    }
  }, 120_000);
  afterAll(async () => {
    holder?.kill('SIGKILL');
    for (const d of mounts) await removeRootfs(d).catch(() => undefined);
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function runInImage(name: string, c: Container, security: OciSpecInput['security'], uid: number, gid: number): Promise<{ code: number; out: string }> {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [c] } };
    const p = containerProcess(pod, c, { Cmd: imageConfig.config.Cmd ?? null, Env: imageConfig.config.Env ?? null, WorkingDir: imageConfig.config.WorkingDir ?? '' }, { FROM_POD: 'yes' });
    if ('configError' in p) throw new Error(p.configError);
    const bundle = join(tmp, name);
    const fs = await mountRootfs(layerDirs, join(bundle, 'rootfs'));
    mounts.push(join(bundle, 'rootfs'));
    const volume = join(tmp, `${name}-vol`);
    mkdirSync(volume, { mode: 0o777 });
    const pid = holder.pid ?? 0;
    const spec = ociSpec({
      process: { args: p.args, env: p.env, cwd: p.cwd, uid, gid, additionalGids: [] },
      rootfs: fs.merged, readonlyRootfs: true,
      namespaces: { network: `/proc/${pid}/ns/net`, ipc: `/proc/${pid}/ns/ipc`, uts: `/proc/${pid}/ns/uts` },
      mounts: [{ destination: '/vol', source: volume, readOnly: false }],
      security, resources: { memoryLimitBytes: 64 << 20 }, devices: [], cgroupsPath: `/podvisor-test-runc/${name}`,
    });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    return new Promise((resolve) => {
      execFile(runc ?? 'runc', ['run', '--bundle', bundle, `podvisor-test-${name}-${process.pid}`], (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
      });
    });
  }

  it('runs the image\'s Cmd in its WorkingDir with its Env and the pod\'s; root, default capabilities, read-only root, writable volume', async () => {
    const script = 'echo "cwd=$(pwd) uid=$(id -u) host=$(hostname) greeting=$GREETING pod=$FROM_POD"; grep CapEff /proc/self/status; touch /x 2>/dev/null && echo rootfs-rw || echo rootfs-ro; touch /vol/ok && echo vol-rw';
    const r = await runInImage('defaults', { name: 'c', image: images.layers.ref, args: ['/bin/sh', '-c', script] }, { privileged: false, add: [], drop: [] }, 0, 0);
    expect(r.out).toContain('cwd=/data uid=0 host=pod-host greeting=from-image pod=yes');
    // containerd's 14 default capabilities: 0x00000000a80425fb.
    expect(r.out).toContain('CapEff:\t00000000a80425fb');
    expect(r.out).toContain('rootfs-ro');
    expect(r.out).toContain('vol-rw');
    expect(r.code).toBe(0);
  });

  it('runAsUser 1000, capabilities dropped: no CAP_NET_RAW, exit code kept', async () => {
    const r = await runInImage('dropped', { name: 'c', image: images.layers.ref, command: ['/bin/sh', '-c', 'id -u; grep CapEff /proc/self/status; exit 3'] }, { privileged: false, add: [], drop: ['ALL'] }, 1000, 1000);
    expect(r.out).toContain('1000\n');
    expect(r.out).toContain('CapEff:\t0000000000000000');
    expect(r.code).toBe(3);
  });
});
