/**
 * A container instance of the sandbox runtime (and of the oci runtime, which shares its code):
 * its IDs (`sandbox://<hex>`, `oci://<hex>`), what its start needs of its pod's sandbox
 * ({@link PodContext}), its in-memory state ({@link Instance}) and its launch record (the
 * runtime's part, {@link SandboxDetails}), which a later podvisor process re-attaches with when
 * the monitor outlives podvisor.
 */
import { InstanceStdio } from '../attach.js';
import { monitorRecordOf, recordFormat, type InstanceRecord } from '../monitor/instance-record.js';
import type { Launched, Monitor } from '../monitor/types.js';
import { checkStdioRecord, type StdioRecord } from '../stdio.js';
import type { ContainerHandle, ExitInfo } from '../types.js';
import type { PidMode } from './state.js';

/**
 * The PID namespace of one container: the pod's modes ({@link PidMode}), or `target`: an
 * ephemeral container in its target's (see the module comment of wrapper.ts).
 */
export type ContainerPidMode = PidMode | 'target';

/** Container IDs are `sandbox://<32 hex digits>` (`oci://` on the oci runtime). */
export const ID_PREFIX = 'sandbox://';
/** A bare container ID (also the name of its leaf cgroups, bundle and exit file). */
export const CONTAINER_ID = /^[0-9a-f]{32}$/;

/** What a container start needs of its pod's sandbox. */
export interface PodContext {
  /** The holder's pause process, whose namespaces containers join. */
  pausePid: number;
  pidMode: PidMode;
  /** Own PID namespace: an init is PID 1 and the command PID 2. */
  containerInit: boolean;
  /** The pod directory (hosts files, bundles). */
  podDir: string;
}

/** The sandbox runtime's part of a launch record: what signal, exec, killAll and finish need. */
export interface SandboxDetails {
  /** The wrapper (the monitor's child): its process group is the container's. */
  wrapperPid: number;
  wrapperStartTime?: string;
  /** The command's host PID, and its `/proc` start time. */
  pid: number;
  pidStartTime?: string;
  pidMode: ContainerPidMode;
  init: boolean;
  env: Record<string, string>;
  workingDir: string;
  cgroupDirs: string[];
  procsDir: string;
  memoryDir?: string;
  /** A container with `stdin` or `tty` (absent in records of earlier builds: none). */
  stdio?: StdioRecord;
}

/** A container instance the runtime started or re-adopted. */
export interface Instance {
  id: string;
  podUid: string;
  name: string;
  /** The process the monitor started (the wrapper: nsenter, then busybox unshare or unshare). */
  wrapperPid: number;
  /** Its start time, when known: the wrapper's process group is killed only while it is the same process. */
  wrapperStartTime?: string;
  /** The command's host PID: what `signal` and `exec` target. */
  pid: number;
  pidStartTime?: string;
  /** An init is PID 1 of the container's namespace and the command's parent. */
  init: boolean;
  pidMode: ContainerPidMode;
  env: Record<string, string>;
  workingDir: string;
  /** Leaf cgroup directories, one per hierarchy. */
  cgroupDirs: string[];
  /** The leaf used to list (and kill) every process: v1 `pids`, or the v2 leaf. */
  procsDir: string;
  /** The leaf with the memory controller (OOM counter). */
  memoryDir?: string;
  logFile: string;
  /** The instance's state directory (monitor files, launch record). */
  bundle: string;
  alive: boolean;
  startedAt?: number;
  finishedAt?: number;
  exited: Promise<ExitInfo>;
  /** Settles once the monitor wrote the last output to the log (see `Launched.logged`). */
  logged?: Promise<void>;
  /** `stdin` / `tty` (see stdio.ts); with `tty`, `pid` is the command under script. */
  stdio?: InstanceStdio;
}

/** The handle of an instance, as the runtime port reports it (`prefix`: `<runtime>://`). */
export function handleOf(prefix: string, inst: Instance, startedAt: number): ContainerHandle {
  return { id: prefix + inst.id, pid: inst.pid, startedAt, exited: inst.exited };
}

/** Why `d` is not a {@link SandboxDetails} record, or undefined when it is one. */
export function checkSandboxDetails(d: unknown): string | undefined {
  if (typeof d !== 'object' || d === null) return 'no details';
  const x = d as Partial<SandboxDetails>;
  if (typeof x.wrapperPid !== 'number' || typeof x.pid !== 'number') return 'PIDs missing';
  if (x.pidMode !== 'container' && x.pidMode !== 'pod' && x.pidMode !== 'target') return 'bad PID namespace mode';
  if (typeof x.init !== 'boolean' || typeof x.env !== 'object' || x.env === null || typeof x.workingDir !== 'string') return 'init, environment or working dir missing';
  if (!Array.isArray(x.cgroupDirs) || !x.cgroupDirs.every((c) => typeof c === 'string') || typeof x.procsDir !== 'string') return 'cgroups missing';
  if (x.memoryDir !== undefined && typeof x.memoryDir !== 'string') return 'bad memory cgroup';
  for (const k of ['wrapperStartTime', 'pidStartTime'] as const) if (x[k] !== undefined && typeof x[k] !== 'string') return `bad ${k}`;
  return checkStdioRecord(x.stdio);
}

/** The launch record of `inst` (runtime `runtime`), launched by `monitor` as `launched`. */
export function launchRecordOf(inst: Instance, runtime: string, startedAt: number, monitor: Monitor, launched: Launched): InstanceRecord<SandboxDetails> {
  const details: SandboxDetails = {
    wrapperPid: inst.wrapperPid, pid: inst.pid, pidMode: inst.pidMode, init: inst.init, env: inst.env, workingDir: inst.workingDir,
    cgroupDirs: inst.cgroupDirs, procsDir: inst.procsDir,
  };
  if (inst.wrapperStartTime !== undefined) details.wrapperStartTime = inst.wrapperStartTime;
  if (inst.pidStartTime !== undefined) details.pidStartTime = inst.pidStartTime;
  if (inst.memoryDir !== undefined) details.memoryDir = inst.memoryDir;
  if (inst.stdio) details.stdio = inst.stdio.record();
  return {
    format: recordFormat(inst.stdio !== undefined), runtime, id: inst.id, podUid: inst.podUid, container: inst.name, startedAt, logFile: inst.logFile,
    monitor: monitorRecordOf(monitor, launched), details,
  };
}

/**
 * The instance a launch record describes (re-adopted, alive until its exit is seen), with its
 * state directory `bundle`; `exited` is for the caller to set.
 */
export function adoptedInstance(id: string, podUid: string, bundle: string, rec: InstanceRecord<SandboxDetails>): Instance {
  const d = rec.details;
  const inst: Instance = {
    id, podUid, name: rec.container, wrapperPid: d.wrapperPid, pid: d.pid, pidMode: d.pidMode, init: d.init, env: d.env,
    workingDir: d.workingDir, cgroupDirs: d.cgroupDirs, procsDir: d.procsDir, logFile: rec.logFile, bundle, alive: true,
    startedAt: rec.startedAt, exited: undefined as unknown as Promise<ExitInfo>,
  };
  if (d.wrapperStartTime !== undefined) inst.wrapperStartTime = d.wrapperStartTime;
  if (d.pidStartTime !== undefined) inst.pidStartTime = d.pidStartTime;
  if (d.memoryDir !== undefined) inst.memoryDir = d.memoryDir;
  if (d.stdio) inst.stdio = InstanceStdio.adopted(d.stdio, bundle);
  return inst;
}
