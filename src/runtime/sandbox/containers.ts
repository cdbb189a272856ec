/**
 * The containers of the sandbox runtime: started through a monitor (conmon, which keeps them
 * running when podvisor stops, or podvisor itself), each in its pod's namespaces, its own leaf
 * cgroup and, by default, its own PID namespace with an init; re-adopted after a podvisor
 * restart from their launch records.
 *
 * The oci runtime uses the same code with an `OciLauncher` (`oci/launcher.ts`): the monitor's
 * child is then `runc run` of a bundle with the image's root file system (no nsenter chain
 * below), the main PID is the container's init as runc reports it (`state.json`), the start is
 * reported by runc's poststart hook, `exec` is `runc exec`, and what the wrapper description
 * below says of the set-up channel and of the chain applies to the sandbox runtime only.
 *
 * The wrapper command handed to the monitor (`C` is the command):
 *
 * ```
 * /bin/sh -c '<join the leaf cgroups>; exec nsenter -t PAUSE -n -i -u [-p | --pid=/proc/T/ns/pid] -- … 4>&2 2>&3' sh   (wrapper: the monitor's child)
 *   own PID ns (default):   busybox unshare --mount --propagation private --pid --fork --mount-proc -- catatonit --
 *   own PID ns, no init:    busybox unshare --mount --propagation private --pid --fork --mount-proc --
 *   pod PID ns (shared):    (nsenter -p forks) unshare --mount --propagation private --
 *   target's PID ns:        (nsenter --pid=/proc/T/ns/pid forks) unshare --mount --propagation private --
 *   /bin/sh -c '<bind /etc/hosts, /etc/hostname, volumes>; cd; <check command>; echo OK >&3; exec "$@" 2>&4 4>&- 3>&-'  (C)
 * ```
 *
 * The last form is an ephemeral container's with a target (`kubectl debug --target`,
 * {@link ContainerStartSpec.targetPidOf}) in a pod without a shared PID namespace: it joins the
 * PID namespace of the target's running instance (T, its main process) instead of getting one,
 * as CRI's `NamespaceMode.TARGET` does, with no init of its own (PID 1 is the target's). In both
 * joined forms `C` mounts a `/proc` of the joined namespace on its private mount namespace, so
 * `ps` lists the pod's (the target's) processes.
 *
 * The forking parents (busybox unshare, nsenter -p) pass the command's exit code through and
 * re-raise the signal that killed it, so the exit status the monitor sees for the wrapper is the
 * command's own. Set-up failures are reported on fd 3, the monitor's set-up channel (a file), as
 * on the host runtime; success is an explicit `OK` line. While the wrappers run, their stderr
 * goes to the set-up channel too (so that a failing `nsenter` or `mount` explains itself in the
 * StartError); the container's real stderr waits on fd 4 and is restored by the final exec, so
 * the log keeps stdout and stderr apart.
 *
 * The main PID (what `signal` and `exec` target) is found below the wrapper once the command
 * reported `OK`: the wrapper's child (busybox unshare's, or nsenter -p's), and with an init that
 * child's child. It is recorded, with its start time, in the launch record.
 *
 * `stdin` / `tty` containers (stdio.ts, attach.ts): the outer shell opens the stdin FIFO on fd 5
 * (in the host's mount namespace) and `C`'s exec moves it to fd 0. With a tty `C` exec's
 * `script`, found where the command would be, and the main PID is script's child (the command);
 * on oci the wrapper runs `runc run` under script (see `oci/launcher.ts`).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { InstanceLogs } from '../logs.js';
import { launchRecordsIn, reattachInstance, writeInstanceRecord, monitorRecordOf, recordFormat, type InstanceRecord } from '../monitor/instance-record.js';
import { signalOfExitCode } from '../monitor/signals.js';
import type { Launched, Monitor, MonitorExit, Reattached } from '../monitor/types.js';
import {
  Background, DEFAULT_PATH, SH, confineSubPaths, bareId as stripPrefix, childrenOf, containerEnv, errText, finalScript, isSafeSegment, mountScript, mountSourceKinds, parseSetup,
  procStartTime, removeCgroupDir, safeSegment, shq, startErrorOf, tryKill, within, type SetupFailure,
} from '../proc-util.js';
import {
  StartError, StreamUnavailableError, type AdoptedInstance, type AttachOptions, type AttachStream, type ContainerHandle, type ContainerStartSpec, type ContainerStats,
  type ExecResult, type ExecStream, type ExecStreamOptions, type ExitInfo, type TerminalSize,
} from '../types.js';
import { Attaches, InstanceStdio, outputEnded } from '../attach.js';
import {
  STDIN_FROM_FD, checkStdioRecord, effectiveStdio, openStdinLine, prepareStdio, releasePrepared, stdioEnv, terminalChild, ttyExec, type PreparedStdio, type StdioRecord,
} from '../stdio.js';
import { ExecStreams } from '../exec-kill.js';
import { runExecPlan, type ExecPlan } from '../exec-plan.js';
import { startExecStream } from '../exec-stream.js';
import { readCgroupStats } from '../cgroup-stats.js';
import { PAUSE_LEAF, type Leaf, type SandboxCgroups } from './cgroups.js';
import { podEtcFiles } from './holder.js';
import type { PidMode } from './state.js';

/**
 * The PID namespace of one container: the pod's modes ({@link PidMode}), or `target`: an
 * ephemeral container in its target's (see the module comment).
 */
