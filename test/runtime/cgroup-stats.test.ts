/**
 * Container resource usage from cgroups: the readers against fixture files laid out as the
 * kernel's cgroup v1 and v2 files, where each runtime says the counters are (the sandbox
 * runtime's layouts), and, as root, the host runtime's real per-container counters.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseFlatKeyed, parseSingleValue, readCgroupStats, v1AccountingHierarchies, workingSet } from '../../src/runtime/cgroup-stats.js';
import { HostRuntime, NO_CAPABILITIES } from '../../src/runtime/host.js';
import { findConmon } from '../../src/runtime/monitor/conmon.js';
import { joinSpareCgroup } from '../../src/runtime/monitor/spares.js';
import { SandboxRuntime, sandboxAvailability } from '../../src/runtime/sandbox.js';
import { SandboxCgroups } from '../../src/runtime/sandbox/cgroups.js';
import type { ContainerStartSpec, Sandbox } from '../../src/runtime/types.js';
import { privilegedTests, rand } from './helpers.js';

/** Polls async `fn` every 20 ms until it returns a value; throws `what` at the deadline. */
async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp dir with `files` (relative path -> content). */
function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'podvisor-cgstats-'));
  dirs.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
  }
  return root;
}

/** A v1 `memory.stat` excerpt (local and hierarchical `total_` keys). */
const V1_MEMORY_STAT = [
  'cache 4096000', 'rss 1024000', 'inactive_file 999', 'active_file 8192',
  'total_cache 4096000', 'total_rss 1048576', 'total_inactive_file 2097152', 'total_active_file 1048576', '',
].join('\n');

/** A v2 `memory.stat` excerpt. */
const V2_MEMORY_STAT = ['anon 1048576', 'file 3145728', 'inactive_anon 0', 'active_anon 1048576', 'inactive_file 1048576', 'active_file 2097152', ''].join('\n');

const now = () => 1_700_000_000_000;

describe('cgroup usage readers', () => {
  it('parses flat-keyed and single-value files, skipping what is not a number', () => {
    expect(parseFlatKeyed('usage_usec 12\nuser_usec 7\nnr_periods\nbogus x\n')).toEqual(new Map([['usage_usec', 12], ['user_usec', 7]]));
    expect(parseSingleValue('123456789\n')).toBe(123456789);
    expect(parseSingleValue('max\n')).toBeUndefined();
  });

  it('the working set is usage minus the inactive file cache, never below zero', () => {
    expect(workingSet(5000, 2000)).toBe(3000);
    expect(workingSet(1000, 2000)).toBe(0);
  });

  it('v1: cpuacct.usage (ns) of the cpuacct leaf; memory.usage_in_bytes minus total_inactive_file of the memory leaf', async () => {
    const root = fixture({
      'cpuacct/pod/c/cpuacct.usage': '2500000000\n',
      'memory/pod/c/memory.usage_in_bytes': '6291456\n',
      'memory/pod/c/memory.stat': V1_MEMORY_STAT,
    });
    const s = await readCgroupStats({ version: 1, cpu: join(root, 'cpuacct/pod/c'), memory: join(root, 'memory/pod/c') }, now);
    expect(s).toEqual({ timestamp: now(), cpuUsageNanos: 2_500_000_000, memoryWorkingSetBytes: 6291456 - 2097152 });
  });

  it('v2: cpu.stat usage_usec (as ns); memory.current minus inactive_file of the same leaf', async () => {
    const root = fixture({
      'leaf/cpu.stat': 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 0\n',
      'leaf/memory.current': '4194304\n',
      'leaf/memory.stat': V2_MEMORY_STAT,
    });
    const leaf = join(root, 'leaf');
    const s = await readCgroupStats({ version: 2, cpu: leaf, memory: leaf }, now);
    expect(s).toEqual({ timestamp: now(), cpuUsageNanos: 1_500_000_000, memoryWorkingSetBytes: 4194304 - 1048576 });
  });

  it('no stats when a counter is missing: leaf gone, hierarchy not given, controller not enabled', async () => {
    const root = fixture({ 'cpuacct/c/cpuacct.usage': '1\n', 'v2/cpu.stat': 'usage_usec 1\n' });
    expect(await readCgroupStats({ version: 1, cpu: join(root, 'cpuacct/c') }, now)).toBeUndefined(); // no memory hierarchy
    expect(await readCgroupStats({ version: 1, cpu: join(root, 'gone'), memory: join(root, 'gone') }, now)).toBeUndefined();
    // cgroup v2 without the memory controller: cpu.stat only.
    expect(await readCgroupStats({ version: 2, cpu: join(root, 'v2'), memory: join(root, 'v2') }, now)).toBeUndefined();
  });

  it('finds the v1 accounting hierarchies: cpuacct on its own or co-mounted with cpu, and memory', () => {
    const own = fixture({ 'cpuacct/cpuacct.usage': '0', 'memory/memory.usage_in_bytes': '0' });
    expect(v1AccountingHierarchies(own)).toEqual({ cpuacct: join(own, 'cpuacct'), memory: join(own, 'memory') });
    const co = fixture({ 'cpu,cpuacct/cpuacct.usage': '0' });
    expect(v1AccountingHierarchies(co)).toEqual({ cpuacct: join(co, 'cpu,cpuacct') });
    symlinkSync(join(co, 'cpu,cpuacct'), join(co, 'cpuacct'));
    expect(v1AccountingHierarchies(co).cpuacct).toBe(join(co, 'cpuacct'));
    expect(v1AccountingHierarchies(fixture({}))).toEqual({});
  });
});

