/**
 * The `host` runtime adapter (ARCHITECTURE.md "Runtimes"): containers are process trees on the
 * host, run from the host filesystem (the image field is informational). It is the embedded
 * default and works unprivileged; with root (or unprivileged user namespaces) and cgroups it
 * adds per-container bind mounts and a complete kill of every process of a container.
 *
 * How a container is started (all layers `exec`, so the PID Node spawned is the container's
 * main PID and the exit code/signal Node sees is the command's own):
 *
 * ```
 * /bin/sh -c '<join cgroup>; exec "$@"' sh           (only when cgroups are available)
 *   unshare [--user --map-root-user] --mount --       (only when the container has mounts; no --fork)
 *   /bin/sh -c '<bind mounts>; cd <workingDir>; <check command>; exec "$@" 3>&-' sh
 *   <argv...>
 * ```
 *
 * The last shell reports setup failures (missing workingDir, command not found, mount failure)
 * as short codes on file descriptor 3, a pipe podvisor reads until EOF: EOF without a code means
 * the command is being exec'd, which is when `startContainer` resolves. A code turns into a
 * {@link StartError}. Checks therefore happen in the container's own view (its mounts, its PATH,
 * its working directory), as a real runtime does before exec.
 *
 * Linux/POSIX only (process groups, `/bin/sh`). See `HostCapabilities` for what is probed.
 * Not isolated: network, PIDs, users, the filesystem outside volume mounts. `oomKilled` is
 * always false: the start spec carries no memory limit, so none is set (with one, cgroup v1
 * `memory.oom_control` `oom_kill > 0` would be the signal).
 *
 * Resource usage (`stats`, for `kubectl top`): a container's leaf counts its CPU time and
 * memory. On cgroup v2 that is the leaf itself (`cpu.stat`, and `memory.*` once the memory
 * controller is enabled below the root); on cgroup v1, whose leaf is in the `pids` hierarchy,
 * the container also joins a leaf of the same name in the `cpuacct` and `memory` hierarchies
 * (accounting only, no limits). Without cgroups there are no stats.
 *
 * `stdin` / `tty` containers (stdio.ts, attach.ts): the outermost shell opens the stdin FIFO
 * on fd 5 and the last step moves it to fd 0; with a tty the last step exec's `script`, whose
 * child (the command) is the main process `signal` targets (`mainPid`), while the wrapper PID
 * (script) keeps its role for the group kill and the monitor's exit.
 *
 * This module is the `ContainerRuntime` port and the instances' lifecycle; the parts live in
 * `host/`: `capabilities.ts` (what the host can do) and `probe.ts` (finding it out),
 * `cgroups.ts` (the containers' leaf cgroups), `wrapper.ts` (the shell layers above and the exec
 * plan), `precheck.ts` (the in-process start checks), `instance.ts` (an instance and its launch
 * record) and `sweep.ts` (the complete kill after an exit).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import {
  StartError, StreamUnavailableError, type AdoptedInstance, type AttachOptions, type AttachStream, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec,
  type ContainerStats, type ExecResult, type ExecStream, type ExecStreamOptions, type ExitInfo, type MountSpec, type Sandbox, type SandboxSpec,
} from './types.js';
import {
  Background, confineSubPaths, within, isSafeSegment, safeSegment, errText, tryKill, parseSetup, procStartTime, sweepCgroup, sweepSession, mountSourceKinds,
  containerEnv, startErrorOf,
} from './proc-util.js';
import { Attaches, InstanceStdio, outputEnded } from './attach.js';
import { effectiveStdio, prepareStdio, releasePrepared, stdioEnv, terminalChild, type PreparedStdio } from './stdio.js';
import { signalOfExitCode } from './monitor/signals.js';
import { ExecStreams } from './exec-kill.js';
import { runExecPlan } from './exec-plan.js';
import { startExecStream } from './exec-stream.js';
import { connectTcp } from './port-forward.js';
import { readCgroupStats } from './cgroup-stats.js';
import { InstanceLogs } from './logs.js';
import { DirectMonitor } from './monitor/direct.js';
import { createMonitor, type MonitorChoice } from './monitor/index.js';
import { launchRecordsIn, reattachInstance, writeInstanceRecord } from './monitor/instance-record.js';
import type { Launched, Monitor, MonitorExit } from './monitor/types.js';
import { NO_CAPABILITIES, type HostCapabilities, type HostRuntimeLogger } from './host/capabilities.js';
import { SWEEP_DEADLINE_MS, accountingDirsOf, makeCgroup, reapPodLeaves, removePodLeaves, statsDirsOf } from './host/cgroups.js';
import {
  ID_PREFIX, adoptedInstance, bareId, checkHostDetails, forgetUnclaimed, handleOf, launchRecordOf, type HostDetails, type Instance,
} from './host/instance.js';
import { precheck } from './host/precheck.js';
import { probeHost } from './host/probe.js';
import { sweepExited } from './host/sweep.js';
import { execPlanOf, startArgv } from './host/wrapper.js';

export { NO_CAPABILITIES, type HostCapabilities, type HostRuntimeLogger };

/** Options of {@link HostRuntime}. */
export interface HostRuntimeOptions {
  /** Root of podvisor's data: pod directories live under `<dataDir>/pods/<podUid>/`. */
  dataDir: string;
  logger?: HostRuntimeLogger;
  /**
   * Capabilities to use instead of probing. The constructor defaults to {@link NO_CAPABILITIES}
   * (process groups only, no mounts); {@link HostRuntime.create} probes.
   */
  capabilities?: HostCapabilities;
  /**
   * The containers' monitor (their parent): conmon makes them outlive podvisor. Default: the
   * `direct` monitor (podvisor is the parent).
   */
  monitor?: Monitor;
}