export type ContainerPidMode = PidMode | 'target';
import type { Tools } from './tools.js';
import type { OciLauncher } from '../oci/launcher.js';
import { watchSetup } from '../monitor/setup-channel.js';

/** Container IDs are `sandbox://<32 hex digits>` (`oci://` on the oci runtime). */
export const ID_PREFIX = 'sandbox://';
/** A bare container ID (also the name of its leaf cgroups, bundle and exit file). */
const CONTAINER_ID = /^[0-9a-f]{32}$/;
const SWEEP_DEADLINE_MS = 5_000;
/** How long an exit report waits for the instance's last output to reach its log. */
const LOG_DRAIN_MS = 2_000;
const KILL_WAIT_MS = 10_000;

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

interface Instance {
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

/** Options of {@link SandboxContainers}. */
export interface SandboxContainersOptions {
  tools: Tools;
  cgroups: SandboxCgroups;
  monitor: Monitor;
  logs: InstanceLogs;
  /** `<dataDir>/pods/<podUid>`. */
  podDir: (podUid: string) => string;
  log: (msg: string, fields?: object) => void;
  /**
   * The `oci` runtime: containers run from their images by runc (see `oci/launcher.ts`) instead
   * of the host file system through `nsenter`; IDs are `oci://…`.
   */
  oci?: OciLauncher;
}

/** The instances of one sandbox runtime. */
export class SandboxContainers {
  private readonly instances = new Map<string, Instance>();
  private readonly tools: Tools;
  private readonly cgroups: SandboxCgroups;
  private readonly monitor: Monitor;
  private readonly logs: InstanceLogs;
  private readonly podDir: (podUid: string) => string;
  private readonly log: (msg: string, fields?: object) => void;
  /** Files of removed instances being deleted. */
  private readonly background = new Background();
  /** Live `kubectl exec` streams, by instance (killed with it). */
  private readonly execs = new ExecStreams();
  /** Live `kubectl attach` clients. */
  private readonly attaches = new Attaches();
  private readonly oci: OciLauncher | undefined;
  /** `sandbox` or `oci`: the runtime's name in launch records. */
  private readonly runtime: string;
  /** `<runtime>://`. */
  private readonly prefix: string;
  private closed = false;

  constructor(o: SandboxContainersOptions) {
    this.oci = o.oci;
    this.runtime = o.oci ? 'oci' : 'sandbox';
    this.prefix = `${this.runtime}://`;
    this.tools = o.tools;
    this.cgroups = o.cgroups;
    this.monitor = o.monitor;
    this.logs = o.logs;
    this.podDir = o.podDir;
    this.log = o.log;
  }

