/**
 * The containers of the sandbox runtime: started through a monitor (conmon, which keeps them
 * running when podvisor stops, or podvisor itself), each in its pod's namespaces, its own leaf
 * cgroup and, by default, its own PID namespace with an init; re-adopted after a podvisor
 * restart from their launch records.
 *
 * The oci runtime uses the same code with an `OciLauncher` (`oci/launcher.ts`): the monitor's
 * child is then `runc run` of a bundle with the image's root file system (no nsenter chain),
 * the main PID is the container's init as runc reports it (`state.json`), the start is
 * reported by runc's poststart hook, `exec` is `runc exec`, and what the wrapper description
 * (wrapper.ts) says of the set-up channel and of the chain applies to the sandbox runtime only.
 *
 * This module is the instances' lifecycle; the parts live beside it: `wrapper.ts` (the wrapper
 * command handed to the monitor, the process layout below it and how the main PID is found
 * there, and the exec plan), `instance.ts` (an instance, its IDs and its launch record),
 * `launch.ts` (preparing a start: ID, leaf cgroup, bundle, log, stdio, argv), `exit.ts` (the
 * kill, and the exit report with the OOM kill) and `bundles.ts` (the instances' state
 * directories: re-attaching, reaping and forgetting them).
 */
import type { InstanceLogs } from '../logs.js';
import { launchRecordsIn, writeInstanceRecord } from '../monitor/instance-record.js';
import type { Launched, Monitor, MonitorExit } from '../monitor/types.js';
import {
  Background, confineSubPaths, bareId as stripPrefix, errText, isSafeSegment, mountSourceKinds, parseSetup, procStartTime, safeSegment, startErrorOf, tryKill, within,
  type SetupFailure,
} from '../proc-util.js';
import {
  StartError, StreamUnavailableError, type AdoptedInstance, type AttachOptions, type AttachStream, type ContainerHandle, type ContainerStartSpec, type ContainerStats,
  type ExecResult, type ExecStream, type ExecStreamOptions, type ExitInfo,
} from '../types.js';
import { Attaches, outputEnded } from '../attach.js';
import { releasePrepared } from '../stdio.js';
import { ExecStreams } from '../exec-kill.js';
import { runExecPlan } from '../exec-plan.js';
import { startExecStream } from '../exec-stream.js';
import { readCgroupStats } from '../cgroup-stats.js';
import type { SandboxCgroups } from './cgroups.js';
import type { Tools } from './tools.js';
import type { OciLauncher } from '../oci/launcher.js';
import { watchSetup } from '../monitor/setup-channel.js';
import { Bundles } from './bundles.js';
import { KILL_WAIT_MS, SWEEP_DEADLINE_MS, finishInstance, killGroup, type FinishContext } from './exit.js';
import { CONTAINER_ID, handleOf, launchRecordOf, type Instance, type PodContext } from './instance.js';
import { launchedInstance, prepareLaunch, type LaunchContext } from './launch.js';
import { execPlanOf, findMainPid } from './wrapper.js';

