/**
 * The host runtime's container cgroups (see {@link HostCapabilities}): a leaf per container,
 * `<root>/<podUid>.<id>`, flat under the runtime's cgroup root, and on cgroup v1 a leaf of the
 * same name in the `cpuacct` and `memory` hierarchies for its resource usage. Making and joining
 * them, where their counters are, and removing (or, for what an earlier podvisor process left,
 * reaping) a pod's leaves.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { StatsDirs } from '../cgroup-stats.js';
import { cgroupProcs, errText, removeCgroupDir, shq, sweepCgroup } from '../proc-util.js';
import type { HostCapabilities, HostRuntimeLogger } from './capabilities.js';

/** Upper bound for sweeping a container's cgroup until empty. */
export const SWEEP_DEADLINE_MS = 5_000;

/** A container's leaf cgroup (see {@link makeCgroup}). */
export interface MadeCgroup {
  dir: string;
  /** The prepared process already joined it (the monitor's leaf, renamed). */
  joined: boolean;
  /** The monitor's leaf that could not be renamed: removed once the wrapper joined `dir`. */
  stale?: string;
  /** Its v1 accounting leaves (see {@link makeAccountingLeaves}). */
  accounting: string[];
  /** Those of `accounting` the wrapper must join. */
  toJoin: string[];
}

/**
 * The instance's leaf cgroup, `<root>/<podUid>.<id>`: the monitor's leaf renamed when its
 * prepared process already joined one (`joined`), else a new leaf the wrapper joins. Leaves
 * are flat under the root (a v1 leaf can only be renamed under its parent); the name says the
 * pod. Containers started before this layout have `<root>/<podUid>/<id>` (see reapOrphans).
 * Undefined without cgroups or when no leaf could be made (the container falls back to its
 * process group).
 */
export async function makeCgroup(
  cg: HostCapabilities['cgroup'], podUid: string, id: string, container: string, ready: string | undefined, log: HostRuntimeLogger,
): Promise<MadeCgroup | undefined> {
  if (!cg) return undefined;
  const dir = path.join(cg.root, leafName(podUid, id));
  const accountingMade = makeAccountingLeaves(cg, dir, ready, podUid, container, log);
  if (ready !== undefined) {
    try {
      fs.renameSync(ready, dir); // cgroupfs: direct calls, no thread pool round trip on the restart path
      return { dir, joined: true, ...await accountingMade };
    } catch (err) {
      // The prepared process stays in the monitor's leaf until it joins the new one.
      log('cannot rename the prepared cgroup; the container joins a new one', { podUid, container, cgroup: ready, error: errText(err) });
    }
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    return ready !== undefined ? { dir, joined: false, stale: ready, ...await accountingMade } : { dir, joined: false, ...await accountingMade };
  } catch (err) {
    log('cannot create container cgroup; falling back to the process group', { podUid, container, cgroup: dir, error: errText(err) });
    for (const d of (await accountingMade).accounting) await fsp.rmdir(d).catch(() => {});
    return undefined;
  }
}

/**
 * The leaves of a container in the v1 accounting hierarchies (see {@link HostCapabilities}),
 * named as its leaf `dir` (none on v2, where `dir` counts itself): the prepared process's
 * leaves of the same name as `ready` renamed (it joined them ahead, off the restart path: a
 * join after a quiet moment waits for an RCU grace period), else new ones it must join
 * (`toJoin`). Those that could not be made are left out (no usage, never a failed start).
 */
async function makeAccountingLeaves(
  cg: HostCapabilities['cgroup'], dir: string, ready: string | undefined, podUid: string, container: string, log: HostRuntimeLogger,
): Promise<{ accounting: string[]; toJoin: string[] }> {
  const accounting: string[] = [];
  const toJoin: string[] = [];
  for (const d of accountingDirsOf(cg, dir)) {
    if (ready !== undefined) {
      try {
        fs.renameSync(path.join(path.dirname(d), path.basename(ready)), d);
        accounting.push(d);
        continue;
      } catch {
        // The prepared process did not join one there: the new leaf is joined at launch.
      }
    }
    try {
      fs.mkdirSync(d, { recursive: true });
      accounting.push(d);
      toJoin.push(d);
    } catch (err) {
      log('cannot create the container\'s accounting cgroup; it has no resource usage', { podUid, container, cgroup: d, error: errText(err) });
    }
  }
  return { accounting, toJoin };
}