/** Upper bound for `killAll`/`close` waiting for an instance's exit to be processed. */
const KILL_WAIT_MS = 10_000;
/** How long an exit report waits for the instance's last output to reach its log. */
const LOG_DRAIN_MS = 2_000;
/** Mode of pod, volume and log directories: writable by podvisor's user only (see createSandbox). */
const DIR_MODE = 0o755;

/**
 * {@link ContainerRuntime} that runs containers as host processes, each in its own process group
 * (and, where available, its own cgroup and mount namespace). Create it with
 * {@link HostRuntime.create} to probe what the host allows; `new HostRuntime(opts)` without
 * `capabilities` uses the portable baseline.
 */
export class HostRuntime implements ContainerRuntime {
  /** Container IDs are `host://<hex>`. */
  readonly name = 'host';
  /** The containers' parent: conmon (they outlive podvisor) or podvisor itself. */
  readonly monitor: Monitor;
  /** What this instance uses (probed or given); read-only. */
  readonly capabilities: Readonly<HostCapabilities>;
  private readonly dataDir: string;
  private readonly log: HostRuntimeLogger;
  private readonly instances = new Map<string, Instance>();
  /** Log files per `<podUid>/<container>`, oldest first (seeded from disk on first use). */
  private readonly logs: InstanceLogs;
  /** Pods for which a cgroup directory may exist (removed on release/close). */
  private readonly cgroupPods = new Set<string>();
  /** Files of removed instances being deleted. */
  private readonly background = new Background();
  /** Live `kubectl exec` streams, by instance (killed with it). */
  private readonly execs = new ExecStreams();
  /** Live `kubectl attach` clients. */
  private readonly attaches = new Attaches();
  private closed = false;

  /** Synchronous constructor; does no I/O. Prefer {@link HostRuntime.create}. */
  constructor(opts: HostRuntimeOptions) {
    this.dataDir = path.resolve(opts.dataDir);
    this.logs = new InstanceLogs(this.dataDir, DIR_MODE);
    this.log = opts.logger ?? (() => {});
    this.capabilities = opts.capabilities ?? NO_CAPABILITIES;
    this.monitor = opts.monitor ?? new DirectMonitor();
  }

  /** True under conmon: containers keep running when podvisor stops, and are re-adopted. */
  get containersOutlivePodvisor(): boolean {
    return this.monitor.outlivesPodvisor;
  }

