/**
 * End-to-end on the sandbox runtime (`podvisor serve --runtime sandbox`): the pod IP is kept by
 * a container restart and by an in-place pod restart, and changes with a re-create; the
 * hostname is the pod name; deleting the pod leaves no network namespace behind; a kill -9 of
 * serve keeps the pod's sandbox (re-attached on restart) and, under conmon, its containers
 * (re-adopted), and leaves nothing after delete.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConmon } from '../../src/runtime/monitor/conmon.js';
import { SandboxRuntime, sandboxAvailability } from '../../src/runtime/sandbox.js';
import { alive, CLI, cli, daemonRequest, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

const problem = await sandboxAvailability();
/** serve's default monitor is conmon where it is installed (always under CI): containers outlive serve. */
const conmon = !('missing' in findConmon(process.env['PATH'] ?? '')) || process.env['CI'] === 'true';
if (problem !== undefined && process.env['CI'] === 'true') throw new Error(`the sandbox runtime must run on CI: ${problem}`);

const tmp = tempDir('podvisor-sbx-');
const dataDir = join(tmp.dir, 'data');
let daemon: ChildProcess | undefined;
let port = 0;

async function get(path: string): Promise<any> {
  const r = await daemonRequest(dataDir, port, path);
  return path.includes('/log') ? r.body : JSON.parse(r.body);
}

const cgroupCount = (): number => (existsSync('/sys/fs/cgroup/cgroup.controllers') ? 1 : 3);
const netns = (): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('pv-')).map((l) => l.split(' ')[0] ?? '');

async function startDaemon(): Promise<void> {
  // --gpus 2: a fake inventory of two devices (this machine has no GPU)
  daemon = spawn(process.execPath, [CLI, 'serve', '--runtime', 'sandbox', '--gpus', '2', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: 'ignore' });
  await until('serve ready', async () => existsSync(join(dataDir, 'tls', 'cert.pem')) && (await get('/api/v1/namespaces/default/pods').catch(() => undefined))?.kind === 'PodList');
}

async function stopDaemon(signal: NodeJS.Signals): Promise<void> {
  const d = daemon;
  if (!d) return;
  await new Promise<void>((resolve) => {
    if (d.exitCode !== null || d.signalCode !== null) return resolve();
    d.once('exit', () => resolve());
    d.kill(signal);
  });
  daemon = undefined;
}

/** The host PIDs in a container's leaf cgroup. */
function containerProcs(podUid: string, containerID: string): number[] {
  const base = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup/podvisor-sandbox' : '/sys/fs/cgroup/pids/podvisor-sandbox';
  const file = join(base, podUid, containerID.replace('sandbox://', ''), 'cgroup.procs');
  return (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').filter((l) => l !== '').map(Number);
}

/** Live conmon processes of a pod (their command lines name its bundles). */
/** conmon processes of the given container IDs (a spare monitor belongs to no pod). */
function monitorsOf(containerIds: readonly string[]): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conmon' && containerIds.some((id) => cmd.includes(id)) && alive(pid);
    } catch {
      return false;
    }
  });
}

/** Whether a process runs (a zombie does not). */
/** Every trace a pod's sandbox leaves on the host while it exists. */
function traces(podUid: string, st: { netns: string; pausePid: number; holderPid: number; hostVeth: string; ip: string }, containerIds: readonly string[] = []): string[] {
  const found: string[] = [];
  if (netns().includes(st.netns)) found.push(`netns ${st.netns}`);
  if (alive(st.pausePid)) found.push(`pause process ${st.pausePid}`);
  if (alive(st.holderPid)) found.push(`holder process ${st.holderPid}`);
  if (existsSync(`/sys/class/net/${st.hostVeth}`)) found.push(`veth ${st.hostVeth}`);
  if (existsSync(`/var/lib/cni/networks/podvisor-pv-br0/${st.ip}`)) found.push(`IP lease ${st.ip}`);
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? [''] : ['memory/', 'pids/', 'cpu/'];
  for (const c of cgroups) if (existsSync(`/sys/fs/cgroup/${c}podvisor-sandbox/${podUid}`)) found.push(`cgroup ${c}podvisor-sandbox/${podUid}`);
  for (const pid of monitorsOf(containerIds)) found.push(`monitor ${pid}`);
  return found;
}