describe('where the sandbox runtime finds a container\'s counters', () => {
  const base = (ctrl: string) => `/sys/fs/cgroup/${ctrl}/podvisor-sandbox`;
  const leaf = (ctrl: string) => `${base(ctrl)}/pod/c1`;

  it('v1 with cpuacct on its own: its leaf there, and the memory leaf', () => {
    const cg = new SandboxCgroups({ version: 1, cpuUsageCtrl: 'cpuacct', bases: ['memory', 'pids', 'cpu', 'cpuacct'].map((c) => ({ ctrl: c as 'memory', dir: base(c) })) });
    const leaves = ['memory', 'pids', 'cpu', 'cpuacct'].map(leaf);
    expect(cg.statsDirs(leaves, leaf('pids'), leaf('memory'))).toEqual({ version: 1, cpu: leaf('cpuacct'), memory: leaf('memory') });
    // Started by an earlier podvisor that had no cpuacct leaf: no CPU counter (so no stats).
    expect(cg.statsDirs(leaves.slice(0, 3), leaf('pids'), leaf('memory'))).toEqual({ version: 1, memory: leaf('memory') });
  });

  it('v1 with cpu,cpuacct co-mounted: the cpu leaf has the counter', () => {
    const cg = new SandboxCgroups({ version: 1, cpuUsageCtrl: 'cpu', bases: ['memory', 'pids', 'cpu'].map((c) => ({ ctrl: c as 'memory', dir: base(c) })) });
    expect(cg.statsDirs(['memory', 'pids', 'cpu'].map(leaf), leaf('pids'), leaf('memory'))).toEqual({ version: 1, cpu: leaf('cpu'), memory: leaf('memory') });
  });

  it('v2: the one leaf', () => {
    const cg = new SandboxCgroups({ version: 2, bases: [{ ctrl: 'unified', dir: '/sys/fs/cgroup/podvisor-sandbox' }] });
    const l = '/sys/fs/cgroup/podvisor-sandbox/pod/c1';
    expect(cg.statsDirs([l], l, l)).toEqual({ version: 2, cpu: l, memory: l });
  });
});