  /**
   * Starts an instance in the pod's sandbox (see the module comment). Resolves once the command
   * is being exec'd; rejects with {@link StartError} (`CreateContainerError`: workingDir, volume,
   * cgroup; `RunContainerError`: command not found or not executable, sandbox not enterable).
   * Memory and CPU limits from `resources` go on the container's leaf cgroup. With
   * `targetPidOf` (in a pod without a shared PID namespace) it joins the target's PID namespace,
   * and is refused (`CreateContainerError`) when the target does not run in this pod.
   */
  async start(spec: ContainerStartSpec, pod: PodContext): Promise<ContainerHandle> {
    const podUid = safeSegment(spec.sandbox.podUid, 'pod UID');
    const name = safeSegment(spec.name, 'container name');
    const targetPid = this.targetPid(spec, pod, name);
    spec = { ...spec, mounts: confineSubPaths(name, spec.mounts) };
    const hostIsFile = await mountSourceKinds(name, spec.mounts);
    const { id } = await this.monitor.reserve();
    const stdio = effectiveStdio(spec.stdio);
    const env = stdioEnv(containerEnv(spec.env), stdio);
    const workingDir = spec.workingDir ?? '/';
    const bundle = this.bundleDir(podUid, id);
    let leaf: Leaf;
    try {
      leaf = await this.cgroups.makeLeaf(podUid, id, spec.resources);
    } catch (err) {
      await this.monitor.forget(id);
      throw new StartError('CreateContainerError', `failed to create container "${name}": cannot create its cgroup: ${errText(err)}`);
    }
    let logFile: string;
    try {
      await fsp.mkdir(bundle, { recursive: true, mode: 0o700 });
      const opened = await this.logs.open(podUid, name, spec.attempt);
      fs.closeSync(opened.fd); // the monitor writes the log
      logFile = opened.file;
    } catch (err) {
      await this.cgroups.removeLeaf(leaf.dirs);
      await fsp.rm(bundle, { recursive: true, force: true });
      await this.monitor.forget(id);
      throw err;
    }

    let prepared: PreparedStdio | undefined;
    if (stdio) {
      try {
        prepared = await prepareStdio(name, bundle, stdio);
      } catch (err) {
        await this.discardFailedStart(podUid, name, logFile, leaf.dirs, id, bundle);
        throw err;
      }
    }
    const pidMode: ContainerPidMode = targetPid !== undefined ? 'target' : pod.pidMode;
    // On the oci runtime the command is PID 1 of its namespace, as in a Kubernetes container.
    const init = pidMode === 'container' && pod.containerInit && !this.oci;
    let argv: string[];
    let wrapperEnv = env;
    if (this.oci) {
      try {
        const ociInit = pidMode === 'container' && pod.containerInit && this.tools.pause.kind === 'catatonit' ? this.tools.pause.path : undefined;
        argv = await this.oci.prepare(spec, {
          id, bundle, pausePid: pod.pausePid, sharePid: pidMode === 'pod', podDir: pod.podDir, cgroupsPath: this.cgroups.relPath(podUid, id),
          ...(targetPid !== undefined ? { targetPid } : {}), ...(ociInit !== undefined ? { init: ociInit } : {}), ...(prepared ? { stdio: prepared } : {}),
        });
      } catch (err) {
        releasePrepared(prepared);
        await this.discardFailedStart(podUid, name, logFile, leaf.dirs, id, bundle);
        throw err;
      }
      wrapperEnv = { PATH: DEFAULT_PATH };
    } else {
      argv = this.wrapper(spec, pod, pidMode, targetPid, leaf, hostIsFile, env, workingDir, init, prepared);
    }
    let launched: Launched;
    try {
      if (this.closed) throw new Error('sandbox runtime is closed'); // close() may have run during the awaits above
      launched = await this.monitor.launch({ id, bundle, argv, env: wrapperEnv, logPath: logFile });
    } catch (err) {
      releasePrepared(prepared);
      await this.discardFailedStart(podUid, name, logFile, leaf.dirs, id, bundle);
      if (this.closed) throw err;
      throw new StartError('RunContainerError', `failed to start container "${name}": ${errText(err)}`);
    }
    // Registered before any await, so that close() and releaseSandbox() can always find it.
    const inst: Instance = {
      id, podUid, name, wrapperPid: launched.pid, pid: launched.pid, pidMode, init, env, workingDir, cgroupDirs: leaf.dirs,
      procsDir: leaf.procs, logFile, bundle, alive: true, exited: undefined as unknown as Promise<ExitInfo>,
    };
    const wrapperStart = procStartTime(launched.pid);
    if (wrapperStart !== undefined) inst.wrapperStartTime = wrapperStart;
    if (leaf.memory !== undefined) inst.memoryDir = leaf.memory;
    if (launched.logged) inst.logged = launched.logged;
    if (prepared) inst.stdio = new InstanceStdio(prepared);
    inst.exited = launched.exit.then((e) => this.finish(inst, e));
    this.instances.set(id, inst);

    // The oci runtime's start is reported by runc's poststart hook in the bundle's set-up file
    // (see oci/launcher.ts), whatever the monitor's own channel is.
    const setup = await (this.oci ? watchSetup(bundle, launched.exit) : launched.setup);
    if (!setup.ok) {
      await inst.exited;
      this.instances.delete(id);
      const ociFailure = this.oci?.failure(spec, bundle, logFile);
      await this.discardFailedStart(podUid, name, logFile, [], id, bundle);
      if (ociFailure) throw ociFailure;
      const failure: SetupFailure = parseSetup(setup.text) ?? { code: 'sandbox', details: setup.text.trim().split('\n').join('; ') || 'the wrapper exited before the command started' };
      throw startErrorOf(failure, spec, workingDir);
    }
    this.findMainPid(inst);
    // A command that exits at once may have its exit seen before its set-up line: keep
    // startedAt <= finishedAt (finish clamps the other way round).
    inst.startedAt = Math.min(Date.now(), inst.finishedAt ?? Infinity);
    await this.record(inst, inst.startedAt, launched);
    this.logs.rotate(podUid, name, logFile);
    this.log('container process started', { podUid, container: name, containerID: this.prefix + id, pid: inst.pid, pidMode, monitor: this.monitor.kind });
    return this.handleOf(inst, inst.startedAt);
  }

  /**
   * The host PID of the process whose PID namespace an ephemeral container joins
   * (`spec.targetPidOf`: the target instance's main process); undefined when it joins none: no
   * target, or a pod whose PID namespace all containers share anyway. Throws
   * {@link StartError} (`CreateContainerError`, as containerd fails a CreateContainer whose
   * target is gone) when the target is no running instance of this runtime in this pod: the
   * container never runs in another PID namespace than the one asked for. The target's main PID
   * was checked to be the recorded process (start time) just now; it is opened by `nsenter` (or
   * runc) a few milliseconds later.
   */
  private targetPid(spec: ContainerStartSpec, pod: PodContext, name: string): number | undefined {
    const target = spec.targetPidOf;
    if (target === undefined || pod.pidMode === 'pod') return undefined;
    const inst = target.startsWith(this.prefix) ? this.running(target) : undefined;
    if (inst?.podUid !== spec.sandbox.podUid) {
      throw new StartError('CreateContainerError', `failed to create container "${name}": its target container ${target} is not running in this pod`);
    }
    return inst.pid;
  }

