/**
 * The sandbox runtime's cgroups: `podvisor-sandbox/<pod UID>` per hierarchy with the pod's
 * `pids.max`, a `pause` leaf for the holder and a leaf per container (memory and CPU limits, the
 * OOM counter, the complete kill of every process of a container, and its resource usage).
 * cgroup v2, or v1 with the memory and pids controllers (cpu, and cpuacct for the CPU usage,
 * when mounted).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { StatsDirs } from '../cgroup-stats.js';
import { removeCgroupDir, sweepCgroup } from '../proc-util.js';
import type { ContainerResources } from '../types.js';

/** The cgroup hierarchies the runtime uses. */
export interface CgroupLayout {
  version: 1 | 2;
  /**
   * `podvisor-sandbox` directory per hierarchy, by controller (v2: one entry, `unified`). v1
   * `cpuacct` is listed only when it is a hierarchy of its own (co-mounted with `cpu`, the `cpu`
   * entry has its counter: see {@link cpuUsageCtrl}).
   */
  bases: { ctrl: 'memory' | 'pids' | 'cpu' | 'cpuacct' | 'unified'; dir: string }[];
  /** v1: the base whose leaves have `cpuacct.usage` (none: no CPU usage of containers). */
  cpuUsageCtrl?: 'cpu' | 'cpuacct';
}

/** A container's leaf cgroups. */
export interface Leaf {
  /** One directory per hierarchy. */
  dirs: string[];
  /** The leaf whose `cgroup.procs` lists every process: v1 `pids`, or the v2 leaf. */
  procs: string;
  /** The leaf with the memory controller (OOM counter). */
  memory?: string;
}

const CGROUP_NAME = 'podvisor-sandbox';
/** The holder's leaf in each pod cgroup. */
export const PAUSE_LEAF = 'pause';
const SWEEP_DEADLINE_MS = 5_000;

/** The layout this host offers, or the problem (with its fix) when it cannot run sandboxes. */
export function probeCgroups(): { layout?: CgroupLayout; problem?: string } {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const ctrls = fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/);
    const missing = ['memory', 'pids'].filter((c) => !ctrls.includes(c));
    if (missing.length > 0) return { problem: `the sandbox runtime needs the cgroup v2 controllers ${missing.join(', ')} at /sys/fs/cgroup (enable them in the kernel/boot configuration)` };
    return { layout: { version: 2, bases: [{ ctrl: 'unified', dir: path.join('/sys/fs/cgroup', CGROUP_NAME) }] } };
  }
  const bases: CgroupLayout['bases'] = [];
  for (const ctrl of ['memory', 'pids', 'cpu'] as const) {
    const root = `/sys/fs/cgroup/${ctrl}`;
    if (fs.existsSync(path.join(root, 'cgroup.procs'))) bases.push({ ctrl, dir: path.join(root, CGROUP_NAME) });
    else if (ctrl !== 'cpu') return { problem: `the sandbox runtime needs the cgroup v1 ${ctrl} controller mounted at ${root} (or a cgroup v2 host with memory and pids at /sys/fs/cgroup)` };
  }
  const layout: CgroupLayout = { version: 1, bases };
  // CPU usage: cpuacct, a hierarchy of its own or the cpu one (`cpu,cpuacct`, both names links).
  const cpuacct = '/sys/fs/cgroup/cpuacct';
  if (fs.existsSync(path.join(cpuacct, 'cpuacct.usage'))) {
    const cpu = bases.find((b) => b.ctrl === 'cpu');
    if (cpu && sameDir(path.dirname(cpu.dir), cpuacct)) {
      layout.cpuUsageCtrl = 'cpu';
    } else {
      bases.push({ ctrl: 'cpuacct', dir: path.join(cpuacct, CGROUP_NAME) });
      layout.cpuUsageCtrl = 'cpuacct';
    }
  }
  return { layout };
}

