/**
 * The host runtime's capability probe (behind `HostRuntime.probe`): which external tools are in
 * PATH, which cgroup hierarchy podvisor can use (and its resource accounting), and how volume
 * mounts can be made. See {@link HostCapabilities} for what each finding enables.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { v1AccountingHierarchies } from '../cgroup-stats.js';
import { DEFAULT_PATH, SH, errText, findExecutable, removeCgroupDir, run, shq } from '../proc-util.js';
import type { HostCapabilities, HostRuntimeLogger } from './capabilities.js';

/**
 * Finds out once what the host allows (about 10–30 ms): external tools in PATH; a cgroup
 * hierarchy podvisor can create leaves in and move a process into (cgroup v1 `pids` at
 * `/sys/fs/cgroup/pids`, else a cgroup v2 root at `/sys/fs/cgroup`); whether a private mount
 * namespace with a read-only bind mount works as root, else inside an unprivileged user
 * namespace. `dataDir` is created (mode `dirMode`) for the mount probe's scratch directories.
 * Never throws: what fails is listed in `notes`.
 */
export async function probeHost(dataDir: string, dirMode: number, logger?: HostRuntimeLogger): Promise<HostCapabilities> {
  const notes: string[] = [];
  const pathEnv = process.env.PATH ?? DEFAULT_PATH;
  const tools: HostCapabilities['tools'] = {};
  for (const t of ['unshare', 'nsenter', 'mount', 'mkdir'] as const) {
    const found = findExecutable(t, pathEnv);
    if (found !== undefined) tools[t] = found;
  }
  const root = path.resolve(dataDir);
  await fsp.mkdir(root, { recursive: true, mode: dirMode });

  let cgroup: HostCapabilities['cgroup'];
  const candidates: { version: 1 | 2; base: string }[] = [];
  if (fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs')) candidates.push({ version: 1, base: '/sys/fs/cgroup/pids' });
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) candidates.push({ version: 2, base: '/sys/fs/cgroup' });
  if (candidates.length === 0) notes.push('no cgroup v1 pids controller at /sys/fs/cgroup/pids and no cgroup v2 at /sys/fs/cgroup: only the process group of a container is killed (a process that calls setsid can survive its container)');
  for (const c of candidates) {
    const cgRoot = path.join(c.base, 'podvisor');
    const probeDir = path.join(cgRoot, `probe-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.mkdir(probeDir, { recursive: true });
      const r = await run([SH, '-c', `echo $$ > ${shq(path.join(probeDir, 'cgroup.procs'))}`], { timeoutMs: 5_000 });
      if (r.code !== 0) throw new Error((r.stdout + r.stderr).trim() || `exit ${r.code}`);
      cgroup = { version: c.version, root: cgRoot };
    } catch (err) {
      notes.push(`cgroup v${c.version} at ${c.base} is not usable (${errText(err)}): only the process group of a container is killed`);
    } finally {
      await removeCgroupDir(probeDir, Date.now() + 1_000).catch(() => {});
    }
    if (cgroup) break;
  }
  if (cgroup) cgroup = await probeAccounting(cgroup, notes);

  let mounts: HostCapabilities['mounts'] = 'none';
  if (tools.unshare === undefined || tools.mount === undefined || tools.mkdir === undefined) {
    notes.push('util-linux unshare/mount or mkdir not found in PATH: volume mounts are unavailable');
  } else {
    const probeRoot = path.join(root, `.probe-${randomBytes(6).toString('hex')}`);
    try {
      const a = path.join(probeRoot, 'a');
      const b = path.join(probeRoot, 'b');
      await fsp.mkdir(a, { recursive: true });
      await fsp.mkdir(b, { recursive: true });
      const script = `${shq(tools.mount)} --bind -- ${shq(a)} ${shq(b)} && ${shq(tools.mount)} -o remount,bind,ro -- ${shq(b)}`;
      const attempts: { mode: 'root' | 'userns'; flags: string[] }[] = [];
      if (process.getuid?.() === 0) attempts.push({ mode: 'root', flags: ['--mount', '--propagation', 'private'] });
      attempts.push({ mode: 'userns', flags: ['--user', '--map-root-user', '--mount', '--propagation', 'private'] });
      for (const at of attempts) {
        const r = await run([tools.unshare, ...at.flags, '--', SH, '-c', script], { timeoutMs: 5_000 });
        if (r.code === 0) { mounts = at.mode; break; }
        notes.push(`volume mounts via ${at.mode === 'root' ? 'a mount namespace as root' : 'an unprivileged user namespace'} failed: ${(r.stdout + r.stderr).trim() || `exit ${r.code}`}`);
      }
      if (mounts === 'none') notes.push('volume mounts are unavailable: run podvisor as root or enable unprivileged user namespaces');
      else if (tools.nsenter === undefined) notes.push('nsenter not found in PATH: exec (probes, hooks) runs without the container\'s mounts');
    } catch (err) {
      notes.push(`volume mount probe failed: ${errText(err)}`);
    } finally {
      await fsp.rm(probeRoot, { recursive: true, force: true }).catch(() => {});
    }
  }
  const caps: HostCapabilities = { mounts, tools, notes };
  if (cgroup) caps.cgroup = cgroup;
  logger?.('host runtime capabilities', { cgroup: cgroup ?? null, mounts, notes });
  return caps;
}

/**
 * Completes a usable cgroup with what resource usage needs (see {@link HostCapabilities}):
 * on v1 the `cpuacct` and `memory` hierarchies where podvisor can make a leaf and move a
 * process into it; on v2 the memory controller enabled below the root (cpu.stat counts
 * without a controller). What is missing is said in `notes`; the cgroup stays usable.
 */
async function probeAccounting(cgroup: NonNullable<HostCapabilities['cgroup']>, notes: string[]): Promise<NonNullable<HostCapabilities['cgroup']>> {
  const missing = 'kubectl top shows no usage of host containers';
  if (cgroup.version === 2) {
    try {
      const available = (await fsp.readFile(path.join(cgroup.root, 'cgroup.controllers'), 'utf8')).split(/\s+/);
      if (!available.includes('memory')) throw new Error(`the memory controller is not enabled for ${cgroup.root} (cgroup.subtree_control of its parent)`);
      const enabled = (await fsp.readFile(path.join(cgroup.root, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
      if (!enabled.includes('memory')) await fsp.writeFile(path.join(cgroup.root, 'cgroup.subtree_control'), '+memory');
    } catch (err) {
      notes.push(`no memory usage per container (${errText(err)}): ${missing}`);
    }
    return cgroup;
  }
  const accounting: { cpuacct?: string; memory?: string } = {};
  const found = v1AccountingHierarchies();
  for (const ctrl of ['cpuacct', 'memory'] as const) {
    const hierarchy = found[ctrl];
    if (hierarchy === undefined) {
      notes.push(`no cgroup v1 ${ctrl} hierarchy at /sys/fs/cgroup: ${missing}`);
      continue;
    }
    const root = path.join(hierarchy, 'podvisor');
    const probeDir = path.join(root, `probe-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.mkdir(probeDir, { recursive: true });
      const r = await run([SH, '-c', `echo $$ > ${shq(path.join(probeDir, 'cgroup.procs'))}`], { timeoutMs: 5_000 });
      if (r.code !== 0) throw new Error((r.stdout + r.stderr).trim() || `exit ${r.code}`);
      accounting[ctrl] = root;
    } catch (err) {
      notes.push(`cgroup v1 ${ctrl} at ${hierarchy} is not usable (${errText(err)}): ${missing}`);
    } finally {
      await removeCgroupDir(probeDir, Date.now() + 1_000).catch(() => {});
    }
  }
  return accounting.cpuacct !== undefined || accounting.memory !== undefined ? { ...cgroup, accounting } : cgroup;
}