  /** The wrapper command of a start (see the module comment). */
  private wrapper(
    spec: ContainerStartSpec, pod: PodContext, pidMode: ContainerPidMode, targetPid: number | undefined, leaf: Leaf, hostIsFile: boolean[],
    env: Record<string, string>, workingDir: string, init: boolean, stdio: PreparedStdio | undefined,
  ): string[] {
    const t = this.tools;
    const join = leaf.dirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join(' && ');
    const chain = pidMode === 'container'
      ? [t.busybox, 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--mount-proc', '--', ...(init ? [t.pause.path, '--'] : [])]
      : [t.unshare, '--mount', '--propagation', 'private', '--'];
    // The target's PID namespace by path (nsenter forks into it as with -p); the others the pause process's.
    const nsFlags = pidMode === 'pod' ? '-n -i -u -p' : pidMode === 'target' ? `-n -i -u --pid=/proc/${targetPid ?? 0}/ns/pid` : '-n -i -u';
    // fd 4 keeps the container's stderr while the wrappers' own goes to the set-up channel.
    // A container's stdin FIFO is opened first, in the host's mount namespace (see stdio.ts).
    const outer = `${stdio ? openStdinLine(stdio) : ''}{ ${join}; } 2>&3 || { echo 'E cgroup' >&3; exit 126; }
s=$1; shift
exec ${shq(t.nsenter)} -t ${pod.pausePid} ${nsFlags} -- ${chain.map(shq).join(' ')} ${SH} -c "$s" sh "$@" 4>&2 2>&3
`;
    let inner = '';
    for (const [src, dst] of podEtcFiles(pod.podDir)) {
      if (fs.existsSync(dst)) inner += `${shq(t.mount)} --bind -- ${shq(src)} ${dst} || { echo 'E etc' >&3; exit 126; }\n`;
    }
    // A joined PID namespace's /proc (the pod's, the target's) on the private mount namespace.
    if (pidMode !== 'container') inner += `${shq(t.mount)} -t proc proc /proc || { echo 'E proc' >&3; exit 126; }\n`;
    inner += mountScript(spec.mounts, hostIsFile, t.mkdir, t.mount);
    const launch = stdio && {
      stdin: STDIN_FROM_FD, ...(stdio.tty ? { tty: ttyExec(stdio.tty, spec.argv, { raw: false, reportOk: true, env }) } : {}),
    };
    inner += finalScript(workingDir, env, true, true, '2>&4 4>&-', launch);
    return [SH, '-c', outer, 'sh', inner, ...spec.argv];
  }

  /**
   * The command's PID below the wrapper: busybox unshare's child (the init, whose child is the
   * command) in an own PID namespace, nsenter -p's child in the pod's (or the target's). The command wrote the
   * set-up line itself, so it exists (unless it already ended: then the wrapper's PID stays).
   */
  private findMainPid(inst: Instance): void {
    let pid = this.oci ? this.oci.mainPid(inst.bundle) ?? inst.wrapperPid : childrenOf(inst.wrapperPid)[0] ?? inst.wrapperPid;
    if (inst.init && pid !== inst.wrapperPid) pid = childrenOf(pid)[0] ?? pid;
    if (inst.stdio?.stdio.tty) {
      // script holds the terminal: on oci it is the wrapper (runc's parent); else it is found
      // where the command would be, and the command is its child (see stdio.ts).
      const script = this.oci ? inst.wrapperPid : pid;
      inst.stdio.setTerminalHolder(script);
      if (!this.oci) pid = terminalChild(script)?.mainPid ?? pid;
    }
    inst.pid = pid;
    const t = procStartTime(pid);
    if (t !== undefined) inst.pidStartTime = t;
  }

  /** Writes the launch record a later podvisor process re-attaches with (monitors that outlive it only). */
  private async record(inst: Instance, startedAt: number, launched: Launched): Promise<void> {
    if (!this.monitor.outlivesPodvisor) return;
    const details: SandboxDetails = {
      wrapperPid: inst.wrapperPid, pid: inst.pid, pidMode: inst.pidMode, init: inst.init, env: inst.env, workingDir: inst.workingDir,
      cgroupDirs: inst.cgroupDirs, procsDir: inst.procsDir,
    };
    if (inst.wrapperStartTime !== undefined) details.wrapperStartTime = inst.wrapperStartTime;
    if (inst.pidStartTime !== undefined) details.pidStartTime = inst.pidStartTime;
    if (inst.memoryDir !== undefined) details.memoryDir = inst.memoryDir;
    if (inst.stdio) details.stdio = inst.stdio.record();
    const rec: InstanceRecord<SandboxDetails> = {
      format: recordFormat(inst.stdio !== undefined), runtime: this.runtime, id: inst.id, podUid: inst.podUid, container: inst.name, startedAt, logFile: inst.logFile,
      monitor: monitorRecordOf(this.monitor, launched), details,
    };
    try {
      writeInstanceRecord(inst.bundle, rec);
    } catch (err) {
      // Not fatal for this process; a later one cannot re-adopt the instance and restarts it.
      this.log('cannot write the launch record', { podUid: inst.podUid, container: inst.name, error: errText(err) });
    }
  }

  /**
   * Re-attaches to an instance an earlier podvisor process started (see {@link AdoptedInstance}).
   * Running: registered as if started here (same ID, PIDs, start time), its exit watched.
   * Exited while podvisor was down: cleaned up as after any exit (the leftovers in its cgroup
   * killed, the OOM counter read from its leaf, which is still there), the real exit returned.
   * Unknown (no monitor, no usable record, monitor gone): what is left of it is killed.
   */
  /** The launch records of the pod's instances (see `ContainerRuntime.launchedInstances`). */
  launched(podUid: string): { id: string; container: string; startedAt: number }[] {
    if (!isSafeSegment(podUid) || !this.monitor.outlivesPodvisor) return [];
    return launchRecordsIn(path.join(this.podDir(podUid), 'containers'), this.runtime).map((r) => ({ ...r, id: this.prefix + r.id }));
  }

  async adopt(podUid: string, containerId: string): Promise<AdoptedInstance> {
    const id = stripPrefix(this.prefix, containerId);
    if (!isSafeSegment(podUid) || !CONTAINER_ID.test(id)) return { state: 'unknown' };
    const known = this.instances.get(id);
    if (known) return known.alive ? { state: 'running', handle: this.handleOf(known, known.startedAt ?? Date.now()) } : { state: 'unknown' };
    const bundle = this.bundleDir(podUid, id);
    const attached = await this.reattach(podUid, id);
    if ('error' in attached) {
      this.log('cannot re-adopt container', { podUid, containerID: this.prefix + id, reason: attached.error });
      await this.reap(podUid, id, undefined);
      return { state: 'unknown' };
    }
    const { record: rec, found } = attached;
    if (found.state === 'unknown') {
      this.log('cannot re-adopt container', { podUid, container: rec.container, containerID: this.prefix + id, reason: found.why });
      // Unsupervised, it must not run on beside its replacement.
      await this.reap(podUid, id, rec);
      return { state: 'unknown' };
    }
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
    if (found.state === 'exited') {
      inst.exited = this.finish(inst, found.exit);
      // Known (exited) until removeContainer, which forgets its exit file and bundle.
      this.instances.set(id, inst);
      const exit = await inst.exited;
      this.log('container exited while podvisor was down', { podUid, container: rec.container, containerID: this.prefix + id, exitCode: exit.exitCode, oomKilled: exit.oomKilled });
      return { state: 'exited', startedAt: rec.startedAt, exit };
    }
    inst.exited = found.exit.then((e) => this.finish(inst, e));
    this.instances.set(id, inst);
    this.log('container re-adopted', { podUid, container: rec.container, containerID: this.prefix + id, pid: inst.pid, monitor: this.monitor.kind });
    return { state: 'running', handle: this.handleOf(inst, rec.startedAt) };
  }

  /**
   * The launch record of `<podUid>/<id>` and what its monitor says of it. A record is used only
   * when it describes this instance where this runtime puts it (its pod, its leaf cgroups): the
   * cgroups it names are swept, so a record that names others is not trusted.
   */
  private async reattach(podUid: string, id: string): Promise<{ record: InstanceRecord<SandboxDetails>; found: Reattached } | { error: string }> {
    const leafDirs = this.cgroups.leafDirs(podUid, id);
    const procsDir = this.cgroups.procsDir(podUid, id);
    const check = (details: unknown): string | undefined => {
      const bad = checkSandboxDetails(details);
      if (bad !== undefined) return bad;
      const d = details as SandboxDetails;
      // Every leaf it names is one of this runtime's (an earlier podvisor may have used fewer
      // hierarchies: cpuacct is newer).
      const same = d.procsDir === procsDir && d.cgroupDirs.includes(procsDir) && d.cgroupDirs.every((x) => leafDirs.includes(x))
        && (d.memoryDir === undefined || d.cgroupDirs.includes(d.memoryDir));
      return same ? undefined : 'its cgroups are not where this runtime puts them';
    };
    const attached = await reattachInstance<SandboxDetails>(this.monitor, id, this.bundleDir(podUid, id), this.runtime, check);
    if ('error' in attached) return attached;
    if (attached.record.podUid !== podUid) {
      await this.monitor.forget(id); // the wait reattach may have started
      return { error: `its launch record names pod ${attached.record.podUid}` };
    }
    return attached;
  }

  private handleOf(inst: Instance, startedAt: number): ContainerHandle {
    return { id: this.prefix + inst.id, pid: inst.pid, startedAt, exited: inst.exited };
  }

  /**
   * Signals the command (the container's main process) only. Without an init
   * (`podvisor.io/container-init: "false"`) the command is PID 1 of its namespace, so the kernel
   * drops signals it has no handler for, except SIGKILL (Kubernetes behaves the same: the agent
   * escalates to SIGKILL after the grace period).
   */
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP'): void {
    const inst = this.instances.get(stripPrefix(this.prefix, id));
    if (!inst?.alive) return;
    if (inst.pidStartTime !== undefined && procStartTime(inst.pid) !== inst.pidStartTime) return; // gone: never a reused PID
    tryKill(inst.pid, signal);
  }

