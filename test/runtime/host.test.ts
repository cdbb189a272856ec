/**
 * The host runtime: the shared contract suite, plus host-specific behaviour (capability probe,
 * exact environment, fallbacks without cgroups or mounts, log file naming and rotation).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostRuntime, NO_CAPABILITIES } from '../../src/runtime/host.js';
import { findConmon } from '../../src/runtime/monitor/conmon.js';
import { StartError, type ContainerStartSpec, type Sandbox } from '../../src/runtime/types.js';
import { runtimeContract } from './contract.js';
import { isAlive, logContent, makeTempDir, privilegedTests, rand, readPids, waitFor } from './helpers.js';

/** conmon is a Debian package: on a laptop without it only the direct monitor is tested. */
const conmonPresent = !('missing' in findConmon(process.env.PATH ?? ''));
if (conmonPresent || process.env.CI === 'true') runtimeContract('host (conmon monitor)', (dataDir) => HostRuntime.create({ dataDir, monitorChoice: 'conmon' }));
runtimeContract('host (direct monitor)', (dataDir) => HostRuntime.create({ dataDir, monitorChoice: 'direct' }));

const itPrivileged = privilegedTests ? it : it.skip;

describe('HostRuntime specifics', () => {
  let tmp: { dir: string; remove: () => void };
  const runtimes: HostRuntime[] = [];

  beforeEach(() => {
    tmp = makeTempDir('podvisor-host-');
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
    tmp.remove();
  });

  async function setup(make: (dataDir: string) => Promise<HostRuntime>): Promise<{ rt: HostRuntime; sb: Sandbox; podUid: string }> {
    const rt = await make(join(tmp.dir, 'data'));
    runtimes.push(rt);
    const podUid = `uid-${rand()}`;
    const sb = await rt.createSandbox({ podUid, podName: 'p', namespace: 'default', emptyDirs: ['cache'] });
    return { rt, sb, podUid };
  }
  const spec = (sb: Sandbox, name: string, argv: string[], extra: Partial<ContainerStartSpec> = {}): ContainerStartSpec => ({
    sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv, env: {}, mounts: [], ...extra,
  });

  itPrivileged('probes cgroups and mount namespaces as root', async () => {
    const caps = await HostRuntime.probe(join(tmp.dir, 'data'));
    expect(caps.cgroup, caps.notes.join('; ')).toBeDefined();
    expect(caps.mounts, caps.notes.join('; ')).toBe('root');
    expect(caps.tools.nsenter).toBeDefined();
  });

  it('lays out the sandbox under dataDir', async () => {
    const { sb, podUid } = await setup((d) => HostRuntime.create({ dataDir: d }));
    expect(sb.podUid).toBe(podUid);
    expect(sb.id).toMatch(/^host-/);
    expect(sb.ip).toBeUndefined();
    expect(sb.dir).toBe(join(tmp.dir, 'data', 'pods', podUid));
    expect(sb.emptyDirPaths.cache).toBe(join(sb.dir, 'volumes', 'cache'));
    expect(existsSync(sb.emptyDirPaths.cache ?? '')).toBe(true);
  });

  it('passes exactly the spec env, adding podvisor\'s PATH only when missing', async () => {
    const { rt, sb, podUid } = await setup((d) => HostRuntime.create({ dataDir: d }));
    const envOf = async (name: string, env: Record<string, string>): Promise<Record<string, string>> => {
      const h = await rt.startContainer(spec(sb, name, ['/usr/bin/env'], { env }));
      await h.exited;
      const text = logContent(rt.logPath(podUid, name, false) ?? '');
      return Object.fromEntries(text.split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    };
    expect(await envOf('a', { FOO: 'x' })).toEqual({ FOO: 'x', PATH: process.env.PATH });
    expect(await envOf('b', { PATH: '/usr/bin:/bin', PWD: '/custom' })).toEqual({ PATH: '/usr/bin:/bin', PWD: '/custom' });
  });

  it('never overwrites a log file and keeps only the current and previous instance\'s logs', async () => {
    const { rt, sb, podUid } = await setup((d) => HostRuntime.create({ dataDir: d }));
    const paths: string[] = [];
    for (const [i, attempt] of [0, 1, 1].entries()) {
      const h = await rt.startContainer(spec(sb, 'c', ['/bin/sh', '-c', `echo run-${i}`], { attempt }));
      await h.exited;
      await rt.removeContainer(h.id);
      paths.push(rt.logPath(podUid, 'c', false) ?? '');
    }
    expect(new Set(paths).size).toBe(3);
    expect(paths[0]).toMatch(/\/logs\/c\/0\.log$/);
    expect(logContent(paths[2] ?? '')).toBe('run-2\n');
    expect(rt.logPath(podUid, 'c', true)).toBe(paths[1]);
    expect(logContent(paths[1] ?? '')).toBe('run-1\n');
    expect(readdirSync(join(sb.dir, 'logs', 'c')).sort()).toHaveLength(2);
    expect(existsSync(paths[0] ?? '')).toBe(false);

    // A new runtime over the same data dir finds the logs on disk.
    const again = new HostRuntime({ dataDir: join(tmp.dir, 'data') });
    expect(again.logPath(podUid, 'c', false)).toBe(paths[2]);
    expect(again.logPath(podUid, 'c', true)).toBe(paths[1]);
  });

  it('falls back to the process group without cgroups', async () => {
    const { rt, sb } = await setup(async (d) => {
      const caps = await HostRuntime.probe(d);
      return new HostRuntime({ dataDir: d, capabilities: { ...caps, cgroup: undefined } });
    });
    const out = join(tmp.dir, 'pids');
    const h = await rt.startContainer(spec(sb, 'bg', ['/bin/sh', '-c', `sleep 1000 & echo $! >> ${out}; sleep 1000 & echo $! >> ${out}; exit 5`]));
    expect(await h.exited).toMatchObject({ exitCode: 5 });
    const pids = readPids(out);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    // exec leftovers cannot be contained without a cgroup: they die when the exec returns
    const h2 = await rt.startContainer(spec(sb, 'execd', ['sleep', '1000']));
    const r = await rt.exec(h2.id, ['/bin/sh', '-c', `sleep 1000 & echo $! > ${out}.exec`], { timeoutMs: 5_000 });
    expect(r.exitCode).toBe(0);
    expect(isAlive(readPids(`${out}.exec`)[0] ?? -1)).toBe(false);
  });

  (conmonPresent || process.env.CI === 'true' ? it : it.skip)('conmon monitor: launchedInstances lists the pod\'s launch records (what a later process adopts a start in flight by); the direct monitor none', async () => {
    const { rt, sb, podUid } = await setup((d) => HostRuntime.create({ dataDir: d, monitorChoice: 'conmon' }));
    const a = await rt.startContainer(spec(sb, 'a', ['sleep', '1000']));
    const b = await rt.startContainer(spec(sb, 'b', ['sleep', '1000']));
    const found = await rt.launchedInstances(podUid);
    expect(found.map((f) => [f.id, f.container]).sort()).toEqual([[a.id, 'a'], [b.id, 'b']].sort());
    for (const f of found) expect(f.startedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(await rt.launchedInstances('../etc')).toEqual([]);
    const direct = await setup((d) => HostRuntime.create({ dataDir: `${d}-direct`, monitorChoice: 'direct' }));
    await direct.rt.startContainer(spec(direct.sb, 'a', ['sleep', '1000']));
    expect(await direct.rt.launchedInstances(direct.podUid)).toEqual([]);
  });

  const monitors = conmonPresent || process.env.CI === 'true' ? (['conmon', 'direct'] as const) : (['direct'] as const);
  for (const monitorChoice of monitors) {
    itPrivileged(`${monitorChoice} monitor: every instance (prepared ahead or not) has its own leaf cgroup, emptied before the exit is reported and removed just after; none is left after release and close`, async () => {
      const { rt, sb, podUid } = await setup((d) => HostRuntime.create({ dataDir: d, monitorChoice }));
      const root = rt.capabilities.cgroup?.root ?? '';
      expect(root).not.toBe('');
      const leaves: string[] = [];
      // The leaves of this runtime's spares (conmon's bundles are named by their IDs).
      const bundles = join(tmp.dir, 'data', 'monitor', 'bundles');
      const ourSpareLeaves = (): string[] => (existsSync(bundles) ? readdirSync(bundles) : [])
        .map((id) => join(root, `spare-${id}`)).filter((l) => existsSync(l));
      // The first start has no spare yet; the later ones take the spare prepared meanwhile
      // (its process joined a leaf ahead, renamed to the container's).
      for (let i = 0; i < 3; i++) {
        const out = join(tmp.dir, `child-${i}`);
        const h = await rt.startContainer(spec(sb, 'c', ['/bin/sh', '-c', `sleep 1000 & echo $! > ${out}; wait`], { attempt: i }));
        const leaf = join(root, `${podUid}.${h.id.replace('host://', '')}`);
        leaves.push(leaf);
        await waitFor(() => existsSync(out) && readPids(out).length === 1, 5_000, 'the child PID');
        const child = readPids(out)[0] ?? -1;
        const procs = readFileSync(join(leaf, 'cgroup.procs'), 'utf8').split('\n');
        expect(procs).toContain(String(h.pid));
        expect(procs).toContain(String(child)); // born in the leaf
        await rt.killAll(h.id);
        await h.exited;
        expect(isAlive(child)).toBe(false); // the leaf was emptied before the exit was reported
        // The leaf itself goes just after, off the restart path.
        await waitFor(() => !existsSync(leaf), 5_000, 'the exited instance\'s leaf removed');
        if (monitorChoice === 'conmon') await waitFor(() => ourSpareLeaves().length > 0, 5_000, 'a spare in its leaf');
      }
      expect(new Set(leaves).size).toBe(3);
      await rt.releaseSandbox(sb, { deleteData: false });
      expect(readdirSync(root).filter((n) => n.startsWith(podUid))).toEqual([]);
      expect(existsSync(sb.emptyDirPaths.cache ?? '')).toBe(true); // data stays without deleteData
      // This runtime's spares (the root is the machine's): their leaves go with them.
      if (monitorChoice === 'conmon') await waitFor(() => ourSpareLeaves().length > 0, 5_000, 'a spare in its leaf');
      const spares = ourSpareLeaves();
      await rt.close();
      for (const l of spares) expect(existsSync(l)).toBe(false);
    });
  }

  itPrivileged('reapOrphans also finds a leftover in the pod cgroup layout of earlier builds (<root>/<pod UID>/<id>)', async () => {
    const { rt, podUid } = await setup((d) => HostRuntime.create({ dataDir: d, monitorChoice: 'direct' }));
    const root = rt.capabilities.cgroup?.root ?? '';
    const legacy = join(root, podUid, 'ab'.repeat(16));
    mkdirSync(legacy, { recursive: true });
    const out = join(tmp.dir, 'legacy-pid');
    const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${join(legacy, 'cgroup.procs')} && (sleep 1000 >/dev/null 2>&1 & echo $! > ${out})`]);
    expect(r.status).toBe(0);
    const leftover = readPids(out)[0] ?? -1;
    expect(isAlive(leftover)).toBe(true);
    expect(await rt.reapOrphans(podUid, new Set())).toBe(1);
    expect(isAlive(leftover)).toBe(false);
    expect(existsSync(legacy)).toBe(false);
  });

  itPrivileged('reapOrphans counts only leaves with processes: the empty leaf an exited instance left (its removal cut short by a stop) is removed, not counted', async () => {
    const { rt, podUid } = await setup((d) => HostRuntime.create({ dataDir: d, monitorChoice: 'direct' }));
    const root = rt.capabilities.cgroup?.root ?? '';
    const empty = join(root, `${podUid}.${'cd'.repeat(16)}`);
    mkdirSync(empty);
    expect(await rt.reapOrphans(podUid, new Set())).toBe(0);
    expect(existsSync(empty)).toBe(false);
  });

  it('refuses volume mounts when neither root nor user namespaces are available', async () => {
    const { rt, sb } = await setup(async (d) => new HostRuntime({ dataDir: d, capabilities: NO_CAPABILITIES }));
    const mounts = [{ volume: 'cache', hostPath: sb.emptyDirPaths.cache ?? '', mountPath: join(tmp.dir, 'm'), readOnly: false }];
    const problems = rt.checkMounts(mounts);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('volume "cache"');
    expect(problems[0]).toMatch(/root/);
    expect(problems[0]).toMatch(/user namespaces/);
    expect(rt.checkMounts([])).toEqual([]);
    const err = await rt.startContainer(spec(sb, 'c', ['true'], { mounts })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartError);
    expect((err as StartError).reason).toBe('CreateContainerError');
  });

  itPrivileged('rejects a mount whose host path does not exist with CreateContainerError', async () => {
    const { rt, sb } = await setup((d) => HostRuntime.create({ dataDir: d }));
    const mounts = [{ volume: 'gone', hostPath: join(tmp.dir, 'nope'), mountPath: join(tmp.dir, 'm'), readOnly: false }];
    const err = await rt.startContainer(spec(sb, 'c', ['true'], { mounts })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartError);
    expect((err as StartError).reason).toBe('CreateContainerError');
    expect((err as StartError).message).toContain('volume "gone"');
  });

  it('rejects a command that is not executable, and exec on an exited instance does not throw', async () => {
    const { rt, sb } = await setup((d) => HostRuntime.create({ dataDir: d }));
    const file = join(tmp.dir, 'not-exec');
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    mkdirSync(join(tmp.dir, 'dir-cmd'));
    for (const cmd of [join(tmp.dir, 'dir-cmd'), file]) {
      const err = await rt.startContainer(spec(sb, 'c', [cmd])).catch((e: unknown) => e);
      expect(err, cmd).toBeInstanceOf(StartError);
      expect((err as StartError).reason).toBe('RunContainerError');
    }
    const h = await rt.startContainer(spec(sb, 'c', ['true']));
    await h.exited;
    const r = await rt.exec(h.id, ['true'], { timeoutMs: 1_000 });
    expect(r.exitCode).not.toBe(0);
    expect(r.timedOut).toBe(false);
    await rt.close();
    await expect(rt.startContainer(spec(sb, 'c', ['true']))).rejects.toThrow(/closed/);
  });
});