describe('host runtime stats', () => {
  const runtimes: HostRuntime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
  });
  const spec = (sb: Sandbox, name: string, argv: string[]): ContainerStartSpec => ({ sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv, env: {}, mounts: [] });

  it('has none without cgroups (unprivileged baseline)', async () => {
    const root = fixture({});
    const rt = new HostRuntime({ dataDir: join(root, 'data'), capabilities: NO_CAPABILITIES });
    runtimes.push(rt);
    const sb = await rt.createSandbox({ podUid: `uid-${rand()}`, podName: 'p', namespace: 'default', emptyDirs: [] });
    const h = await rt.startContainer(spec(sb, 'c', ['sleep', '30']));
    expect(await rt.stats(h.id)).toBeUndefined();
  });

  it.skipIf(!privilegedTests)('as root: a busy container counts CPU time and an idle one hardly any; both have a working set; none once exited', async () => {
    const root = fixture({});
    const rt = await HostRuntime.create({ dataDir: join(root, 'data'), monitorChoice: 'direct' });
    runtimes.push(rt);
    expect(rt.capabilities.cgroup, rt.capabilities.notes.join('; ')).toBeDefined();
    const sb = await rt.createSandbox({ podUid: `uid-${rand()}`, podName: 'p', namespace: 'default', emptyDirs: [] });
    const busy = await rt.startContainer(spec(sb, 'busy', ['sh', '-c', 'while :; do :; done']));
    const idle = await rt.startContainer(spec(sb, 'idle', ['sleep', '60']));
    const first = { busy: await rt.stats(busy.id), idle: await rt.stats(idle.id) };
    expect(first.busy, rt.capabilities.notes.join('; ')).toBeDefined();
    expect(first.idle).toBeDefined();
    // At least 100 ms of CPU for the busy loop (a core is shared with the rest of the machine).
    const later = await until(async () => {
      const s = await rt.stats(busy.id);
      return s !== undefined && s.cpuUsageNanos - (first.busy?.cpuUsageNanos ?? 0) > 100e6 ? s : undefined;
    }, 10_000, 'the busy container to use CPU');
    const idleLater = await rt.stats(idle.id);
    const rate = (a: { cpuUsageNanos: number; timestamp: number } | undefined, b: { cpuUsageNanos: number; timestamp: number } | undefined) =>
      ((b?.cpuUsageNanos ?? 0) - (a?.cpuUsageNanos ?? 0)) / ((b?.timestamp ?? 0) - (a?.timestamp ?? 0));
    expect(rate(first.busy, later)).toBeGreaterThan(rate(first.idle, idleLater) + 0.05e6); // ns per ms: > 5 % of a core more
    expect(later.memoryWorkingSetBytes).toBeGreaterThan(0);
    expect(idleLater?.memoryWorkingSetBytes).toBeGreaterThan(0);
    await rt.killAll(busy.id);
    expect(await rt.stats(busy.id)).toBeUndefined();
  });

  for (const monitorChoice of ['direct', 'conmon'] as const) {
    const conmon = !('missing' in findConmon(process.env.PATH ?? ''));
    it.skipIf(!privilegedTests || (monitorChoice === 'conmon' && !conmon && process.env.CI !== 'true'))(
      `as root (${monitorChoice} monitor): every instance, prepared ahead or not, is in its accounting leaves`, async () => {
        const root = fixture({});
        const rt = await HostRuntime.create({ dataDir: join(root, 'data'), monitorChoice });
        runtimes.push(rt);
        const acct = rt.capabilities.cgroup?.accounting;
        const sb = await rt.createSandbox({ podUid: `uid-${rand()}`, podName: 'p', namespace: 'default', emptyDirs: [] });
        for (let attempt = 0; attempt < 3; attempt++) {
          // A pause first: a spare is ready again, and a join would be slow (what spares avoid).
          await new Promise((r) => setTimeout(r, 250));
          const h = await rt.startContainer({ ...spec(sb, 'c', ['sleep', '30']), attempt });
          const leaf = `/podvisor/${sb.podUid}.${h.id.slice('host://'.length)}`;
          const cgroups = readFileSync(`/proc/${h.pid}/cgroup`, 'utf8');
          if (acct?.cpuacct !== undefined) expect(cgroups).toMatch(new RegExp(`^\\d+:[^:]*cpuacct[^:]*:${leaf}$`, 'm'));
          if (acct?.memory !== undefined) expect(cgroups).toMatch(new RegExp(`^\\d+:memory:${leaf}$`, 'm'));
          if (acct?.cpuacct !== undefined && acct.memory !== undefined) expect(await rt.stats(h.id)).toBeDefined();
          await rt.removeContainer(h.id);
        }
        await rt.releaseSandbox(sb, { deleteData: true });
        for (const r of Object.values(acct ?? {})) expect(readdirSync(r).filter((n) => n.startsWith(sb.podUid))).toEqual([]);
      });
  }
});