  /**
   * The instance's CPU time and memory working set from its leaf cgroups; undefined when it is
   * not running or a counter cannot be read (see `ContainerRuntime.stats`).
   */
  async stats(id: string): Promise<ContainerStats | undefined> {
    const inst = this.instances.get(stripPrefix(this.prefix, id));
    if (!inst?.alive) return undefined;
    const stats = await readCgroupStats(this.cgroups.statsDirs(inst.cgroupDirs, inst.procsDir, inst.memoryDir));
    return inst.alive ? stats : undefined;
  }

  /**
   * SIGKILLs the wrapper's process group and every process in the container's cgroup (also
   * ones that called setsid), then waits (bounded) until the exit has been processed.
   */
  async killAll(id: string): Promise<void> {
    const inst = this.instances.get(stripPrefix(this.prefix, id));
    if (!inst?.alive) return;
    this.killGroup(inst);
    await this.cgroups.sweep(inst.procsDir, Date.now() + SWEEP_DEADLINE_MS);
    if (!(await within(inst.exited, KILL_WAIT_MS))) {
      this.log('container did not exit after SIGKILL', { podUid: inst.podUid, container: inst.name, containerID: this.prefix + inst.id, pid: inst.pid });
    }
  }

  /** SIGKILLs the wrapper's process group while the wrapper is the recorded process. */
  private killGroup(inst: Instance): void {
    if (inst.wrapperStartTime !== undefined && procStartTime(inst.wrapperPid) !== inst.wrapperStartTime) return;
    tryKill(-inst.wrapperPid, 'SIGKILL');
  }