  /**
   * Probes the host's capabilities (unless given), picks the monitor (conmon when installed,
   * unless `monitorChoice` says otherwise) and returns a ready runtime.
   */
  static async create(opts: HostRuntimeOptions & { monitorChoice?: MonitorChoice }): Promise<HostRuntime> {
    let capabilities = opts.capabilities ?? await HostRuntime.probe(opts.dataDir, opts.logger);
    let monitor = opts.monitor;
    if (!monitor) {
      // cgroup v1 leaves can be renamed, so spares can join theirs ahead (v2 cannot rename).
      const cg = capabilities.cgroup;
      const spareCgroups = cg?.version === 1 ? { spareCgroupRoot: cg.root, spareAccountingRoots: Object.values(cg.accounting ?? {}) } : {};
      const made = await createMonitor(path.resolve(opts.dataDir), opts.monitorChoice ?? 'auto', spareCgroups);
      monitor = made.monitor;
      if (made.note !== undefined) capabilities = { ...capabilities, notes: [...capabilities.notes, made.note] };
    }
    opts.logger?.('container monitor', { monitor: monitor.kind, containersOutlivePodvisor: monitor.outlivesPodvisor });
    return new HostRuntime({ ...opts, capabilities, monitor });
  }

  /**
   * Finds out once what the host allows (about 10–30 ms; see {@link probeHost}): tools, cgroups,
   * volume mounts. Never throws: what fails is listed in `notes`.
   */
  static probe(dataDir: string, logger?: HostRuntimeLogger): Promise<HostCapabilities> {
    return probeHost(dataDir, DIR_MODE, logger);
  }

  /**
   * Volume mounts need a private mount namespace, which needs root or unprivileged user
   * namespaces: without either, one message per mount naming the volume and the ways out.
   */
  checkMounts(mounts: readonly MountSpec[]): string[] {
    if (mounts.length === 0 || this.capabilities.mounts !== 'none') return [];
    return mounts.map((m) => `volume "${m.volume}" cannot be mounted at ${m.mountPath}: the host runtime needs root or unprivileged user namespaces for volume mounts; run podvisor as root, enable user namespaces (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces>0), or use --runtime sandbox`);
  }

