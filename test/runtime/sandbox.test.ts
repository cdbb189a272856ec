/**
 * The sandbox runtime (Linux, root): the shared contract suite, plus what the sandbox adds:
 * pod IPs, pod-to-pod and localhost networking, hostname and /etc/hosts, PID namespaces, memory
 * (OOM) and pids limits, complete teardown, and re-attaching or reaping after a crash.
 *
 * Skipped when the host cannot run it (not root, tools missing) unless `CI=true`, where a missing
 * dependency must fail. Uses its own bridge and subnet, so a podvisor running on the same machine
 * with the defaults is not disturbed, and removes the bridge at the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findConmon } from '../../src/runtime/monitor/conmon.js';
import { SandboxRuntime, sandboxAvailability, type SandboxRuntimeOptions } from '../../src/runtime/sandbox.js';
import type { ContainerHandle, ContainerStartSpec, Sandbox, SandboxSpec } from '../../src/runtime/types.js';
import { runtimeContract } from './contract.js';
import { isAlive, logContent, logRecords, makeTempDir, rand, readIfExists, settlesWithin, waitFor } from './helpers.js';

const problem = await sandboxAvailability();
const skip = problem !== undefined && process.env.CI !== 'true';
const BRIDGE = 'pv-test0';
const SUBNET = '10.88.254.0/24';
const base = { bridge: BRIDGE, subnet: SUBNET };
const tiniInstalled = ['/usr/bin/tini', '/usr/local/bin/tini', '/sbin/tini'].some((p) => existsSync(p));
/** conmon is a Debian package: without it only the direct monitor is tested (under CI it must be there). */
const withConmon = !('missing' in findConmon(process.env.PATH ?? '')) || process.env.CI === 'true';
const conmon = { monitorChoice: 'conmon' } as const;
const direct = { monitorChoice: 'direct' } as const;
/** host-local's node-wide lease store of the test bridge. */
const LEASES = `/var/lib/cni/networks/podvisor-${BRIDGE}`;
/** Every (dataDir, podUid) a test created, for the safety net in afterAll. */
const created: { dataDir: string; podUid: string }[] = [];