  /**
   * Runs `command` in the container: its network, IPC, UTS, PID and mount namespaces (entered
   * through the command's PID with `nsenter`), its cgroup (what it leaves behind dies with the
   * container), environment and working directory; on oci `runc exec`. Output, timeout and
   * error codes as on the host runtime; never throws.
   */
  async exec(id: string, command: string[], opts: { timeoutMs: number }): Promise<ExecResult> {
    const inst = this.running(id);
    if (!inst) return { exitCode: 126, output: `container ${id} is not running`, timedOut: false };
    if (command.length === 0) return { exitCode: 126, output: 'exec: empty command', timedOut: false };
    return runExecPlan(this.execPlan(inst, command, { tty: false }), opts.timeoutMs);
  }

  /**
   * `kubectl exec`: `command` in the same context as {@link exec}, with its streams open (see
   * `exec-stream.ts`). Rejects with {@link StreamUnavailableError} when the instance does not run
   * or a terminal's tools are missing.
   */
  async execStream(id: string, command: string[], opts: ExecStreamOptions): Promise<ExecStream> {
    const inst = this.running(id);
    if (!inst) throw new StreamUnavailableError(`container ${id} is not running`);
    if (command.length === 0) throw new StreamUnavailableError('exec: empty command');
    const s = await startExecStream(this.execPlan(inst, command, opts), opts);
    this.execs.add(inst.id, s);
    if (!inst.alive) s.kill(); // it ended meanwhile: no exec outlives its container
    return s;
  }

  /**
   * `kubectl attach` (see attach.ts): the instance's live output and, for a container started
   * with `stdin`, its stdin. Rejects with {@link StreamUnavailableError} when the instance does
   * not run or `stdin` is asked of a container without it.
   */
  attach(id: string, opts: AttachOptions): Promise<AttachStream> {
    const inst = this.running(id);
    return this.attaches.open(id, inst && {
      id: this.prefix + inst.id, logFile: inst.logFile, ended: outputEnded(inst.exited, inst.logged), ...(inst.stdio ? { stdio: inst.stdio } : {}),
    }, opts);
  }

  /** The instance when it runs (its command's PID is still the recorded process). */
  private running(id: string): Instance | undefined {
    const inst = this.instances.get(stripPrefix(this.prefix, id));
    const gone = inst?.pidStartTime !== undefined && procStartTime(inst.pid) !== inst.pidStartTime;
    return inst?.alive === true && !gone ? inst : undefined;
  }

  /**
   * How a command runs in the instance (probe and streaming exec): on oci `runc exec` (on a
   * terminal of the given first size, see `OciLauncher.execPlan`); else the container's cgroups
   * joined, then `nsenter` into its namespaces through the command's PID, then the last shell's
   * working-dir and command checks (set-up channel fd 3), with the container's environment. On
   * a terminal the command leads a session of its own inside (`setsid --ctty`, taking the
   * terminal over as root may): `nsenter -p` forks, so the terminal's process group would
   * otherwise be nsenter's, which does not exist in the container's PID namespace (a job-control
   * shell fails to hand the terminal back at its exit: "Cannot set tty process group", exit 2).
   * Throws {@link StreamUnavailableError} when a terminal is asked for without `setsid`.
   */
  private execPlan(inst: Instance, command: string[], opts: { tty: boolean; size?: TerminalSize }): ExecPlan {
    const tty = opts.tty;
    if (this.oci) return this.oci.execPlan(inst.id, inst.bundle, command, tty ? { ...(opts.size ? { size: opts.size } : {}) } : undefined);
    const join = inst.cgroupDirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join('; ');
    let session: string[] = [];
    let script = finalScript(inst.workingDir, inst.env, false);
    if (tty) {
      if (this.tools.setsid === undefined) throw new StreamUnavailableError('a terminal (kubectl exec -t) needs setsid from util-linux, which is not installed: apt-get install util-linux');
      session = [this.tools.setsid, '--ctty', '--wait'];
      script = `echo >&4; exec 4>&-\n${script}`; // the terminal is the command's now (see ExecPlan.readyInContext)
    }
    const argv = [
      SH, '-c', `{ ${join}; } 2>/dev/null; exec "$@"`, 'sh',
      this.tools.nsenter, '-t', String(inst.pid), '-n', '-i', '-u', '-p', '-m', '--', ...session, SH, '-c', script, 'sh', ...command,
    ];
    return { argv, env: inst.env, cmd: command[0] ?? '', workingDir: inst.workingDir, parseSetup, readyInContext: tty };
  }