/** Whether two paths are the same directory (links resolved); false when either is missing. */
function sameDir(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/** Pod and container cgroups of the sandbox runtime. */
export class SandboxCgroups {
  constructor(private readonly layout: CgroupLayout) {}

  get version(): 1 | 2 {
    return this.layout.version;
  }

  /** The hierarchy whose `cgroup.procs` lists every process (v1 pids, or v2). */
  private procsBase(): string {
    const b = this.layout.bases.find((x) => x.ctrl === 'pids' || x.ctrl === 'unified');
    return b?.dir ?? '';
  }

  /** The directory listing every process of a pod's leaf (`PAUSE_LEAF` or a container ID). */
  procsDir(podUid: string, leaf: string): string {
    return path.join(this.procsBase(), podUid, leaf);
  }

  /** A leaf's path relative to each hierarchy's root (`/podvisor-sandbox/<pod>/<leaf>`: an OCI `cgroupsPath`). */
  relPath(podUid: string, leaf: string): string {
    return path.posix.join('/', CGROUP_NAME, podUid, leaf);
  }

  /** A leaf's directories in every hierarchy. */
  leafDirs(podUid: string, leaf: string): string[] {
    return this.layout.bases.map((b) => path.join(b.dir, podUid, leaf));
  }

  /** The leaves of a pod's cgroup (the holder's included), [] when it has none. */
  async leaves(podUid: string): Promise<string[]> {
    try {
      return (await fsp.readdir(path.join(this.procsBase(), podUid), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }

  /** Creates `<base>/<podUid>/pause` in each hierarchy with `pids.max` on the pod; returns the pause leaves. */
  async makePod(podUid: string, pidsLimit: number): Promise<string[]> {
    const leaves: string[] = [];
    for (const b of this.layout.bases) {
      const podDir = path.join(b.dir, podUid);
      await fsp.mkdir(podDir, { recursive: true });
      if (b.ctrl === 'unified') for (const d of ['/sys/fs/cgroup', b.dir, podDir]) await enableControllers(d);
      if (b.ctrl === 'pids' || b.ctrl === 'unified') await fsp.writeFile(path.join(podDir, 'pids.max'), String(pidsLimit));
      const leaf = path.join(podDir, PAUSE_LEAF);
      await fsp.mkdir(leaf, { recursive: true });
      leaves.push(leaf);
    }
    return leaves;
  }

  /** Removes the given leaves and the pod's cgroup in every hierarchy; the problems met. */
  async removePod(podUid: string, leaves: string[], deadline: number): Promise<string[]> {
    const problems: string[] = [];
    const note = (err: unknown): void => {
      problems.push(err instanceof Error ? err.message : String(err));
    };
    for (const b of this.layout.bases) {
      const podDir = path.join(b.dir, podUid);
      for (const l of leaves) await removeCgroupDir(path.join(podDir, l), deadline).catch(note);
      await removeCgroupDir(podDir, deadline).catch(note);
    }
    // v1: an OCI runtime (runc) makes the pod's path in the other hierarchies too (devices,
    // freezer, …); its containers' leaves are gone with them, the pod's directories stay.
    if (this.layout.version === 1) {
      const ours = new Set(this.layout.bases.map((b) => path.dirname(b.dir)));
      let hierarchies: string[] = [];
      try {
        hierarchies = (await fsp.readdir('/sys/fs/cgroup')).map((h) => path.join('/sys/fs/cgroup', h)).filter((h) => !ours.has(h));
      } catch {
        // no cgroup file system
      }
      for (const h of hierarchies) {
        const podDir = path.join(h, CGROUP_NAME, podUid);
        if (!fs.existsSync(podDir)) continue;
        for (const l of await fsp.readdir(podDir, { withFileTypes: true }).catch(() => [])) {
          if (l.isDirectory()) await removeCgroupDir(path.join(podDir, l.name), deadline).catch(note);
        }
        await removeCgroupDir(podDir, deadline).catch(note);
      }
    }
    return problems;
  }

  /** Creates the container's leaf in every hierarchy and applies the limits. */
  async makeLeaf(podUid: string, id: string, res: ContainerResources | undefined): Promise<Leaf> {
    const dirs: string[] = [];
    let procs = '';
    let memory: string | undefined;
    try {
      for (const b of this.layout.bases) {
        const podDir = path.join(b.dir, podUid);
        // cpuacct counts only (no limit): a pod made before podvisor used it has no directory there.
        if (b.ctrl === 'cpuacct') await fsp.mkdir(podDir, { recursive: true });
        if (!fs.existsSync(podDir)) throw new Error(`the pod cgroup ${podDir} is missing`);
        const dir = path.join(podDir, id);
        await fsp.mkdir(dir);
        dirs.push(dir);
        const w = (file: string, value: string): Promise<void> => fsp.writeFile(path.join(dir, file), value);
        if (b.ctrl === 'pids' || b.ctrl === 'unified') procs = dir;
        if (b.ctrl === 'memory' || b.ctrl === 'unified') {
          memory = dir;
          const limit = res?.memoryLimitBytes;
          if (limit !== undefined && limit > 0) {
            if (b.ctrl === 'memory') {
              await w('memory.limit_in_bytes', String(limit));
              if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) await w('memory.memsw.limit_in_bytes', String(limit));
            } else {
              await w('memory.max', String(limit));
              if (fs.existsSync(path.join(dir, 'memory.swap.max'))) await w('memory.swap.max', '0');
            }
          }
        }
        if (b.ctrl === 'cpu' || b.ctrl === 'unified') {
          const millis = res?.cpuMillis;
          if (millis !== undefined && millis > 0) {
            const quota = String(Math.max(1000, Math.round(millis * 100)));
            if (b.ctrl === 'cpu') {
              await w('cpu.cfs_period_us', '100000');
              await w('cpu.cfs_quota_us', quota);
            } else if (fs.existsSync(path.join(dir, 'cpu.max'))) {
              await w('cpu.max', `${quota} 100000`);
            }
          }
        }
      }
    } catch (err) {
      await this.removeLeaf(dirs);
      throw err;
    }
    const out: Leaf = { dirs, procs };
    if (memory !== undefined) out.memory = memory;
    return out;
  }

  /** Removes a leaf's (empty) directories; never throws. */
  async removeLeaf(dirs: string[]): Promise<void> {
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    for (const d of dirs) await removeCgroupDir(d, deadline).catch(() => {});
  }

  /** SIGKILLs everything listed in the cgroup until it is empty; false at the deadline. */
  sweep(dir: string, deadline: number): Promise<boolean> {
    return sweepCgroup(dir, this.layout.version, deadline);
  }

  /**
   * Where a container's usage counters are, given its leaf directories (as started or as
   * recorded: an instance an earlier podvisor started may lack a hierarchy added since).
   */
  statsDirs(leafDirs: readonly string[], procs: string, memory: string | undefined): StatsDirs {
    if (this.layout.version === 2) return { version: 2, cpu: procs, memory: procs };
    const dirs: StatsDirs = { version: 1 };
    const base = this.layout.bases.find((b) => b.ctrl === this.layout.cpuUsageCtrl);
    const cpu = base === undefined ? undefined : leafDirs.find((d) => path.dirname(path.dirname(d)) === base.dir);
    if (cpu !== undefined) dirs.cpu = cpu;
    if (memory !== undefined) dirs.memory = memory;
    return dirs;
  }

  /** The kernel's OOM-kill counter of a leaf (v1 `memory.oom_control`, v2 `memory.events`). */
  async oomKills(dir: string | undefined): Promise<number> {
    if (dir === undefined) return 0;
    const file = this.layout.version === 1 ? 'memory.oom_control' : 'memory.events';
    try {
      const m = /^oom_kill (\d+)$/m.exec(await fsp.readFile(path.join(dir, file), 'utf8'));
      return Number(m?.[1] ?? 0);
    } catch {
      return 0;
    }
  }
}

/** cgroup v2: enables memory, pids and cpu for the children of `dir` (what is available). */
async function enableControllers(dir: string): Promise<void> {
  let available: string[];
  try {
    available = (await fsp.readFile(path.join(dir, 'cgroup.controllers'), 'utf8')).split(/\s+/);
  } catch {
    return;
  }
  const want = ['memory', 'pids', 'cpu'].filter((c) => available.includes(c));
  if (want.length > 0) await fsp.writeFile(path.join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' ')).catch(() => {});
}