export { ID_PREFIX, type ContainerPidMode, type PodContext, type SandboxDetails } from './instance.js';

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
  /** The instances' state directories, and the clean-up of what instances leave. */
  private readonly bundles: Bundles;
  /** What a start's preparation works with (see launch.ts). */
  private readonly launchContext: LaunchContext;
  /** What an exit's processing works with (see exit.ts). */
  private readonly finishContext: FinishContext;
  private closed = false;

  constructor(o: SandboxContainersOptions) {
    this.oci = o.oci;
    this.runtime = o.oci ? 'oci' : 'sandbox';
    this.prefix = `${this.runtime}://`;
    this.tools = o.tools;
    this.cgroups = o.cgroups;
    this.monitor = o.monitor;
    this.logs = o.logs;
    this.log = o.log;
    this.bundles = new Bundles({
      cgroups: o.cgroups, monitor: o.monitor, logs: o.logs, podDir: o.podDir, log: o.log, oci: this.oci, runtime: this.runtime, prefix: this.prefix,
    });
    this.launchContext = { tools: o.tools, cgroups: o.cgroups, monitor: o.monitor, logs: o.logs, oci: this.oci, bundles: this.bundles };
    this.finishContext = { cgroups: o.cgroups, oci: this.oci, execs: this.execs, log: o.log };
  }

  /**
   * Starts an instance in the pod's sandbox (see wrapper.ts for its layout). Resolves once the
   * command is being exec'd; rejects with {@link StartError} (`CreateContainerError`: workingDir,
   * volume, cgroup; `RunContainerError`: command not found or not executable, sandbox not
   * enterable).
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
    const p = await prepareLaunch(this.launchContext, spec, pod, { podUid, name, targetPid, hostIsFile });
    const { id, bundle, leaf, logFile, prepared, workingDir, pidMode } = p;
    let launched: Launched;
    try {
      if (this.closed) throw new Error('sandbox runtime is closed'); // close() may have run during the awaits above
      launched = await this.monitor.launch({ id, bundle, argv: p.argv, env: p.wrapperEnv, logPath: logFile });
    } catch (err) {
      releasePrepared(prepared);
      await this.bundles.discardFailedStart(podUid, name, logFile, leaf.dirs, id, bundle);
      if (this.closed) throw err;
      throw new StartError('RunContainerError', `failed to start container "${name}": ${errText(err)}`);
    }
    // Registered before any await, so that close() and releaseSandbox() can always find it.
    const inst = launchedInstance(podUid, name, p, launched);
    inst.exited = launched.exit.then((e) => this.finish(inst, e));
    this.instances.set(id, inst);

    // The oci runtime's start is reported by runc's poststart hook in the bundle's set-up file
    // (see oci/launcher.ts), whatever the monitor's own channel is.
    const setup = await (this.oci ? watchSetup(bundle, launched.exit) : launched.setup);
    if (!setup.ok) {
      await inst.exited;
      this.instances.delete(id);
      const ociFailure = this.oci?.failure(spec, bundle, logFile);
      await this.bundles.discardFailedStart(podUid, name, logFile, [], id, bundle);
      if (ociFailure) throw ociFailure;
      const failure: SetupFailure = parseSetup(setup.text) ?? { code: 'sandbox', details: setup.text.trim().split('\n').join('; ') || 'the wrapper exited before the command started' };
      throw startErrorOf(failure, spec, workingDir);
    }
    findMainPid(inst, this.oci);
    // A command that exits at once may have its exit seen before its set-up line: keep
    // startedAt <= finishedAt (finish clamps the other way round).
    inst.startedAt = Math.min(Date.now(), inst.finishedAt ?? Infinity);
    await this.record(inst, inst.startedAt, launched);
    this.logs.rotate(podUid, name, logFile);
    this.log('container process started', { podUid, container: name, containerID: this.prefix + id, pid: inst.pid, pidMode, monitor: this.monitor.kind });
    return handleOf(this.prefix, inst, inst.startedAt);
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

  /** Writes the launch record a later podvisor process re-attaches with (monitors that outlive it only). */
  private async record(inst: Instance, startedAt: number, launched: Launched): Promise<void> {
    if (!this.monitor.outlivesPodvisor) return;
    const rec = launchRecordOf(inst, this.runtime, startedAt, this.monitor, launched);
    try {
      writeInstanceRecord(inst.bundle, rec);
    } catch (err) {
      // Not fatal for this process; a later one cannot re-adopt the instance and restarts it.
      this.log('cannot write the launch record', { podUid: inst.podUid, container: inst.name, error: errText(err) });
    }
  }

  /** The launch records of the pod's instances (see `ContainerRuntime.launchedInstances`). */
  launched(podUid: string): { id: string; container: string; startedAt: number }[] {
    if (!isSafeSegment(podUid) || !this.monitor.outlivesPodvisor) return [];
    return launchRecordsIn(this.bundles.containersDir(podUid), this.runtime).map((r) => ({ ...r, id: this.prefix + r.id }));
  }

  /**
   * Re-attaches to an instance an earlier podvisor process started (see {@link AdoptedInstance}).
   * Running: registered as if started here (same ID, PIDs, start time), its exit watched.
   * Exited while podvisor was down: cleaned up as after any exit (the leftovers in its cgroup
   * killed, the OOM counter read from its leaf, which is still there), the real exit returned.
   * Unknown (no monitor, no usable record, monitor gone): what is left of it is killed.
   */
  async adopt(podUid: string, containerId: string): Promise<AdoptedInstance> {
    const id = stripPrefix(this.prefix, containerId);
    if (!isSafeSegment(podUid) || !CONTAINER_ID.test(id)) return { state: 'unknown' };
    const known = this.instances.get(id);
    if (known) return known.alive ? { state: 'running', handle: handleOf(this.prefix, known, known.startedAt ?? Date.now()) } : { state: 'unknown' };
    const adoptable = await this.bundles.adoptable(podUid, id);
    if (!adoptable) return { state: 'unknown' };
    const { inst, record: rec, found } = adoptable;
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
    return { state: 'running', handle: handleOf(this.prefix, inst, rec.startedAt) };
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
    killGroup(inst);
    await this.cgroups.sweep(inst.procsDir, Date.now() + SWEEP_DEADLINE_MS);
    if (!(await within(inst.exited, KILL_WAIT_MS))) {
      this.log('container did not exit after SIGKILL', { podUid: inst.podUid, container: inst.name, containerID: this.prefix + inst.id, pid: inst.pid });
    }
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
    return runExecPlan(execPlanOf(this.tools, this.oci, inst, command, { tty: false }), opts.timeoutMs);
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
    const s = await startExecStream(execPlanOf(this.tools, this.oci, inst, command, opts), opts);
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
    this.background.run(() => this.bundles.forget(inst.id, inst.bundle));
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
      await this.bundles.forget(i.id, i.bundle);
    }
    const bundles = await this.bundles.bundleIds(podUid);
    await Promise.all(bundles.map((id) => this.bundles.reapRecorded(podUid, id)));
  }

  /**
   * After a podvisor restart and the adoptions: kills the containers an earlier podvisor
   * process left in this pod's cgroups that are neither known here nor in `adopted`, removes
   * their cgroups, exit files and bundles. Returns how many it found.
   */
  async reapOrphans(podUid: string, adopted: ReadonlySet<string>): Promise<number> {
    if (!isSafeSegment(podUid)) return 0;
    const keep = new Set([...adopted].map((i) => stripPrefix(this.prefix, i)));
    return this.bundles.reapUnknown(podUid, (id) => this.instances.has(id) || keep.has(id));
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
    await Promise.all([...this.instances.values()].map((i) => this.bundles.forget(i.id, i.bundle)));
    await this.background.drain();
    await this.monitor.close();
  }

  /** The wrapper exited: cleans up and reports (see {@link finishInstance}). Never rejects. */
  private finish(inst: Instance, e: MonitorExit): Promise<ExitInfo> {
    return finishInstance(inst, e, this.finishContext);
  }
}