  /**
   * Forgets the instance (killing it first if it still runs), its exit file and its bundle; its
   * log stays as the previous one.
   */
  async remove(id: string): Promise<void> {
    const inst = this.instances.get(stripPrefix(this.prefix, id));
    if (!inst) return;
    if (inst.alive) await this.killAll(inst.id);
    await within(inst.exited, KILL_WAIT_MS);
    this.instances.delete(inst.id);
    // Its files go after the return: a restart waits for nothing of a dead instance.
    this.background.run(() => this.forget(inst.id, inst.bundle));
  }

  /**
   * The pod's sandbox goes, and its containers with it: kills the instances of the pod that
   * still run (`why` is logged for each), and what earlier podvisor processes left of the pod's
   * other instances (their bundles), and forgets them all: exit files and bundles.
   */
  async dropPod(podUid: string, why?: string): Promise<void> {
    await this.background.drain();
    const insts = [...this.instances.values()].filter((i) => i.podUid === podUid);
    await Promise.all(insts.filter((i) => i.alive).map((i) => {
      if (why !== undefined) this.log(why, { podUid, container: i.name, containerID: this.prefix + i.id });
      return this.killAll(i.id);
    }));
    for (const i of insts) {
      this.instances.delete(i.id);
      await this.forget(i.id, i.bundle);
    }
    let bundles: string[] = [];
    try {
      bundles = (await fsp.readdir(path.join(this.podDir(podUid), 'containers'))).filter((b) => CONTAINER_ID.test(b));
    } catch {
      // no bundles
    }
    await Promise.all(bundles.map((id) => this.reapRecorded(podUid, id)));
  }

  /**
   * After a podvisor restart and the adoptions: kills the containers an earlier podvisor
   * process left in this pod's cgroups that are neither known here nor in `adopted`, removes
   * their cgroups, exit files and bundles. Returns how many it found.
   */
  async reapOrphans(podUid: string, adopted: ReadonlySet<string>): Promise<number> {
    if (!isSafeSegment(podUid)) return 0;
    const keep = new Set([...adopted].map((i) => stripPrefix(this.prefix, i)));
    const leaves = (await this.cgroups.leaves(podUid)).filter((l) => l !== PAUSE_LEAF && !this.instances.has(l) && !keep.has(l));
    for (const leaf of leaves) await this.reapRecorded(podUid, leaf);
    // Bundles without a leaf: instances that had exited (their leaves are removed at the exit)
    // but were not removed yet when the earlier process ended (on oci: a mounted rootfs, runc's
    // state, an image user record).
    let bundles: string[] = [];
    try {
      bundles = (await fsp.readdir(path.join(this.podDir(podUid), 'containers'))).filter((b) => CONTAINER_ID.test(b) && !this.instances.has(b) && !keep.has(b) && !leaves.includes(b));
    } catch {
      // no bundles
    }
    for (const b of bundles) await this.reapRecorded(podUid, b);
    const found = leaves.length + bundles.length;
    if (found > 0) this.log('reaped leftover containers of an earlier podvisor process', { podUid, containers: found });
    return found;
  }

  /** {@link reap} with what the instance's launch record and its monitor say. */
  private async reapRecorded(podUid: string, id: string): Promise<void> {
    const found = CONTAINER_ID.test(id) ? await this.reattach(podUid, id) : { error: 'not a container ID' };
    if ('error' in found) return this.reap(podUid, id, undefined);
    return this.reap(podUid, id, found.record, found.found.state === 'running' ? found.found.exit : undefined);
  }

  /**
   * Kills what is left of an instance nobody supervises (its wrapper's group while it is the
   * recorded process, its cgroup until empty), removes its cgroups, and forgets it: exit file
   * (after the monitor wrote it, when `exit` says a monitor still watches) and bundle.
   */
  private async reap(podUid: string, id: string, rec: InstanceRecord<SandboxDetails> | undefined, exit?: Promise<MonitorExit>): Promise<void> {
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    const d = rec?.details;
    if (d?.wrapperStartTime !== undefined && procStartTime(d.wrapperPid) === d.wrapperStartTime) tryKill(-d.wrapperPid, 'SIGKILL');
    const procs = d?.procsDir ?? this.cgroups.procsDir(podUid, id);
    if (!(await this.cgroups.sweep(procs, deadline))) this.log('cgroup not empty after sweep', { podUid, containerID: this.prefix + id, cgroup: procs });
    for (const dir of d?.cgroupDirs ?? this.cgroups.leafDirs(podUid, id)) await removeCgroupDir(dir, deadline).catch(() => {});
    if (exit) await within(exit, KILL_WAIT_MS);
    if (CONTAINER_ID.test(id)) await this.forget(id, this.bundleDir(podUid, id));
  }