/** Where the counters of the container whose leaf is `cgroupDir` are. */
export function statsDirsOf(cg: HostCapabilities['cgroup'], cgroupDir: string): StatsDirs | undefined {
  if (!cg) return undefined;
  if (cg.version === 2) return { version: 2, cpu: cgroupDir, memory: cgroupDir };
  const rel = leafRel(cg.root, cgroupDir);
  if (rel === undefined) return undefined;
  const dirs: StatsDirs = { version: 1 };
  if (cg.accounting?.cpuacct !== undefined) dirs.cpu = path.join(cg.accounting.cpuacct, rel);
  if (cg.accounting?.memory !== undefined) dirs.memory = path.join(cg.accounting.memory, rel);
  return dirs;
}

/**
 * A pod's leaf cgroups: `<root>/<podUid>.<id>`, and `<root>/<podUid>/<id>` of older builds.
 * `root` is the runtime's or an accounting hierarchy's.
 */
async function podLeaves(root: string, podUid: string): Promise<{ id: string; dir: string }[]> {
  const out: { id: string; dir: string }[] = [];
  const dirsIn = async (dir: string): Promise<string[]> => {
    try {
      return (await fsp.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  };
  for (const name of await dirsIn(root)) {
    const id = name.slice(podUid.length + 1);
    if (name === leafName(podUid, id) && /^[0-9a-f]{32}$/.test(id)) out.push({ id, dir: path.join(root, name) });
  }
  const legacy = path.join(root, podUid);
  for (const id of await dirsIn(legacy)) out.push({ id, dir: path.join(legacy, id) });
  return out;
}

/**
 * Removes what is left of a pod's leaf cgroups (empty ones; each instance removes its own), in
 * every hierarchy. Returns the last error other than ENOENT, undefined when all are gone.
 */
export async function removePodLeaves(cg: NonNullable<HostCapabilities['cgroup']>, podUid: string): Promise<unknown> {
  let failed: unknown;
  const accounting = Object.values(cg.accounting ?? {});
  for (const root of [cg.root, ...accounting]) {
    for (const leaf of await podLeaves(root, podUid)) {
      await fsp.rmdir(leaf.dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') failed = err;
      });
    }
  }
  await fsp.rmdir(path.join(cg.root, podUid)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') failed = err;
  });
  return failed;
}

/**
 * Kills every process in the pod's leaves that are not `claimed` (asked per leaf, when it is
 * reached) and removes those leaves with their accounting ones. Returns the IDs (bare) of the
 * leaves that had processes.
 */
export async function reapPodLeaves(cg: NonNullable<HostCapabilities['cgroup']>, podUid: string, claimed: (id: string) => boolean): Promise<string[]> {
  const killed: string[] = [];
  for (const leaf of await podLeaves(cg.root, podUid)) {
    if (claimed(leaf.id)) continue;
    // An empty leaf is what an instance that had exited left (its removal comes after the
    // exit and was cut short by the stop): nothing is killed, nothing counted.
    const procs = cgroupProcs(leaf.dir);
    if (procs !== 'gone' && procs?.length !== 0) killed.push(leaf.id);
    await sweepCgroup(leaf.dir, cg.version, Date.now() + SWEEP_DEADLINE_MS);
    await fsp.rmdir(leaf.dir).catch(() => {});
    await removeCgroupDirs(accountingDirsOf(cg, leaf.dir));
  }
  return killed;
}

/** A container's leaf cgroup name under the runtime's cgroup root. */
function leafName(podUid: string, id: string): string {
  return `${podUid}.${id}`;
}

/** `dir` relative to `root` when it is inside it (a recorded leaf is not trusted further). */
function leafRel(root: string, dir: string): string | undefined {
  const rel = path.relative(root, dir);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel;
}

/** The v1 accounting leaves of the container whose leaf is `dir` (none on v2 or without them). */
export function accountingDirsOf(cg: HostCapabilities['cgroup'], dir: string): string[] {
  if (!cg || cg.version !== 1 || !cg.accounting) return [];
  const rel = leafRel(cg.root, dir);
  if (rel === undefined) return [];
  return Object.values(cg.accounting).map((root) => path.join(root, rel));
}

/** A shell line moving the shell into each accounting leaf, ignoring failures. */
export function joinAccounting(dirs: readonly string[]): string {
  return `{ ${dirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))};`).join(' ')} } 2>/dev/null`;
}

/** Removes empty cgroup directories (bounded wait for a busy one); never throws. */
export async function removeCgroupDirs(dirs: readonly string[]): Promise<void> {
  const deadline = Date.now() + SWEEP_DEADLINE_MS;
  for (const d of dirs) await removeCgroupDir(d, deadline).catch(() => {});
}