describe('spares join the accounting hierarchies ahead', () => {
  it('joins a leaf of the same name in each accounting root; one that fails is left to the runtime', async () => {
    const root = fixture({ 'pids/podvisor/.keep': '', 'cpuacct/podvisor/.keep': '' });
    const leaf = await joinSpareCgroup(join(root, 'pids/podvisor'), 'abc', 4242, [join(root, 'cpuacct/podvisor'), join(root, 'missing/podvisor')]);
    expect(leaf).toBe(join(root, 'pids/podvisor/spare-abc'));
    expect(readFileSync(join(root, 'pids/podvisor/spare-abc/cgroup.procs'), 'utf8')).toBe('4242');
    expect(readFileSync(join(root, 'cpuacct/podvisor/spare-abc/cgroup.procs'), 'utf8')).toBe('4242');
    expect(existsSync(join(root, 'missing/podvisor/spare-abc'))).toBe(false);
    // Without the main leaf there is nothing to rename: no accounting leaf either.
    expect(await joinSpareCgroup(join(root, 'nope'), 'def', 1, [join(root, 'cpuacct/podvisor')])).toBeUndefined();
    expect(existsSync(join(root, 'cpuacct/podvisor/spare-def'))).toBe(false);
  });
});

/** The sandbox runtime on its own test bridge and subnet (removed at the end). */
const sandboxProblem = await sandboxAvailability();
const STATS_BRIDGE = 'pv-stats0';

describe.skipIf(sandboxProblem !== undefined && process.env.CI !== 'true')('sandbox runtime stats (root)', () => {
  afterAll(() => {
    const ports = spawnSync('ip', ['-o', 'link', 'show', 'master', STATS_BRIDGE], { encoding: 'utf8' });
    if (ports.status === 0 && ports.stdout.trim() === '') spawnSync('ip', ['link', 'del', STATS_BRIDGE]);
  });

  it('reads a container\'s CPU time and working set from its leaves, and removes every leaf with the pod', async () => {
    expect(sandboxProblem).toBeUndefined();
    const root = fixture({});
    const rt = await SandboxRuntime.create({ dataDir: join(root, 'data'), bridge: STATS_BRIDGE, subnet: '10.88.252.0/24', monitorChoice: 'direct' });
    const podUid = `uid-${rand()}`;
    try {
      const sb = await rt.createSandbox({ podUid, podName: 'p', namespace: 'default', emptyDirs: [] });
      const start = (name: string, script: string) => rt.startContainer({
        sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv: ['/bin/sh', '-c', script], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, mounts: [],
      });
      const busy = await start('busy', 'while :; do :; done');
      const first = await rt.stats(busy.id);
      expect(first).toBeDefined();
      const later = await until(async () => {
        const s = await rt.stats(busy.id);
        return s !== undefined && s.cpuUsageNanos - (first?.cpuUsageNanos ?? 0) > 100e6 ? s : undefined;
      }, 10_000, 'the busy container to use CPU');
      expect(later.memoryWorkingSetBytes).toBeGreaterThan(0);
      expect(await rt.stats('sandbox://0123456789abcdef0123456789abcdef')).toBeUndefined();
      await rt.killAll(busy.id);
      expect(await rt.stats(busy.id)).toBeUndefined();
      await rt.removeContainer(busy.id);
      await rt.releaseSandbox(sb, { deleteData: true });
      const v1 = !existsSync('/sys/fs/cgroup/cgroup.controllers');
      for (const h of v1 ? ['memory', 'pids', 'cpu', 'cpuacct'] : ['.']) expect(existsSync(`/sys/fs/cgroup/${h}/podvisor-sandbox/${podUid}`), h).toBe(false);
    } finally {
      await rt.releaseSandbox({ podUid }, { deleteData: true }).catch(() => {});
      await rt.close();
    }
  });
});