  /**
   * Stops: kills every live instance and waits for their exits (bounded), unless `keepRunning`
   * (under a monitor that outlives podvisor): then they are left running and handed over to the
   * next process (forgotten here, so that a later close kills nothing). Further starts are
   * refused.
   */
  async close(keepRunning: boolean): Promise<void> {
    this.closed = true;
    await this.execs.closeAll(); // podvisor's children: they end with it, whatever the containers do
    this.attaches.detachAll();
    // The keepers of stdinOnce containers go with this process (see stdio.ts).
    for (const i of this.instances.values()) i.stdio?.end();
    await this.background.drain();
    if (keepRunning) {
      this.instances.clear();
      await this.monitor.close();
      return;
    }
    await Promise.all([...this.instances.values()].filter((i) => i.alive).map((i) => this.killAll(i.id)));
    await Promise.all([...this.instances.values()].map((i) => within(i.exited, KILL_WAIT_MS)));
    // podvisor stopped these itself: their exits are no pod event (as on the host runtime).
    // Without their records a later process finds them unknown (started again).
    await Promise.all([...this.instances.values()].map((i) => this.forget(i.id, i.bundle)));
    await this.background.drain();
    await this.monitor.close();
  }

  /**
   * The wrapper exited: kill what is left of the container (cgroup until empty), read the OOM
   * counter, remove its cgroups, then report. `oomKilled` = 137 and an OOM kill in the
   * container's leaf. Never rejects.
   */
  private async finish(inst: Instance, e: MonitorExit): Promise<ExitInfo> {
    const finishedAt = Math.max(e.finishedAt, inst.startedAt ?? -Infinity);
    inst.finishedAt = finishedAt;
    inst.alive = false;
    const info: ExitInfo = { exitCode: e.exitCode, oomKilled: false, finishedAt };
    // The init ends with 128 + n when a signal killed the command (as tini and docker --init do);
    // so does `runc run`.
    // So does script under a tty (see stdio.ts).
    const signal = e.signal ?? (inst.init || this.oci || inst.stdio?.stdio.tty ? signalOfExitCode(e.exitCode) : undefined);
    if (signal !== undefined) info.signal = signal;
    this.execs.killInstance(inst.id);
    inst.stdio?.end();
    try {
      this.killGroup(inst);
      const deadline = Date.now() + SWEEP_DEADLINE_MS;
      const swept = await this.cgroups.sweep(inst.procsDir, deadline);
      // Its last output is in the log before the exit is reported (and before a termination
      // message is read from it): the output pipes end once nothing of the instance runs.
      if (inst.logged !== undefined && !(await within(inst.logged, LOG_DRAIN_MS))) {
        this.log('the log of an exited container was not complete in time', { podUid: inst.podUid, container: inst.name });
      }
      if (swept) {
        if (info.exitCode === 137 && (await this.cgroups.oomKills(inst.memoryDir)) > 0) info.oomKilled = true;
        const message = this.oci?.terminationMessage(inst.bundle, info.exitCode, inst.logFile);
        if (message !== undefined && message !== '') info.message = message;
        for (const d of inst.cgroupDirs) await removeCgroupDir(d, deadline).catch(() => {});
      } else {
        this.log('cgroup not empty after sweep', { podUid: inst.podUid, container: inst.name, cgroup: inst.procsDir });
      }
    } catch (err) {
      this.log('cleanup after container exit failed', { podUid: inst.podUid, container: inst.name, error: errText(err) });
    }
    return info;
  }

  private async discardFailedStart(podUid: string, name: string, logFile: string, cgroupDirs: string[], id: string, bundle: string): Promise<void> {
    await this.logs.discard(podUid, name, logFile);
    await this.cgroups.removeLeaf(cgroupDirs);
    await this.forget(id, bundle);
  }

  private async forget(id: string, bundle: string): Promise<void> {
    // Unmounted before the bundle goes: a recursive delete must never walk into a mounted rootfs.
    if (this.oci && !(await this.oci.cleanup(id, bundle))) {
      this.log('container root file system still in use: bundle kept for a later clean-up', { containerID: this.prefix + id, bundle });
      await this.monitor.forget(id).catch(() => {});
      return;
    }
    await this.monitor.forget(id).catch(() => {});
    await fsp.rm(bundle, { recursive: true, force: true }).catch(() => {});
  }

  /** `<podDir>/containers/<id>`: an instance's state directory. */
  private bundleDir(podUid: string, id: string): string {
    return path.join(this.podDir(podUid), 'containers', id);
  }
}

function checkSandboxDetails(d: unknown): string | undefined {
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