  /**
   * Creates `<dataDir>/pods/<podUid>/` and `volumes/<name>/` for each emptyDir. Idempotent.
   * Directories are 0755 rather than Kubernetes' 0777 emptyDir: on the host runtime every
   * container runs as podvisor's own user, so nobody else needs to write there, and 0777 would
   * let any local user tamper with pod data.
   */
  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.assertOpen();
    const dir = this.podDir(spec.podUid);
    await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
    const emptyDirPaths: Record<string, string> = {};
    for (const name of spec.emptyDirs) {
      const p = path.join(dir, 'volumes', safeSegment(name, 'volume name'));
      await fsp.mkdir(p, { recursive: true, mode: DIR_MODE });
      await fsp.chmod(p, DIR_MODE); // mkdir's mode is filtered by the umask
      emptyDirPaths[name] = p;
    }
    return { id: `host-${spec.podUid.replace(/-/g, '').slice(0, 12)}`, podUid: spec.podUid, dir, emptyDirPaths };
  }

  /**
   * Kills any instance of the pod still running (the agent should have stopped them; a leftover
   * would outlive its pod), removes the pod's cgroup directory and, with `deleteData`, the whole
   * pod directory (volumes and logs). Without `deleteData` everything on disk stays. Idempotent.
   */
  async releaseSandbox(sandbox: Pick<Sandbox, 'podUid'>, opts: { deleteData: boolean }): Promise<void> {
    const podUid = sandbox.podUid;
    await this.background.drain();
    const stragglers = [...this.instances.values()].filter((i) => i.podUid === podUid);
    await Promise.all(stragglers.filter((i) => i.alive).map((i) => {
      this.log('killing container of released sandbox', { podUid, container: i.name, containerID: ID_PREFIX + i.id });
      return this.killAll(i.id);
    }));
    for (const i of stragglers) {
      this.instances.delete(i.id);
      await this.monitor.forget(i.id);
    }
    // What an earlier podvisor process left of the pod (its sandbox was released before a
    // restart, so this object never saw those instances): processes, cgroups, monitor state.
    await this.reapOrphans(podUid);
    await this.removePodCgroup(podUid);
    if (opts.deleteData) {
      await fsp.rm(this.podDir(podUid), { recursive: true, force: true });
      this.logs.forgetPod(podUid);
    }
  }

  /**
   * Starts an instance (see the module comment for the process layout). Resolves once the
   * command is being exec'd; rejects with {@link StartError}: `CreateContainerError` for a
   * missing workingDir, a missing hostPath or a failed mount, `RunContainerError` for a command
   * that is not found or not executable (or a failed spawn). The environment is exactly
   * `spec.env`, plus podvisor's `PATH` when the spec has none (a process without PATH could not
   * find anything; real runtimes take it from the image). Without `workingDir` the process
   * starts in `/`, as in a container whose image sets no WorkingDir. `targetPidOf` (an
   * ephemeral container's target, `kubectl debug --target`) needs nothing here: every process
   * of every container already shares the host's PID namespace, so the target's are visible.
   */
  async startContainer(spec: ContainerStartSpec): Promise<ContainerHandle> {
    this.assertOpen();
    const podUid = safeSegment(spec.sandbox.podUid, 'pod UID');
    const name = safeSegment(spec.name, 'container name');
    if (spec.argv.length === 0) throw new StartError('CreateContainerConfigError', `container "${name}" has no command`);
    spec = { ...spec, mounts: confineSubPaths(name, spec.mounts) };
    const problems = this.checkMounts(spec.mounts);
    if (problems.length > 0) throw new StartError('CreateContainerError', problems.join('; '));
    const hostIsFile = await mountSourceKinds(name, spec.mounts);

    const reservation = await this.monitor.reserve();
    const { id } = reservation;
    const stdio = effectiveStdio(spec.stdio);
    const env = stdioEnv(containerEnv(spec.env), stdio);
    const workingDir = spec.workingDir ?? '/';
    const bundle = this.bundleDir(podUid, id);
    // The cgroup is made (or renamed) while the bundle and the log file are (on the restart
    // path: cgroupfs operations wait for a concurrent join, so that one stays asynchronous).
    if (this.capabilities.cgroup) this.cgroupPods.add(podUid);
    const cgroupMade = makeCgroup(this.capabilities.cgroup, podUid, id, name, reservation.cgroup, this.log);
    let logFile: string;
    try {
      // Only a monitor that outlives podvisor keeps files there (podvisor's own children need
      // none), and a container with stdio its FIFO.
      if (this.monitor.outlivesPodvisor || stdio) fs.mkdirSync(bundle, { recursive: true, mode: 0o700 });
      const opened = await this.logs.open(podUid, name, spec.attempt);
      fs.closeSync(opened.fd); // the monitor writes the log
      logFile = opened.file;
    } catch (err) {
      const made = await cgroupMade;
      await fsp.rm(bundle, { recursive: true, force: true });
      await this.monitor.forget(id);
      if (made !== undefined) for (const d of [made.dir, ...made.accounting]) await fsp.rmdir(d).catch(() => {});
      throw err;
    }
    const made = await cgroupMade;
    const cgroupDir = made?.dir;

    let prepared: PreparedStdio | undefined;
    if (stdio) {
      try {
        prepared = await prepareStdio(name, bundle, stdio);
      } catch (err) {
        await this.discardFailedStart(podUid, name, logFile, cgroupDir, bundle);
        throw err;
      }
    }
    const mountNamespace = spec.mounts.length > 0;
    // Without a mount namespace the container sees podvisor's own filesystem: the working dir
    // and the command are checked here, which spares the wrapper a subshell (a fork) per start.
    if (!mountNamespace) {
      const early = precheck(spec.argv[0] ?? '', env['PATH'] ?? '', workingDir);
      if (early !== undefined) {
        releasePrepared(prepared);
        await this.discardFailedStart(podUid, name, logFile, cgroupDir, bundle);
        throw startErrorOf({ code: early, details: '' }, spec, workingDir);
      }
    }
    const argv = startArgv(this.capabilities, spec, { hostIsFile, env, workingDir, made, prepared });

    let launched: Launched;
    try {
      this.assertOpen(); // close() may have run during the awaits above
      launched = await this.monitor.launch({ id, bundle, argv, env, logPath: logFile });
    } catch (err) {
      releasePrepared(prepared);
      await this.discardFailedStart(podUid, name, logFile, cgroupDir, bundle);
      if (this.closed) throw err;
      throw new StartError('RunContainerError', `failed to start container "${name}": ${errText(err)}`);
    }
    // Registered before any await, so that close() and releaseSandbox() can always find it.
    const inst: Instance = {
      id, podUid, name, pid: launched.pid, env, workingDir, mountNamespace, logFile, bundle, alive: true,
      exited: undefined as unknown as Promise<ExitInfo>,
    };
    if (cgroupDir !== undefined) inst.cgroupDir = cgroupDir;
    if (launched.logged) inst.logged = launched.logged;
    if (prepared) inst.stdio = new InstanceStdio(prepared);
    // The start time is the launch's (the runtime's "started", as a CRI runtime reports it). The
    // launch record is written while the wrapper sets up, before the start is reported.
    const startedAt = Date.now();
    inst.startedAt = startedAt;
    inst.exited = launched.exit.then((e) => this.finish(inst, e));
    this.instances.set(id, inst);
    if (!inst.stdio?.stdio.tty) this.record(inst, startedAt, launched);

    const setup = await launched.setup;
    const failure = setup.ok ? undefined : parseSetup(setup.text);
    if (setup.ok && inst.stdio?.stdio.tty) {
      // The shell under script wrote OK: script (the wrapper, all layers exec) and its child, the command, exist.
      inst.stdio.setTerminalHolder(inst.pid);
      const main = terminalChild(inst.pid);
      if (main !== undefined) Object.assign(inst, main);
      this.record(inst, startedAt, launched);
    }
    if (!setup.ok) {
      await inst.exited;
      this.instances.delete(id);
      await this.discardFailedStart(podUid, name, logFile, undefined, bundle);
      throw startErrorOf(failure ?? { code: 'wrapper', details: setup.text.trim().split('\n').join('; ') || 'the wrapper exited before the command started' }, spec, workingDir);
    }
    // The monitor's leaf that could not be renamed is empty once the wrapper joined its own.
    if (made?.stale !== undefined) await fsp.rmdir(made.stale).catch(() => undefined);
    this.logs.rotate(podUid, name, logFile);
    this.log('container process started', { podUid, container: name, containerID: ID_PREFIX + id, pid: inst.pid, cgroup: cgroupDir ?? null, monitor: this.monitor.kind });
    return handleOf(inst, startedAt);
  }

  /** Writes the launch record a later podvisor process re-attaches with (monitors that outlive it only). */
  private record(inst: Instance, startedAt: number, launched: Launched): void {
    if (!this.monitor.outlivesPodvisor) return;
    const rec = launchRecordOf(inst, this.name, startedAt, this.monitor, launched);
    try {
      writeInstanceRecord(inst.bundle, rec);
    } catch (err) {
      // Not fatal for this process; a later one cannot re-adopt the instance and restarts it.
      this.log('cannot write the launch record', { podUid: inst.podUid, container: inst.name, error: errText(err) });
    }
  }

  /**
   * Signals the main PID only (Kubernetes sends the stop signal to the container's PID 1); with
   * a tty the command under script (see stdio.ts).
   */
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP'): void {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) return;
    if (inst.mainPid === undefined) tryKill(inst.pid, signal);
    else if (inst.mainStartTime === undefined || procStartTime(inst.mainPid) === inst.mainStartTime) tryKill(inst.mainPid, signal);
  }

  /**
   * SIGKILLs the process group and every process in the cgroup, then waits (bounded) until the
   * exit has been processed, so that after it resolves the instance is gone. No-op when the
   * instance is unknown or already exited.
   */
  async killAll(id: string): Promise<void> {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) return;
    tryKill(-inst.pid, 'SIGKILL');
    if (inst.mainPid !== undefined) tryKill(-inst.mainPid, 'SIGKILL'); // a tty's command leads its own group
    if (inst.cgroupDir !== undefined) await this.sweepCgroup(inst.cgroupDir, Date.now() + SWEEP_DEADLINE_MS);
    if (!(await within(inst.exited, KILL_WAIT_MS))) {
      this.log('container did not exit after SIGKILL', { podUid: inst.podUid, container: inst.name, containerID: ID_PREFIX + inst.id, pid: inst.pid });
    }
  }

  /**
   * Runs `command` with the instance's environment and working directory, inside its mount
   * namespace (via `nsenter`) when it has mounts, and in its cgroup when cgroups are available
   * (so that what it leaves behind dies with the container, as in Kubernetes). Without cgroups
   * the exec's process group is killed when it returns, since nothing else would stop leftovers
   * from outliving the container. Combined output is truncated to 10 KiB. At the timeout the
   * exec's process group is SIGKILLed (`timedOut`, exit 137). Never throws: a command that is
   * not found gives 127 (not executable or bad working dir: 126) with the reason in `output`; an
   * instance that is not running gives 126.
   */
  async exec(id: string, command: string[], opts: { timeoutMs: number }): Promise<ExecResult> {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) return { exitCode: 126, output: `container ${id} is not running`, timedOut: false };
    if (command.length === 0) return { exitCode: 126, output: 'exec: empty command', timedOut: false };
    return runExecPlan(execPlanOf(this.capabilities, inst, command), opts.timeoutMs);
  }

  /**
   * `kubectl exec`: `command` in the same context as {@link exec} (see `exec-stream.ts` for the
   * streams, the terminal and the kill). Rejects with {@link StreamUnavailableError} when the
   * instance does not run or a terminal's tools are missing.
   */
  async execStream(id: string, command: string[], opts: ExecStreamOptions): Promise<ExecStream> {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) throw new StreamUnavailableError(`container ${id} is not running`);
    if (command.length === 0) throw new StreamUnavailableError('exec: empty command');
    const s = await startExecStream(execPlanOf(this.capabilities, inst, command), opts);
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
    const inst = this.instances.get(bareId(id));
    return this.attaches.open(id, inst?.alive === true ? {
      id: ID_PREFIX + inst.id, logFile: inst.logFile, ended: outputEnded(inst.exited, inst.logged), ...(inst.stdio ? { stdio: inst.stdio } : {}),
    } : undefined, opts);
  }

  /** `kubectl port-forward`: pods share the host's network, so `127.0.0.1:port`. */
  connect(_sandbox: Sandbox, port: number): Promise<Socket> {
    return connectTcp('127.0.0.1', port);
  }

  /** Forgets the instance (killing it first if it still runs); its log stays as the previous one. */
  async removeContainer(id: string): Promise<void> {
    const inst = this.instances.get(bareId(id));
    if (!inst) return;
    if (inst.alive) await this.killAll(inst.id);
    await within(inst.exited, KILL_WAIT_MS);
    this.instances.delete(inst.id);
    if (!this.monitor.outlivesPodvisor) {
      if (inst.stdio) this.background.run(() => fsp.rm(inst.bundle, { recursive: true, force: true })); // its FIFO
      return;
    }
    // Its files go after the return: a restart waits for nothing of a dead instance.
    this.background.run(async () => {
      await this.monitor.forget(inst.id);
      await fsp.rm(inst.bundle, { recursive: true, force: true });
    });
  }

  /**
   * The newest (or, with `previous`, the second newest) existing log file of a container:
   * `<dataDir>/pods/<podUid>/logs/<container>/<attempt>.log`. Order is the start order seen by
   * this runtime, seeded from file modification times for logs written before it existed.
   */
  logPath(podUid: string, container: string, previous: boolean): string | undefined {
    return this.logs.path(podUid, container, previous);
  }

  /**
   * Re-attaches to an instance an earlier podvisor process started (see {@link AdoptedInstance}).
   * Running: registered as if started here (same ID, PID, start time). Exited while podvisor was
   * down: what is left of it is cleaned up as after any exit, and the real exit is returned.
   * Unknown (no monitor, no record, monitor gone): the caller's `reapOrphans` kills leftovers.
   */
  async adoptContainer(podUid: string, containerId: string): Promise<AdoptedInstance> {
    const id = bareId(containerId);
    if (!isSafeSegment(podUid) || !/^[0-9a-f]{32}$/.test(id)) return { state: 'unknown' };
    const known = this.instances.get(id);
    if (known) return known.alive ? { state: 'running', handle: handleOf(known, Date.now()) } : { state: 'unknown' };
    const bundle = this.bundleDir(podUid, id);
    const attached = await reattachInstance<HostDetails>(this.monitor, id, bundle, this.name, checkHostDetails);
    if ('error' in attached) {
      this.log('cannot re-adopt container', { podUid, containerID: ID_PREFIX + id, reason: attached.error });
      return { state: 'unknown' };
    }
    const { record: rec, found } = attached;
    if (found.state === 'unknown') {
      this.log('cannot re-adopt container', { podUid, container: rec.container, containerID: ID_PREFIX + id, reason: found.why });
      // Unsupervised, it must not run on beside its replacement (with cgroups reapOrphans finds it too).
      if (rec.monitor.pidStartTime !== undefined && procStartTime(rec.monitor.pid) === rec.monitor.pidStartTime) {
        tryKill(-rec.monitor.pid, 'SIGKILL');
        await sweepSession(rec.monitor.pid, Date.now() + SWEEP_DEADLINE_MS);
      }
      return { state: 'unknown' };
    }
    const inst = adoptedInstance(id, podUid, bundle, rec);
    if (inst.cgroupDir !== undefined) this.cgroupPods.add(podUid);
    if (found.state === 'exited') {
      const exit = await this.finish(inst, found.exit);
      // Known, so that removeContainer cleans up its state directory and exit record.
      inst.exited = Promise.resolve(exit);
      this.instances.set(id, inst);
      this.log('container exited while podvisor was down', { podUid, container: rec.container, containerID: ID_PREFIX + id, exitCode: exit.exitCode });
      return { state: 'exited', startedAt: rec.startedAt, exit };
    }
    inst.exited = found.exit.then((e) => this.finish(inst, e));
    this.instances.set(id, inst);
    this.log('container re-adopted', { podUid, container: rec.container, containerID: ID_PREFIX + id, pid: inst.pid });
    return { state: 'running', handle: handleOf(inst, rec.startedAt) };
  }

  launchedInstances(podUid: string): Promise<{ id: string; container: string; startedAt: number }[]> {
    if (!isSafeSegment(podUid) || !this.monitor.outlivesPodvisor) return Promise.resolve([]);
    const records = launchRecordsIn(path.join(this.podDir(podUid), 'containers'), this.name);
    return Promise.resolve(records.map((r) => ({ ...r, id: ID_PREFIX + r.id })));
  }

  /**
   * Kills every live instance (group and cgroup), waits for their exits (bounded) and removes
   * the cgroup directories. Further starts are refused. Idempotent. With `keepContainers` under
   * a monitor that outlives podvisor, the instances are left running for the next process.
   */
  async close(opts: { keepContainers?: boolean } = {}): Promise<void> {
    this.closed = true;
    await this.execs.closeAll(); // podvisor's children: they end with it, whatever the containers do
    this.attaches.detachAll();
    // The keepers of stdinOnce containers go with this process (see stdio.ts).
    for (const i of this.instances.values()) i.stdio?.end();
    if (opts.keepContainers === true && this.monitor.outlivesPodvisor) {
      // Left to their monitors: this process forgets them (a later close kills nothing).
      await this.background.drain();
      await this.monitor.close();
      this.instances.clear();
      this.cgroupPods.clear();
      return;
    }
    await Promise.all([...this.instances.values()].filter((i) => i.alive).map((i) => this.killAll(i.id)));
    await Promise.all([...this.instances.values()].map((i) => within(i.exited, KILL_WAIT_MS)));
    // podvisor stopped these itself: their exits are no pod event (spec C4). Without their
    // records a later process finds them unknown (ContainerStatusUnknown, started again).
    await Promise.all([...this.instances.values()].map(async (i) => {
      await this.monitor.forget(i.id);
      await fsp.rm(i.bundle, { recursive: true, force: true }).catch(() => {});
    }));
    await this.background.drain();
    await this.monitor.close();
    for (const podUid of [...this.cgroupPods]) await this.removePodCgroup(podUid);
  }

  // ---------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('host runtime is closed');
  }

  private podDir(podUid: string): string {
    return path.join(this.dataDir, 'pods', safeSegment(podUid, 'pod UID'));
  }

  /**
   * The main process exited: kill what is left of the container (group, then cgroup until
   * empty), remove the cgroup, and only then report the exit. Never rejects.
   */
  private async finish(inst: Instance, e: MonitorExit): Promise<ExitInfo> {
    // An exit file's time has the file system's granularity (a few ms): never before the start.
    const finishedAt = Math.max(e.finishedAt, inst.startedAt ?? -Infinity);
    inst.finishedAt = finishedAt;
    inst.alive = false;
    const info: ExitInfo = { exitCode: e.exitCode, oomKilled: false, finishedAt };
    // With a tty, script exits with 128 + n when signal n killed the command (see stdio.ts).
    const signal = e.signal ?? (inst.stdio?.stdio.tty ? signalOfExitCode(e.exitCode) : undefined);
    if (signal !== undefined) info.signal = signal;
    this.execs.killInstance(inst.id);
    inst.stdio?.end();
    await sweepExited(inst, this.capabilities.cgroup, this.background, this.log);
    // Its last output is in the log before the exit is reported (`logs --previous` right after a
    // restart shows all of it, as conmon's log does): the output pipes end once nothing of the
    // instance runs any more, which the sweep made sure of.
    if (inst.logged !== undefined && !(await within(inst.logged, LOG_DRAIN_MS))) {
      this.log('the log of an exited container was not complete in time', { podUid: inst.podUid, container: inst.name });
    }
    return info;
  }

  /**
   * Kills what an earlier podvisor process left running for a pod (after a crash: its
   * containers' cgroups are still there, nobody reaps their exits) and removes those cgroups.
   * Returns the number of leftover container cgroups found. Without cgroups nothing can be
   * found reliably and 0 is returned.
   */
  async reapOrphans(podUid: string, adopted: ReadonlySet<string> = new Set()): Promise<number> {
    if (!isSafeSegment(podUid)) return 0;
    const keep = new Set([...adopted].map(bareId));
    const cg = this.capabilities.cgroup;
    let killed: string[] = [];
    if (cg) {
      killed = (await reapPodLeaves(cg, podUid, (id) => this.instances.has(id) || keep.has(id))).map((id) => ID_PREFIX + id);
      this.cgroupPods.add(podUid);
    }
    const n = killed.length;
    const containersDir = path.join(this.podDir(podUid), 'containers');
    const forgotten = await forgetUnclaimed(this.monitor, this.name, containersDir, (id) => this.instances.has(id) || keep.has(id), KILL_WAIT_MS);
    if (n > 0 || forgotten > 0) this.log('reaped leftover containers of an earlier podvisor process', { podUid, containers: n, killed, records: forgotten });
    return n;
  }

  /** SIGKILLs everything listed in the cgroup until it is empty; false at the deadline. */
  private sweepCgroup(dir: string, deadline: number): Promise<boolean> {
    return sweepCgroup(dir, this.capabilities.cgroup?.version ?? 1, deadline);
  }

  /**
   * The instance's CPU time and memory working set from its cgroup (see the module comment);
   * undefined when it is not running or has no cgroup with both counters.
   */
  async stats(id: string): Promise<ContainerStats | undefined> {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive || inst.cgroupDir === undefined) return undefined;
    const dirs = statsDirsOf(this.capabilities.cgroup, inst.cgroupDir);
    if (!dirs) return undefined;
    const stats = await readCgroupStats(dirs);
    // The instance may have ended while its counters were read: no stats of a dead container.
    return inst.alive ? stats : undefined;
  }

  /** Removes what is left of a pod's leaf cgroups (empty ones; each instance removes its own). */
  private async removePodCgroup(podUid: string): Promise<void> {
    const cg = this.capabilities.cgroup;
    if (!cg || !this.cgroupPods.has(podUid)) return;
    const failed = await removePodLeaves(cg, podUid);
    if (failed === undefined) this.cgroupPods.delete(podUid);
    else this.log('cannot remove pod cgroup', { podUid, cgroup: cg.root, error: errText(failed) });
  }

  private async discardFailedStart(podUid: string, name: string, logFile: string, cgroupDir: string | undefined, bundle: string): Promise<void> {
    await this.logs.discard(podUid, name, logFile);
    // The monitor first: a prepared process it ends may still be in the leaf.
    await this.monitor.forget(path.basename(bundle));
    if (cgroupDir !== undefined) {
      for (const d of [cgroupDir, ...accountingDirsOf(this.capabilities.cgroup, cgroupDir)]) await fsp.rmdir(d).catch(() => {});
    }
    await fsp.rm(bundle, { recursive: true, force: true });
  }

  /** `<dataDir>/pods/<podUid>/containers/<id>`: an instance's state directory. */
  private bundleDir(podUid: string, id: string): string {
    return path.join(this.podDir(podUid), 'containers', id);
  }

}
