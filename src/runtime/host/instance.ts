/**
 * A container instance of the host runtime: its IDs (`host://<hex>`), its in-memory state
 * ({@link Instance}) and its launch record (the host runtime's part, {@link HostDetails}), which
 * a later podvisor process re-attaches with when the monitor outlives podvisor.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { InstanceStdio } from '../attach.js';
import { monitorRecordOf, reattachInstance, recordFormat, type InstanceRecord } from '../monitor/instance-record.js';
import type { Launched, Monitor } from '../monitor/types.js';
import { bareId as stripPrefix, procStartTime, tryKill, within } from '../proc-util.js';
import { checkStdioRecord, type StdioRecord } from '../stdio.js';
import type { ContainerHandle, ExitInfo } from '../types.js';

export const ID_PREFIX = 'host://';

/** A container ID without its `host://` prefix (the instance's key). */
export function bareId(id: string): string {
  return stripPrefix(ID_PREFIX, id);
}

/** A container instance the runtime started or re-adopted. */
export interface Instance {
  id: string;
  podUid: string;
  name: string;
  pid: number;
  env: Record<string, string>;
  workingDir: string;
  /** Mounts were made in a private mount namespace (exec must enter it). */
  mountNamespace: boolean;
  cgroupDir?: string;
  logFile: string;
  /** The instance's state directory (monitor files, launch record). */
  bundle: string;
  alive: boolean;
  /** When the main process's exit was seen (set by finish). */
  finishedAt?: number;
  /** When the start was reported (finishedAt is never earlier). */
  startedAt?: number;
  exited: Promise<ExitInfo>;
  /** Settles once the monitor wrote the last output to the log (see `Launched.logged`). */
  logged?: Promise<void>;
  /** `stdin` / `tty` (see stdio.ts): the FIFO, the terminal and the attached writers. */
  stdio?: InstanceStdio;
  /**
   * With `tty`: the command (script's child, see stdio.ts), which `signal` targets; `pid` is
   * the wrapper (script), whose group and session are the container's as without a tty.
   */
  mainPid?: number;
  mainStartTime?: string;
}

/** The handle of an instance, as the runtime port reports it. */
export function handleOf(inst: Instance, startedAt: number): ContainerHandle {
  return { id: ID_PREFIX + inst.id, pid: inst.mainPid ?? inst.pid, startedAt, exited: inst.exited };
}

/** The host runtime's part of a launch record. */
export interface HostDetails {
  env: Record<string, string>;
  workingDir: string;
  mountNamespace: boolean;
  cgroupDir?: string;
  /** A container with `stdin` or `tty` (absent in records of earlier builds: none). */
  stdio?: StdioRecord;
  /** With `tty`: the command under script, and its start time. */
  mainPid?: number;
  mainStartTime?: string;
}

/** Why `d` is not a {@link HostDetails} record, or undefined when it is one. */
export function checkHostDetails(d: unknown): string | undefined {
  if (typeof d !== 'object' || d === null) return 'no details';
  const x = d as Partial<HostDetails>;
  if (typeof x.env !== 'object' || x.env === null || typeof x.workingDir !== 'string' || typeof x.mountNamespace !== 'boolean') return 'environment, working dir or mounts missing';
  if (x.cgroupDir !== undefined && typeof x.cgroupDir !== 'string') return 'bad cgroup';
  if ((x.mainPid !== undefined && typeof x.mainPid !== 'number') || (x.mainStartTime !== undefined && typeof x.mainStartTime !== 'string')) return 'bad main PID';
  return checkStdioRecord(x.stdio);
}

/** The launch record of `inst` (runtime `runtime`), launched by `monitor` as `launched`. */
export function launchRecordOf(inst: Instance, runtime: string, startedAt: number, monitor: Monitor, launched: Launched): InstanceRecord<HostDetails> {
  const rec: InstanceRecord<HostDetails> = {
    format: recordFormat(inst.stdio !== undefined), runtime, id: inst.id, podUid: inst.podUid, container: inst.name, startedAt, logFile: inst.logFile,
    monitor: monitorRecordOf(monitor, launched),
    details: { env: inst.env, workingDir: inst.workingDir, mountNamespace: inst.mountNamespace },
  };
  if (inst.cgroupDir !== undefined) rec.details.cgroupDir = inst.cgroupDir;
  if (inst.stdio) rec.details.stdio = inst.stdio.record();
  if (inst.mainPid !== undefined) rec.details.mainPid = inst.mainPid;
  if (inst.mainStartTime !== undefined) rec.details.mainStartTime = inst.mainStartTime;
  return rec;
}

/**
 * The instance a launch record describes (re-adopted, alive until its exit is seen), with its
 * state directory `bundle`; `exited` is for the caller to set.
 */
export function adoptedInstance(id: string, podUid: string, bundle: string, rec: InstanceRecord<HostDetails>): Instance {
  const inst: Instance = {
    id, podUid, name: rec.container, pid: rec.monitor.pid, env: rec.details.env, workingDir: rec.details.workingDir,
    mountNamespace: rec.details.mountNamespace, logFile: rec.logFile, bundle, alive: true, exited: undefined as unknown as Promise<ExitInfo>,
    startedAt: rec.startedAt,
  };
  if (rec.details.cgroupDir !== undefined) inst.cgroupDir = rec.details.cgroupDir;
  if (rec.details.stdio) inst.stdio = InstanceStdio.adopted(rec.details.stdio, bundle);
  if (rec.details.mainPid !== undefined) inst.mainPid = rec.details.mainPid;
  if (rec.details.mainStartTime !== undefined) inst.mainStartTime = rec.details.mainStartTime;
  return inst;
}

/**
 * Forgets the instances an earlier process launched for the pod (state directories under
 * `containersDir`) that nobody `claimed` now: their bundles (launch records) and the monitor's
 * state (under conmon: exit file, bundle, socket link). Their logs stay. Returns how many.
 */
export async function forgetUnclaimed(
  monitor: Monitor, runtime: string, containersDir: string, claimed: (id: string) => boolean, waitMs: number,
): Promise<number> {
  let ids: string[];
  try {
    ids = (await fsp.readdir(containersDir)).filter((id) => /^[0-9a-f]{32}$/.test(id));
  } catch {
    return 0;
  }
  const unclaimed = ids.filter((id) => !claimed(id));
  for (const id of unclaimed) {
    const bundle = path.join(containersDir, id);
    const found = await reattachInstance<HostDetails>(monitor, id, bundle, runtime, checkHostDetails);
    if (!('error' in found) && found.found.state === 'running') {
      // Its monitor still watches it (and writes its exit record once it is gone): killed here
      // unless the cgroup sweep did, and forgotten only after that record, which would stay.
      const m = found.record.monitor;
      if (m.pidStartTime !== undefined && procStartTime(m.pid) === m.pidStartTime) tryKill(-m.pid, 'SIGKILL');
      await within(found.found.exit, waitMs);
    }
    await monitor.forget(id);
    await fsp.rm(bundle, { recursive: true, force: true });
  }
  return unclaimed.length;
}
