/**
 * The preparation of a sandbox container's start, up to what the monitor launches: the
 * reserved ID, the container's environment and working dir, its leaf cgroup, bundle and log
 * file, its stdin FIFO, its PID namespace mode, and the argv (the wrapper, see wrapper.ts, or on
 * oci the launcher's `runc run`). What a failing step made is removed before it throws. Then
 * the instance made of what the monitor launched.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { InstanceStdio } from '../attach.js';
import type { InstanceLogs } from '../logs.js';
import type { Launched, Monitor } from '../monitor/types.js';
import type { OciLauncher } from '../oci/launcher.js';
import { DEFAULT_PATH, containerEnv, errText, procStartTime } from '../proc-util.js';
import { effectiveStdio, prepareStdio, releasePrepared, stdioEnv, type PreparedStdio } from '../stdio.js';
import { StartError, type ContainerStartSpec, type ExitInfo } from '../types.js';
import type { Bundles } from './bundles.js';
import type { Leaf, SandboxCgroups } from './cgroups.js';
import type { ContainerPidMode, Instance, PodContext } from './instance.js';
import type { Tools } from './tools.js';
import { startArgv } from './wrapper.js';

/** What {@link prepareLaunch} works with. */
export interface LaunchContext {
  tools: Tools;
  cgroups: SandboxCgroups;
  monitor: Monitor;
  logs: InstanceLogs;
  /** The oci runtime's launcher (undefined on the sandbox runtime). */
  oci: OciLauncher | undefined;
  bundles: Bundles;
}

/** What a start found out before anything is made (see `SandboxContainers.start`). */
export interface StartChecks {
  podUid: string;
  name: string;
  /** The host PID whose PID namespace the container joins (see `SandboxContainers.targetPid`). */
  targetPid: number | undefined;
  /** Per mount of the spec: its host path is a file (see `mountSourceKinds`). */
  hostIsFile: boolean[];
}

/** A start prepared for the monitor's launch. */
export interface PreparedLaunch {
  id: string;
  bundle: string;
  leaf: Leaf;
  logFile: string;
  /** The stdin FIFO (and terminal tools) of a `stdin` / `tty` container. */
  prepared: PreparedStdio | undefined;
  /** The container's environment. */
  env: Record<string, string>;
  workingDir: string;
  pidMode: ContainerPidMode;
  /** An init is PID 1 of the container's own PID namespace. */
  init: boolean;
  /** What the monitor starts, and with which environment. */
  argv: string[];
  wrapperEnv: Record<string, string>;
}

/**
 * Prepares the start of `spec` (its mounts already confined) in the pod's sandbox: reserves an
 * ID with the monitor, makes the leaf cgroup (memory and CPU limits from `resources`), the
 * bundle and the log file, the stdin FIFO, and builds the argv. When a step fails, rejects
 * after removing what it made (with {@link StartError} `CreateContainerError` for the cgroup;
 * see `prepareStdio` and `OciLauncher.prepare` for theirs).
 */
export async function prepareLaunch(c: LaunchContext, spec: ContainerStartSpec, pod: PodContext, s: StartChecks): Promise<PreparedLaunch> {
  const { podUid, name, targetPid, hostIsFile } = s;
  const { id } = await c.monitor.reserve();
  const stdio = effectiveStdio(spec.stdio);
  const env = stdioEnv(containerEnv(spec.env), stdio);
  const workingDir = spec.workingDir ?? '/';
  const bundle = c.bundles.bundleDir(podUid, id);
  let leaf: Leaf;
  try {
    leaf = await c.cgroups.makeLeaf(podUid, id, spec.resources);
  } catch (err) {
    await c.monitor.forget(id);
    throw new StartError('CreateContainerError', `failed to create container "${name}": cannot create its cgroup: ${errText(err)}`);
  }
  let logFile: string;
  try {
    await fsp.mkdir(bundle, { recursive: true, mode: 0o700 });
    const opened = await c.logs.open(podUid, name, spec.attempt);
    fs.closeSync(opened.fd); // the monitor writes the log
    logFile = opened.file;
  } catch (err) {
    await c.cgroups.removeLeaf(leaf.dirs);
    await fsp.rm(bundle, { recursive: true, force: true });
    await c.monitor.forget(id);
    throw err;
  }

  let prepared: PreparedStdio | undefined;
  if (stdio) {
    try {
      prepared = await prepareStdio(name, bundle, stdio);
    } catch (err) {
      await c.bundles.discardFailedStart(podUid, name, logFile, leaf.dirs, id, bundle);
      throw err;
    }
  }
  const pidMode: ContainerPidMode = targetPid !== undefined ? 'target' : pod.pidMode;
  // On the oci runtime the command is PID 1 of its namespace, as in a Kubernetes container.
  const init = pidMode === 'container' && pod.containerInit && !c.oci;
  let argv: string[];
  let wrapperEnv = env;
  if (c.oci) {
    try {
      const ociInit = pidMode === 'container' && pod.containerInit && c.tools.pause.kind === 'catatonit' ? c.tools.pause.path : undefined;
      argv = await c.oci.prepare(spec, {
        id, bundle, pausePid: pod.pausePid, sharePid: pidMode === 'pod', podDir: pod.podDir, cgroupsPath: c.cgroups.relPath(podUid, id),
        ...(targetPid !== undefined ? { targetPid } : {}), ...(ociInit !== undefined ? { init: ociInit } : {}), ...(prepared ? { stdio: prepared } : {}),
      });
    } catch (err) {
      releasePrepared(prepared);
      await c.bundles.discardFailedStart(podUid, name, logFile, leaf.dirs, id, bundle);
      throw err;
    }
    wrapperEnv = { PATH: DEFAULT_PATH };
  } else {
    argv = startArgv(c.tools, spec, pod, { pidMode, targetPid, leaf, hostIsFile, env, workingDir, init, stdio: prepared });
  }
  return { id, bundle, leaf, logFile, prepared, env, workingDir, pidMode, init, argv, wrapperEnv };
}

/**
 * The instance the monitor launched for `p` (alive; its command's PID is the wrapper's until it
 * is found below it; `exited` is for the caller to set).
 */
export function launchedInstance(podUid: string, name: string, p: PreparedLaunch, launched: Launched): Instance {
  const inst: Instance = {
    id: p.id, podUid, name, wrapperPid: launched.pid, pid: launched.pid, pidMode: p.pidMode, init: p.init, env: p.env, workingDir: p.workingDir,
    cgroupDirs: p.leaf.dirs, procsDir: p.leaf.procs, logFile: p.logFile, bundle: p.bundle, alive: true, exited: undefined as unknown as Promise<ExitInfo>,
  };
  const wrapperStart = procStartTime(launched.pid);
  if (wrapperStart !== undefined) inst.wrapperStartTime = wrapperStart;
  if (p.leaf.memory !== undefined) inst.memoryDir = p.leaf.memory;
  if (launched.logged) inst.logged = launched.logged;
  if (p.prepared) inst.stdio = new InstanceStdio(p.prepared);
  return inst;
}