describe.skipIf(problem !== undefined)('sandbox runtime end to end', () => {
  beforeAll(async () => {
    ensureBuilt();
    port = await freePort();
    await startDaemon();
  });

  afterAll(async () => {
    await stopDaemon('SIGTERM');
    // serve leaves sandboxes (and, under conmon, containers) for its next start: a failed test
    // may have left pods; nothing of them may outlive the test.
    const rt = await SandboxRuntime.create({ dataDir: join(dataDir, 'runtime'), monitorChoice: 'direct' });
    await rt.reapAllSandboxes(new Set());
    await rt.close();
    tmp.cleanup();
  });

  const pv = (args: string[]) => cli([...args, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);

  it('keeps the pod IP across container and in-place restarts, changes it on re-create, and cleans up on delete', async () => {
    const before = new Set(netns());
    const f = join(tmp.dir, 'net.yaml');
    writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata: {name: net}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: busybox:1.36
    command: ["sh", "-c", "echo \\"hostname=$(hostname)\\"; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
`);
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    const running = async (rc: number): Promise<any> => until(`running with restartCount ${rc}`, async () => {
      const p = await get('/api/v1/namespaces/default/pods/net');
      const c = p.status?.containerStatuses?.[0];
      return c?.restartCount === rc && c.state?.running && p.status.podIP ? p : undefined;
    });
    const p0 = await running(0);
    const ip = p0.status.podIP as string;
    expect(ip).toMatch(/^10\.88\.0\.\d+$/);
    expect(await until('hostname log', async () => {
      const l = await get('/api/v1/namespaces/default/pods/net/log');
      return typeof l === 'string' && l.includes('hostname=') ? l : undefined;
    })).toContain('hostname=net');

    expect((await pv(['restart', 'pod', 'net', '-c', 'app'])).code).toBe(0);
    expect((await running(1)).status.podIP).toBe(ip);

    expect((await pv(['restart', 'pod', 'net'])).code).toBe(0);
    const p2 = await running(2);
    expect(p2.status.podIP).toBe(ip);
    expect(p2.metadata.uid).toBe(p0.metadata.uid);

    expect((await pv(['recreate', 'pod', 'net'])).code).toBe(0);
    const p3 = await until('re-created', async () => {
      const p = await get('/api/v1/namespaces/default/pods/net');
      return p.metadata.uid !== p0.metadata.uid && p.status?.podIP && p.status.containerStatuses?.[0]?.state?.running ? p : undefined;
    });
    expect(p3.status.podIP).not.toBe(ip);

    expect((await pv(['delete', 'pod', 'net'])).code).toBe(0);
    await until('no netns left', async () => netns().every((n) => before.has(n)));
  });

  it('after kill -9 of serve, the pod keeps its sandbox and IP (and, under conmon, its running container); after delete, nothing is left on the host', async () => {
    const f = join(tmp.dir, 'survivor.yaml');
    writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata: {name: survivor}
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: app
    image: busybox:1.36
    resources: {limits: {memory: 64Mi}}
    volumeMounts: [{name: scratch, mountPath: /scratch}]
    command: ["sh", "-c", "echo run >> /scratch/runs; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
`);
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    const p0 = await until('running', async () => {
      const p = await get('/api/v1/namespaces/default/pods/survivor');
      return p.status?.podIP && p.status.containerStatuses?.[0]?.state?.running ? p : undefined;
    });
    const uid = p0.metadata.uid as string;
    const st = JSON.parse(readFileSync(join(dataDir, 'runtime', 'pods', uid, 'sandbox.json'), 'utf8'));
    const ids = (p0.status.containerStatuses as any[]).map((c) => String(c.containerID).replace(/^\w+:\/\//, ''));
    expect(traces(uid, st, ids)).toHaveLength(cgroupCount() + 5 + (conmon ? 1 : 0)); // + the container's monitor

    await stopDaemon('SIGKILL');
    // podvisor is gone; the pod's sandbox is not
    expect(alive(st.pausePid)).toBe(true);
    expect(netns()).toContain(st.netns);

    await startDaemon();
    const runsFile = join(dataDir, 'runtime', 'pods', uid, 'volumes', 'scratch', 'runs');
    if (conmon) {
      // The container ran on under its monitor and is re-adopted: same instance, same processes,
      // no restart; its exit is then seen by the new daemon (restartPolicy Always restarts it).
      const c0 = p0.status.containerStatuses[0];
      const cmdline = (pid: number): string => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      };
      // the wrapper (busybox unshare), the container's init and its command (not the short-lived sleeps)
      const procs = containerProcs(uid, c0.containerID).filter((pid) => cmdline(pid).includes('echo run'));
      expect(procs).toHaveLength(3);
      await until('the pod resumed', async () => (await get('/api/v1/namespaces/default/pods/survivor')).status?.podIP);
      await new Promise((r) => setTimeout(r, 1_000)); // a reaped container would be restarted by now
      const p1 = await get('/api/v1/namespaces/default/pods/survivor');
      expect(p1.status.containerStatuses[0]).toMatchObject({ containerID: c0.containerID, restartCount: 0, state: { running: { startedAt: c0.state.running.startedAt } } });
      for (const pid of procs) expect(alive(pid), `container process ${pid}`).toBe(true);
      expect(p1.status.podIP).toBe(p0.status.podIP);
      expect(readFileSync(runsFile, 'utf8')).toBe('run\n');
      const main = procs.find((pid) => cmdline(pid).startsWith('sh\0-c\0echo run'));
      expect(main).toBeDefined();
      process.kill(main ?? -1, 'SIGTERM');
      const p2 = await until('the adopted container\'s exit seen and restarted', async () => {
        const p = await get('/api/v1/namespaces/default/pods/survivor');
        const c = p.status?.containerStatuses?.[0];
        return c?.restartCount === 1 && c.state?.running ? p : undefined;
      });
      expect(p2.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 0, reason: 'Completed', containerID: c0.containerID });
      expect(readFileSync(runsFile, 'utf8')).toBe('run\nrun\n');
    } else {
      // podvisor was the containers' parent: the container is restarted (ContainerStatusUnknown).
      const p1 = await until('running again after the crash', async () => {
        const p = await get('/api/v1/namespaces/default/pods/survivor');
        const c = p.status?.containerStatuses?.[0];
        return c?.state?.running && c.restartCount >= 1 ? p : undefined;
      });
      expect(p1.metadata.uid).toBe(uid);
      expect(p1.status.podIP).toBe(p0.status.podIP); // the sandbox was re-attached, not rebuilt
      expect(readFileSync(runsFile, 'utf8')).toBe('run\nrun\n'); // emptyDir kept
    }
    expect(JSON.parse(readFileSync(join(dataDir, 'runtime', 'pods', uid, 'sandbox.json'), 'utf8')).pausePid).toBe(st.pausePid);

    expect((await pv(['delete', 'pod', 'survivor'])).code).toBe(0);
    await until('no trace of the sandbox left', () => traces(uid, st, ids).length === 0 || undefined, 10_000).catch(() => {
      throw new Error(`left behind: ${traces(uid, st, ids).join(', ')}`);
    });
  });

  it('GPUs from the inventory: kept across an in-place restart, a pod asking for more stays Pending (Unschedulable) until they are freed', async () => {
    const gpuPod = (name: string, n: number): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    resources: {limits: {nvidia.com/gpu: ${n}}}
    command: ["sh", "-c", "echo \\"gpus=$NVIDIA_VISIBLE_DEVICES cuda=$CUDA_VISIBLE_DEVICES\\"; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
`;
    const f = join(tmp.dir, 'gpu.yaml');
    writeFileSync(f, gpuPod('trainer', 1));
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    const logOf = async (name: string, lines: number): Promise<string[]> => until(`${lines} log lines of ${name}`, async () => {
      const all = (await get(`/api/v1/namespaces/default/pods/${name}/log`)) as string;
      const l = all.split('\n').filter((x) => x.startsWith('gpus='));
      return l.length >= lines ? l : undefined;
    });
    const [first] = await logOf('trainer', 1);
    expect(first).toMatch(/^gpus=(0|1) cuda=(0|1)$/);

    writeFileSync(f, gpuPod('greedy', 2));
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    const pending = await until('greedy unschedulable', async () => {
      const p = await get('/api/v1/namespaces/default/pods/greedy');
      return p.status?.conditions?.find((c: any) => c.type === 'PodScheduled' && c.status === 'False') ? p : undefined;
    });
    expect(pending.status.phase).toBe('Pending');
    const cond = pending.status.conditions.find((c: any) => c.type === 'PodScheduled');
    expect(cond.reason).toBe('Unschedulable');
    expect(cond.message).toMatch(/nvidia\.com\/gpu/);
    expect(pending.status.podIP).toBeUndefined(); // no sandbox while unschedulable

    // in place: the same device again
    expect((await pv(['restart', 'pod', 'trainer'])).code).toBe(0);
    await until('trainer restarted in place', async () => {
      const c = (await get('/api/v1/namespaces/default/pods/trainer')).status?.containerStatuses?.[0];
      return c?.restartCount === 1 && c.state?.running;
    });
    const lines = await logOf('trainer', 1);
    const prev = (await daemonRequest(dataDir, port, '/api/v1/namespaces/default/pods/trainer/log?previous=true')).body;
    expect(prev).toContain(first);
    expect(lines[0]).toBe(first);
    expect((await get('/api/v1/namespaces/default/pods/greedy')).status.phase).toBe('Pending');

    // deleting the trainer frees its device: the greedy pod gets both
    expect((await pv(['delete', 'pod', 'trainer'])).code).toBe(0);
    const [both] = await logOf('greedy', 1);
    expect(both).toMatch(/^gpus=(0,1|1,0) cuda=(0,1|1,0)$/);
    expect((await pv(['delete', 'pod', 'greedy'])).code).toBe(0);
  });
});