describe.skipIf(skip)('sandbox runtime', () => {
  it('is available on this machine', () => {
    expect(problem).toBeUndefined();
  });

  // The default: an init is PID 1 of each container's own PID namespace, so signals act as on
  // the host runtime (the contract maps the PIDs containers report to host PIDs). conmon is the
  // containers' parent where it is installed; podvisor itself (the direct monitor) elsewhere.
  if (withConmon) runtimeContract('sandbox (conmon monitor)', (dataDir) => SandboxRuntime.create({ dataDir, ...base, ...conmon }));
  runtimeContract('sandbox (direct monitor)', (dataDir) => SandboxRuntime.create({ dataDir, ...base, ...direct }));
  // Without the init, exactly as in a Kubernetes container whose image has none: the command is
  // PID 1 and ignores signals it has no handler for.
  describe('without a container init', () => {
    if (withConmon) runtimeContract('sandbox (conmon monitor)', (dataDir) => SandboxRuntime.create({ dataDir, ...base, ...conmon, containerInit: false }), { pid1: true });
    runtimeContract('sandbox (direct monitor)', (dataDir) => SandboxRuntime.create({ dataDir, ...base, ...direct, containerInit: false }), { pid1: true });
  });
  // The fallback where catatonit is not packaged: tini as the pause process and container init.
  describe.skipIf(!tiniInstalled && process.env.CI !== 'true')('with tini instead of catatonit', () => {
    runtimeContract('sandbox', (dataDir) => SandboxRuntime.create({ dataDir, ...base, init: 'tini' }));
  });

  describe('SandboxRuntime specifics', () => {
    let tmp: { dir: string; remove: () => void };
    let out: string;
    const runtimes: SandboxRuntime[] = [];

    beforeEach(() => {
      tmp = makeTempDir('podvisor-sandbox-');
      out = join(tmp.dir, 'out');
      mkdirSync(out);
    });
    afterEach(async () => {
      for (const r of runtimes.splice(0).reverse()) await r.close();
      tmp.remove();
    });

    async function runtime(opts: Partial<SandboxRuntimeOptions> = {}): Promise<SandboxRuntime> {
      const rt = await SandboxRuntime.create({ dataDir: join(tmp.dir, 'data'), ...base, ...opts });
      runtimes.push(rt);
      return rt;
    }
    async function sandbox(rt: SandboxRuntime, extra: Partial<SandboxSpec> = {}): Promise<Sandbox> {
      const podUid = `uid-${rand()}`;
      created.push({ dataDir: join(tmp.dir, 'data'), podUid });
      return rt.createSandbox({ podUid, podName: `pod-${podUid.slice(4)}`, namespace: 'default', emptyDirs: [], ...extra });
    }
    function start(rt: SandboxRuntime, sb: Sandbox, name: string, script: string, extra: Partial<ContainerStartSpec> = {}): Promise<ContainerHandle> {
      return rt.startContainer({
        sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv: ['/bin/sh', '-c', script],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OUT: out }, mounts: [], ...extra,
      });
    }
    const file = (name: string, ms = 10_000): Promise<string> =>
      waitFor(() => { const t = readIfExists(join(out, name)); return t?.endsWith('\n') === true && t; }, ms, `${name} written by a container`);
    const state = (sb: Sandbox): { netns: string; pausePid: number; holderPid: number; hostVeth: string; ip: string } =>
      JSON.parse(readFileSync(join(sb.dir, 'sandbox.json'), 'utf8')) as never;
    const cgroupDirs = (podUid: string): string[] => existsSync('/sys/fs/cgroup/cgroup.controllers')
      ? [`/sys/fs/cgroup/podvisor-sandbox/${podUid}`]
      : ['memory', 'pids', 'cpu'].map((c) => `/sys/fs/cgroup/${c}/podvisor-sandbox/${podUid}`);
    const netnsExists = (name: string): boolean => existsSync(`/var/run/netns/${name}`);

    it('keeps the pod IP across container restarts; a new pod gets another; hostname and /etc/hosts are the pod\'s', async () => {
      const rt = await runtime();
      const hostHosts = readFileSync('/etc/hosts', 'utf8');
      const t0 = Date.now();
      const a = await sandbox(rt, { podName: 'web-a' });
      const createMs = Date.now() - t0;
      expect(a.ip).toMatch(/^10\.88\.254\.\d+$/);
      expect(a.id).toMatch(/^pv-/);
      const script = (n: number): string => `ip -4 -o addr show eth0 | awk '{print $4}' > "$OUT/ip${n}"; hostname > "$OUT/hn${n}"; cat /etc/hosts > "$OUT/hosts${n}"; exec sleep 1000`;
      const h1 = await start(rt, a, 'c', script(1));
      expect((await file('ip1')).trim()).toBe(`${a.ip}/24`);
      expect((await file('hn1')).trim()).toBe('web-a');
      expect(await file('hosts1')).toMatch(new RegExp(`^${a.ip?.replace(/\./g, '\\.')}\\s+web-a$`, 'm'));
      expect(readFileSync('/etc/hosts', 'utf8')).toBe(hostHosts); // bound privately, not changed
      await rt.killAll(h1.id);
      expect(await h1.exited).toMatchObject({ exitCode: 137 });
      await rt.removeContainer(h1.id);
      const h2 = await start(rt, a, 'c', script(2), { attempt: 1 });
      expect((await file('ip2')).trim()).toBe(`${a.ip}/24`);
      await rt.killAll(h2.id);
      // createSandbox is idempotent: same sandbox, same IP
      expect((await rt.createSandbox({ podUid: a.podUid, podName: 'web-a', namespace: 'default', emptyDirs: [] })).ip).toBe(a.ip);
      const b = await sandbox(rt, { podName: 'web-b' });
      expect(b.ip).toMatch(/^10\.88\.254\.\d+$/);
      expect(b.ip).not.toBe(a.ip);
      const t1 = Date.now();
      await rt.releaseSandbox(b, { deleteData: true });
      const releaseMs = Date.now() - t1;
      console.log(`sandbox create ${createMs} ms, release ${releaseMs} ms`);
    });

    it('lets containers of a pod talk over localhost, and a pod reach another pod by IP', async () => {
      const rt = await runtime();
      const a = await sandbox(rt);
      const b = await sandbox(rt);
      const server = await start(rt, a, 'server', 'exec busybox nc -ll -p 8080 -e /bin/echo hello-from-a');
      const client = (target: string, outName: string): string =>
        `for i in $(seq 200); do r=$(busybox nc ${target} 8080 </dev/null 2>/dev/null); if [ -n "$r" ]; then echo "$r" > "$OUT/${outName}"; exit 0; fi; sleep 0.05; done; exit 1`;
      const local = await start(rt, a, 'local', client('127.0.0.1', 'local'));
      expect(await local.exited).toMatchObject({ exitCode: 0 });
      expect(readFileSync(join(out, 'local'), 'utf8')).toBe('hello-from-a\n');
      const remote = await start(rt, b, 'remote', client(a.ip ?? '', 'remote'));
      expect(await remote.exited).toMatchObject({ exitCode: 0 });
      expect(readFileSync(join(out, 'remote'), 'utf8')).toBe('hello-from-a\n');
      // pod B does not see pod A's localhost
      const isolated = await start(rt, b, 'isolated', 'busybox nc -w 1 127.0.0.1 8080 </dev/null; exit $?');
      expect((await isolated.exited).exitCode).not.toBe(0);
      await rt.killAll(server.id);
    });

    // Changes the host's FORWARD policy for a few seconds: under CI (a throwaway machine), or on request.
    const firewallTest = process.env.CI === 'true' || process.env.PODVISOR_TEST_FIREWALL === '1';
    it.runIf(firewallTest)('pods reach each other also when the iptables FORWARD policy is DROP (as Docker sets it)', async () => {
      const iptables = (...args: string[]) => spawnSync('iptables', ['-w', '5', ...args], { encoding: 'utf8' });
      const listed = iptables('-S', 'FORWARD');
      expect(listed.status, `iptables: ${listed.stderr}`).toBe(0);
      const policy = /^-P FORWARD (\w+)$/m.exec(listed.stdout)?.[1] ?? 'ACCEPT';
      expect(iptables('-P', 'FORWARD', 'DROP').status).toBe(0);
      try {
        const rt = await runtime();
        const a = await sandbox(rt);
        const b = await sandbox(rt);
        const server = await start(rt, a, 'server', 'exec busybox nc -ll -p 8080 -e /bin/echo hello-through-drop');
        const client = await start(rt, b, 'client',
          `for i in $(seq 50); do r=$(busybox nc -w 1 ${a.ip ?? ''} 8080 </dev/null 2>/dev/null); if [ -n "$r" ]; then echo "$r" > "$OUT/through-drop"; exit 0; fi; sleep 0.1; done; exit 1`);
        expect(await client.exited).toMatchObject({ exitCode: 0 });
        expect(readFileSync(join(out, 'through-drop'), 'utf8')).toBe('hello-through-drop\n');
        if (readIfExists('/proc/sys/net/bridge/bridge-nf-call-iptables')?.trim() === '1') {
          // the one rule podvisor adds: bridge to the same bridge, nothing else
          expect(iptables('-S', 'FORWARD').stdout).toContain(`-A FORWARD -i ${BRIDGE} -o ${BRIDGE} -m comment --comment "podvisor: pod-to-pod traffic on the pod bridge" -j ACCEPT`);
        }
        await rt.killAll(server.id);
      } finally {
        iptables('-P', 'FORWARD', policy);
      }
    });

    it('gives each container its own PID namespace with an init as PID 1, or the pod\'s with shareProcessNamespace', async () => {
      const rt = await runtime();
      const own = await sandbox(rt);
      const withInit = await start(rt, own, 'ps-init', 'sleep 1000 & busybox ps -o pid,comm > "$OUT/ps-init"; wait');
      const psInit = (await file('ps-init')).trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
      expect(psInit).toHaveLength(4); // catatonit (PID 1), sh (PID 2), the background sleep, busybox ps
      expect(psInit.find((p) => p[0] === '1')?.[1]).toBe('catatonit');
      expect(psInit.find((p) => p[1] === 'sh')?.[0]).toBe('2');
      expect(readFileSync(`/proc/${withInit.pid}/cmdline`, 'utf8')).toContain('/bin/sh');
      // the command is not PID 1: SIGTERM without a handler ends it with 143, as on the host runtime
      rt.signal(withInit.id, 'SIGTERM');
      expect(await withInit.exited).toMatchObject({ exitCode: 143, signal: 'SIGTERM', oomKilled: false });
      const exitCode = await start(rt, own, 'code-init', 'exit 3');
      expect(await exitCode.exited).toMatchObject({ exitCode: 3 });
      expect((await exitCode.exited).signal).toBeUndefined();

      // podvisor.io/container-init: "false": the command is PID 1 (as in a Kubernetes container without init)
      const bare = await sandbox(rt, { containerInit: false });
      const h = await start(rt, bare, 'ps', 'sleep 1000 & busybox ps -o pid,comm > "$OUT/ps-own"; wait');
      const ps = await file('ps-own');
      const procs = ps.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
      expect(procs).toHaveLength(3); // sh (PID 1), the background sleep (maybe still a forked sh), busybox ps
      expect(procs.map((p) => p[1])).toContain('busybox');
      expect(procs.find((p) => p[1] === 'sh')?.[0]).toBe('1');
      expect(h.pid).toBeGreaterThan(1);
      expect(readFileSync(`/proc/${h.pid}/cmdline`, 'utf8')).toContain('/bin/sh');
      // exec joins the container's PID namespace (its /proc) and the pod's UTS namespace
      const r = await rt.exec(h.id, ['/bin/sh', '-c', 'cat /proc/1/comm; hostname'], { timeoutMs: 5_000 });
      expect(r).toEqual({ exitCode: 0, output: `sh\npod-${bare.podUid.slice(4)}\n`, timedOut: false });
      // PID 1 ignores a SIGTERM it has no handler for (as in Kubernetes); SIGKILL gives 137
      rt.signal(h.id, 'SIGTERM');
      expect(await settlesWithin(h.exited, 300)).toBe(false);
      rt.signal(h.id, 'SIGKILL');
      expect(await h.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
      const trap = await start(rt, bare, 'trap', 'trap "exit 7" TERM; echo ready > "$OUT/trap"; sleep 1000 & wait');
      await file('trap');
      rt.signal(trap.id, 'SIGTERM');
      expect(await trap.exited).toMatchObject({ exitCode: 7 });
      expect(await (await start(rt, bare, 'code', 'exit 3')).exited).toMatchObject({ exitCode: 3 });

      const shared = await sandbox(rt, { shareProcessNamespace: true });
      const sleeper = await start(rt, shared, 'sleeper', 'exec sleep 1001');
      const viewer = await start(rt, shared, 'viewer', 'busybox ps -o pid,args > "$OUT/ps-shared"');
      await viewer.exited;
      const text = readFileSync(join(out, 'ps-shared'), 'utf8');
      expect(text).toMatch(/^\s*1\s+\S*catatonit/m);
      expect(text).toContain('sleep 1001');
      rt.signal(sleeper.id, 'SIGTERM'); // not PID 1 here: the default action applies
      expect(await sleeper.exited).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
      const killed = await start(rt, shared, 'self', 'kill -KILL $$');
      expect(await killed.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    });

    it('OOM-kills a container over its memory limit (oomKilled, 137) and applies the CPU quota', async () => {
      const rt = await runtime();
      const sb = await sandbox(rt);
      const limits = await start(rt, sb, 'limits', 'exec sleep 1000', { resources: { memoryLimitBytes: 64 * 1024 * 1024, cpuMillis: 250 } });
      const leaf = limits.id.replace('sandbox://', '');
      if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
        const dir = `/sys/fs/cgroup/podvisor-sandbox/${sb.podUid}/${leaf}`;
        expect(readFileSync(`${dir}/memory.max`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
        expect(readFileSync(`${dir}/cpu.max`, 'utf8').trim()).toBe('25000 100000');
      } else {
        expect(readFileSync(`/sys/fs/cgroup/memory/podvisor-sandbox/${sb.podUid}/${leaf}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
        expect(readFileSync(`/sys/fs/cgroup/cpu/podvisor-sandbox/${sb.podUid}/${leaf}/cpu.cfs_quota_us`, 'utf8').trim()).toBe('25000');
      }
      await rt.killAll(limits.id);
      expect(await limits.exited).toMatchObject({ exitCode: 137, oomKilled: false });

      const hog = await start(rt, sb, 'hog', 'exec tail /dev/zero', { resources: { memoryLimitBytes: 32 * 1024 * 1024 } });
      expect(await hog.exited).toMatchObject({ exitCode: 137, oomKilled: true });
    });

    it('contains a fork bomb with the pod pids limit, and killAll removes every process', async () => {
      const rt = await runtime();
      const sb = await sandbox(rt, { pidsLimit: 64 });
      const pidsDir = cgroupDirs(sb.podUid).find((d) => d.includes('/pids/')) ?? cgroupDirs(sb.podUid)[0] ?? '';
      // A bounded bomb: a binary tree of depth 9 (about 1000 processes wanted), leaves sleep 30 s.
      const bomb = await start(rt, sb, 'bomb', 'f() { if [ "$1" -gt 0 ]; then f $(($1-1)) & f $(($1-1)) & wait; else sleep 30; fi; }; f 9 2>/dev/null & wait $!; exec sleep 1000');
      const leaf = join(pidsDir, bomb.id.replace('sandbox://', ''));
      // kernels count refused forks in the cgroup where they happened (the container's) or at the limit
      const hit = (d: string): boolean => /^max [1-9]/m.test(readIfExists(join(d, 'pids.events')) ?? '');
      await waitFor(() => hit(leaf) || hit(pidsDir), 10_000, 'the pids limit to be hit');
      expect(Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8'))).toBeLessThanOrEqual(64);
      const peak = readIfExists(join(pidsDir, 'pids.peak'));
      if (peak !== undefined) expect(Number(peak)).toBeLessThanOrEqual(64);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      expect(Date.now() - t0).toBeLessThan(1_000); // the test process stays responsive
      await rt.killAll(bomb.id);
      expect(await bomb.exited).toMatchObject({ exitCode: 137 });
      expect(existsSync(leaf)).toBe(false);
      // only the holder remains in the pod
      expect(Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8'))).toBeLessThanOrEqual(2);
    });

    it('shares IP leases between podvisor processes on a node and frees the leases of vanished sandboxes', async () => {
      // a lease left by a sandbox whose netns is gone (a crashed podvisor whose data dir was removed)
      mkdirSync(LEASES, { recursive: true });
      const staleIp = '10.88.254.250';
      writeFileSync(join(LEASES, staleIp), 'pv-0123456789ab\r\neth0');
      const one = await runtime({ dataDir: join(tmp.dir, 'data-one') });
      const two = await runtime({ dataDir: join(tmp.dir, 'data-two') });
      const a = await sandbox(one);
      const b = await sandbox(two);
      expect(a.ip).toMatch(/^10\.88\.254\.\d+$/);
      expect(b.ip).not.toBe(a.ip); // two data directories, one address pool
      expect(existsSync(join(LEASES, staleIp))).toBe(false);
      expect(readFileSync(join(LEASES, a.ip ?? ''), 'utf8')).toContain(state(a).netns);
      await one.releaseSandbox(a, { deleteData: true });
      await two.releaseSandbox(b, { deleteData: true });
    });

    it('leaves no netns, holder, veth, IP lease or cgroup after releaseSandbox', async () => {
      const rt = await runtime();
      const sb = await sandbox(rt, { emptyDirs: ['data'], shareProcessNamespace: true });
      const st = state(sb);
      const lease = join(LEASES, sb.ip ?? '');
      expect(netnsExists(st.netns)).toBe(true);
      expect(isAlive(st.pausePid)).toBe(true);
      expect(isAlive(st.holderPid)).toBe(true);
      expect(existsSync(`/sys/class/net/${st.hostVeth}`)).toBe(true);
      expect(existsSync(lease)).toBe(true);
      for (const d of cgroupDirs(sb.podUid)) expect(existsSync(d)).toBe(true);
      const h = await start(rt, sb, 'c', 'sleep 1000 & exec sleep 1000');
      await rt.releaseSandbox(sb, { deleteData: true });
      expect(await settlesWithin(h.exited, 0)).toBe(true);
      expect(netnsExists(st.netns)).toBe(false);
      await waitFor(() => !isAlive(st.pausePid) && !isAlive(st.holderPid), 2_000, 'the holder to be gone');
      expect(existsSync(`/sys/class/net/${st.hostVeth}`)).toBe(false);
      expect(existsSync(lease)).toBe(false);
      for (const d of cgroupDirs(sb.podUid)) expect(existsSync(d)).toBe(false);
      expect(existsSync(sb.dir)).toBe(false);
      await rt.releaseSandbox(sb, { deleteData: true }); // idempotent
    });

    it('after a crash: reapAllSandboxes tears down dropped sandboxes and re-attaches kept ones (same IP)', async () => {
      const crashed = await runtime();
      const dropped = await sandbox(crashed);
      const kept = await sandbox(crashed, { podName: 'kept' });
      const inDropped = await start(crashed, dropped, 'c', 'exec sleep 1000');
      const inKept = await start(crashed, kept, 'c', 'exec sleep 1000');
      const stDropped = state(dropped);
      // "crash": the first runtime object is abandoned, a new one takes over the same dataDir
      const rt = await runtime();
      const attached = await rt.reapAllSandboxes(new Set([kept.podUid]));
      expect([...attached.keys()]).toEqual([kept.podUid]);
      expect(attached.get(kept.podUid)?.ip).toBe(kept.ip);
      expect(netnsExists(stDropped.netns)).toBe(false);
      expect(isAlive(stDropped.pausePid)).toBe(false);
      expect(await settlesWithin(inDropped.exited, 5_000)).toBe(true);
      for (const d of cgroupDirs(dropped.podUid)) expect(existsSync(d)).toBe(false);
      // the kept pod: the leftover container is reaped, the sandbox works
      expect(await rt.reapOrphans(kept.podUid)).toBe(1);
      expect(await settlesWithin(inKept.exited, 5_000)).toBe(true);
      expect((await rt.createSandbox({ podUid: kept.podUid, podName: 'kept', namespace: 'default', emptyDirs: [] })).ip).toBe(kept.ip);
      const h = await start(rt, attached.get(kept.podUid) ?? kept, 'again', 'hostname > "$OUT/hn"');
      expect(await h.exited).toMatchObject({ exitCode: 0 });
      expect((await file('hn')).trim()).toBe('kept');
      await rt.releaseSandbox(kept, { deleteData: false });
      expect(readdirSync(join(tmp.dir, 'data', 'pods'))).toContain(kept.podUid); // data kept
    });

    describe.runIf(withConmon)('containers outlive podvisor (conmon monitor)', () => {
      const bare = (h: ContainerHandle): string => h.id.replace('sandbox://', '');
      const bundleOf = (sb: Sandbox, h: ContainerHandle): string => join(sb.dir, 'containers', bare(h));
      const exitFileOf = (h: ContainerHandle): string => join(tmp.dir, 'data', 'monitor', 'exits', bare(h));
      const leafGone = (sb: Sandbox, h: ContainerHandle): boolean => cgroupDirs(sb.podUid).every((d) => !existsSync(join(d, bare(h))));
      /** The first process stops and leaves its sandboxes and containers for the next one. */
      async function handOver(rt: SandboxRuntime): Promise<void> {
        await rt.close({ keepSandboxes: true, keepContainers: true });
      }
      /** The next process: re-attaches the sandbox (same IP) as the agent does at start. */
      async function nextProcess(sb: Sandbox, opts: Partial<SandboxRuntimeOptions> = {}): Promise<SandboxRuntime> {
        const rt = await runtime({ ...conmon, ...opts });
        expect((await rt.reapAllSandboxes(new Set([sb.podUid]))).get(sb.podUid)?.ip).toBe(sb.ip);
        return rt;
      }
      /** Lets a container go on ("$OUT/go") while no runtime runs, and waits until conmon recorded its exit. */
      async function exitWhileDown(h: ContainerHandle): Promise<void> {
        writeFileSync(join(out, 'go'), '');
        await waitFor(() => /^\d+$/.test(readIfExists(exitFileOf(h))?.trim() ?? ''), 10_000, 'conmon to record the exit');
        expect(isAlive(h.pid)).toBe(false);
      }
      const waitForGo = 'while [ ! -e "$OUT/go" ]; do sleep 0.02; done';

      it('reports the monitor and keeps containers running through close({ keepSandboxes, keepContainers }); a new runtime re-adopts them', async () => {
        const first = await runtime(conmon);
        expect(first.containersOutlivePodvisor).toBe(true);
        expect(first.monitor.kind).toBe('conmon');
        const sb = await sandbox(first, { podName: 'adopted' });
        const h = await start(first, sb, 'c', 'trap "echo term >&2; exit 7" TERM; echo started; echo ready > "$OUT/ready"; while :; do sleep 0.05; done');
        await file('ready');
        await handOver(first);
        expect(isAlive(h.pid)).toBe(true);
        expect(await settlesWithin(h.exited, 200)).toBe(false); // the stopped runtime reports nothing more
        await first.close(); // a second close tears nothing down: it was handed over

        const second = await nextProcess(sb);
        const adopted = await second.adoptContainer(sb.podUid, h.id);
        expect(adopted.state).toBe('running');
        if (adopted.state !== 'running') return;
        expect(adopted.handle).toMatchObject({ id: h.id, pid: h.pid, startedAt: h.startedAt });
        expect(await second.adoptContainer(sb.podUid, h.id)).toMatchObject({ state: 'running', handle: { pid: h.pid } }); // idempotent
        expect(await second.reapOrphans(sb.podUid, new Set([h.id]))).toBe(0);
        expect(isAlive(h.pid)).toBe(true);
        // the adopted instance is fully usable: exec in its namespaces, signals to its command
        expect(await second.exec(h.id, ['hostname'], { timeoutMs: 5_000 })).toEqual({ exitCode: 0, output: 'adopted\n', timedOut: false });
        expect(await settlesWithin(adopted.handle.exited, 100)).toBe(false);
        second.signal(h.id, 'SIGTERM');
        const exit = await adopted.handle.exited;
        expect(exit).toMatchObject({ exitCode: 7, oomKilled: false });
        expect(exit.signal).toBeUndefined();
        expect(exit.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
        expect(isAlive(h.pid)).toBe(false);
        expect(leafGone(sb, h)).toBe(true);
        // conmon kept writing the log, stdout and stderr apart, before and after the hand-over
        const records = logRecords(second.logPath(sb.podUid, 'c', false) ?? '');
        expect(records.filter((r) => r.content === 'started').map((r) => r.stream)).toEqual(['stdout']);
        expect(records.filter((r) => r.content === 'term').map((r) => r.stream)).toEqual(['stderr']);
        // removing it forgets its exit file and its bundle
        expect(existsSync(bundleOf(sb, h))).toBe(true);
        await second.removeContainer(h.id);
        // The files of a removed instance go after the removal returned (off the restart path).
        await waitFor(() => !existsSync(bundleOf(sb, h)) && !existsSync(exitFileOf(h)), 5_000, 'its bundle and exit file gone');
      });

      it('reports the real exit of a container that ended while no runtime ran, and cleans up after it', async () => {
        const first = await runtime(conmon);
        const sb = await sandbox(first);
        const h = await start(first, sb, 'c', `echo ready > "$OUT/ready"; ${waitForGo}; echo bye; exit 5`);
        await file('ready');
        await handOver(first);
        await exitWhileDown(h);
        expect(leafGone(sb, h)).toBe(false); // nobody cleaned up yet

        const second = await nextProcess(sb);
        const adopted = await second.adoptContainer(sb.podUid, h.id);
        expect(adopted).toMatchObject({ state: 'exited', startedAt: h.startedAt, exit: { exitCode: 5, oomKilled: false } });
        if (adopted.state !== 'exited') return;
        expect(adopted.exit.signal).toBeUndefined();
        expect(adopted.exit.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
        expect(leafGone(sb, h)).toBe(true);
        expect(await second.reapOrphans(sb.podUid, new Set())).toBe(0);
        expect(logContent(second.logPath(sb.podUid, 'c', false) ?? '')).toBe('bye\n');
        await second.removeContainer(h.id);
        // The files of a removed instance go after the removal returned (off the restart path).
        await waitFor(() => !existsSync(bundleOf(sb, h)) && !existsSync(exitFileOf(h)), 5_000, 'its bundle and exit file gone');
      });

      it('reports an OOM kill that happened while no runtime ran as oomKilled', async () => {
        const first = await runtime(conmon);
        const sb = await sandbox(first);
        const h = await start(first, sb, 'hog', `echo ready > "$OUT/ready"; ${waitForGo}; exec tail /dev/zero`, { resources: { memoryLimitBytes: 32 * 1024 * 1024 } });
        await file('ready');
        await handOver(first);
        await exitWhileDown(h);

        const second = await nextProcess(sb);
        const adopted = await second.adoptContainer(sb.podUid, h.id);
        expect(adopted).toMatchObject({ state: 'exited', exit: { exitCode: 137, signal: 'SIGKILL', oomKilled: true } });
        expect(leafGone(sb, h)).toBe(true);
      });

      it('kills a container whose monitor is gone (unknown), and reaps what was not adopted', async () => {
        const first = await runtime(conmon);
        const sb = await sandbox(first);
        const [lost, orphan] = await Promise.all([
          start(first, sb, 'lost', 'sleep 1000 & echo $! > "$OUT/lost"; exec sleep 1000'),
          start(first, sb, 'orphan', 'echo ready > "$OUT/orphan"; exec sleep 1000'),
        ]);
        await Promise.all([file('lost'), file('orphan')]);
        await handOver(first);
        const rec = JSON.parse(readFileSync(join(bundleOf(sb, lost), 'instance.json'), 'utf8')) as { monitor: { monitorPid?: number } };
        const monitorPid = rec.monitor.monitorPid ?? -1;
        expect(isAlive(monitorPid)).toBe(true);
        process.kill(monitorPid, 'SIGKILL');
        await waitFor(() => !isAlive(monitorPid), 5_000, 'conmon to die');
        expect(isAlive(lost.pid)).toBe(true); // the container itself runs on, unsupervised

        const second = await nextProcess(sb);
        expect(await second.adoptContainer(sb.podUid, lost.id)).toEqual({ state: 'unknown' });
        expect(isAlive(lost.pid)).toBe(false);
        expect(leafGone(sb, lost)).toBe(true);
        expect(existsSync(bundleOf(sb, lost))).toBe(false);
        // not adopted: reapOrphans kills it, and forgets it once conmon recorded its exit
        expect(await second.reapOrphans(sb.podUid, new Set())).toBe(1);
        expect(isAlive(orphan.pid)).toBe(false);
        expect(leafGone(sb, orphan)).toBe(true);
        expect(existsSync(bundleOf(sb, orphan))).toBe(false);
        expect(existsSync(exitFileOf(orphan))).toBe(false);
        expect(await second.adoptContainer(sb.podUid, `sandbox://${'0'.repeat(32)}`)).toEqual({ state: 'unknown' });
      });

      it('does not trust a launch record that names other cgroups: the container is unknown and killed', async () => {
        const first = await runtime(conmon);
        const sb = await sandbox(first);
        const h = await start(first, sb, 'c', 'echo ready > "$OUT/ready"; exec sleep 1000');
        await file('ready');
        await handOver(first);
        const recFile = join(bundleOf(sb, h), 'instance.json');
        const rec = JSON.parse(readFileSync(recFile, 'utf8')) as { details: { procsDir: string } };
        rec.details.procsDir = '/sys/fs/cgroup/pids'; // sweeping it would kill every process of the host
        writeFileSync(recFile, JSON.stringify(rec));
        const second = await nextProcess(sb);
        expect(await second.adoptContainer(sb.podUid, h.id)).toEqual({ state: 'unknown' });
        expect(isAlive(h.pid)).toBe(false); // found through its own leaf
        expect(leafGone(sb, h)).toBe(true);
        expect(isAlive(process.pid)).toBe(true);
      });

      it('releasing a re-attached sandbox kills adopted containers and forgets every instance of the pod', async () => {
        const first = await runtime(conmon);
        const sb = await sandbox(first);
        const done = await start(first, sb, 'done', 'exit 0');
        await done.exited;
        const h = await start(first, sb, 'c', 'echo ready > "$OUT/ready"; exec sleep 1000');
        await file('ready');
        await handOver(first);
        const second = await nextProcess(sb);
        const adopted = await second.adoptContainer(sb.podUid, h.id);
        expect(adopted.state).toBe('running');
        await second.releaseSandbox(sb, { deleteData: false });
        expect(isAlive(h.pid)).toBe(false);
        if (adopted.state === 'running') expect(await settlesWithin(adopted.handle.exited, 5_000)).toBe(true);
        expect(readdirSync(join(sb.dir, 'containers'))).toEqual([]);
        expect(readdirSync(join(tmp.dir, 'data', 'monitor', 'exits'))).toEqual([]);
      });
    });

    it('with the direct monitor, containers end with the runtime even with keepContainers, and are unknown afterwards', async () => {
      const first = await runtime(direct);
      expect(first.containersOutlivePodvisor).toBe(false);
      const sb = await sandbox(first);
      const h = await start(first, sb, 'c', 'echo ready > "$OUT/ready"; exec sleep 1000');
      await file('ready');
      await first.close({ keepSandboxes: true, keepContainers: true });
      expect(await h.exited).toMatchObject({ exitCode: 137 });
      const second = await runtime(direct);
      await second.reapAllSandboxes(new Set([sb.podUid]));
      expect(await second.adoptContainer(sb.podUid, h.id)).toEqual({ state: 'unknown' });
      const again = await start(second, sb, 'c', 'exit 0', { attempt: 1 });
      expect(await again.exited).toMatchObject({ exitCode: 0 });
    });
  });
});

afterAll(async () => {
  if (skip || problem !== undefined) return;
  // Safety net: release whatever a failed test left (works from the pod UID alone).
  for (const { dataDir, podUid } of created) {
    const existed = existsSync(dataDir);
    const rt = await SandboxRuntime.create({ dataDir, ...base });
    await rt.releaseSandbox({ podUid }, { deleteData: false }).catch(() => {});
    await rt.close();
    if (!existed) rmSync(join(dataDir, '..'), { recursive: true, force: true });
  }
  const ports = spawnSync('ip', ['-o', 'link', 'show', 'master', BRIDGE], { encoding: 'utf8' });
  if (ports.status === 0 && ports.stdout.trim() === '') spawnSync('ip', ['link', 'del', BRIDGE]);
});
