/**
 * The `sandbox` runtime adapter (`--runtime sandbox`, Linux, root): containers run from the host
 * filesystem as on the `host` runtime, but each pod gets a Kubernetes-like sandbox made from
 * plain Linux tools (see the platform notes, section 1):
 *
 * - a network namespace `pv-<hash of the pod UID>` wired by the real CNI plugins (`bridge` with
 *   `host-local` IPAM on a private subnet, and `loopback`): the pod IP. No NAT, no default route,
 *   `net.ipv4.ip_forward` untouched (the bridge plugin runs with `isGateway: false`, because with
 *   `true` it turns forwarding on; podvisor puts the gateway address on the bridge itself so the
 *   host, e.g. HTTP probes, reaches pods directly);
 * - a holder process (`catatonit -P`) that keeps the pod's IPC and UTS namespaces (hostname = pod
 *   name) and, with `shareProcessNamespace`, the pod's PID namespace (it is its init);
 * - `/etc/hosts` and `/etc/hostname` files bound over the host's in each container's mount
 *   namespace, emptyDir directories under the pod directory;
 * - a cgroup per pod (`pids.max`) with a leaf per container (memory and CPU limits, OOM
 *   detection, and the complete kill of every process of a container).
 *
 * How a container is started (`P` is the process Node spawns, `C` the command):
 *
 * ```
 * /bin/sh -c '<join the leaf cgroups>; exec nsenter -t PAUSE -n -i -u [-p] -- …' sh   (P)
 *   own PID ns (default):   busybox unshare --mount --propagation private --pid --fork --mount-proc -- catatonit --
 *   own PID ns, no init:    busybox unshare --mount --propagation private --pid --fork --mount-proc --
 *   pod PID ns (shared):    (nsenter -p forks) unshare --mount --propagation private --
 *   /bin/sh -c '<bind /etc/hosts, /etc/hostname, volumes>; cd; <check command>; echo OK >&3; exec "$@"'  (C)
 * ```
 *
 * The forking parents (busybox unshare, nsenter -p) pass the command's exit code through and
 * re-raise the signal that killed it, so the exit status Node sees for P is the command's own.
 * Setup failures are reported on fd 3 as on the host runtime; success is an explicit `OK` line.
 *
 * PID 1: by default each container's own PID namespace has an init (catatonit, else tini) as
 * PID 1 that reaps orphans and forwards signals to the command (PID 2), like `docker run
 * --init` and images that ship tini: a command without a SIGTERM handler stops on SIGTERM with
 * 143, as on the host runtime. The init exits with 128 + n when signal n killed the command;
 * the runtime reports that signal. With `podvisor.io/container-init: "false"` the command is
 * PID 1 itself, exactly as in a Kubernetes container whose image has no init: a signal it has no
 * handler for is ignored (SIGTERM without a trap, even `kill -KILL $$` from inside), and only
 * the agent's SIGKILL after the grace period ends it. PIDs seen inside a container are
 * namespace PIDs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  StartError, type AdoptedInstance, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type ExecResult, type ExitInfo,
  type MountSpec, type Sandbox, type SandboxSpec,
} from './types.js';
import {
  DEFAULT_PATH, SH, childrenOf, destroyStreams, errText, exitCodeOf, finalScript, isSafeSegment,
  mountScript, parseSetup, readSetup, removeCgroupDir, runExec, safeSegment, setupMessage,
  shq, tryKill, watchChild, within, type ChildExit, type SetupFailure,
} from './proc-util.js';
import { InstanceLogs } from './logs.js';
import { PAUSE_LEAF, SandboxCgroups, probeCgroups } from './sandbox/cgroups.js';
import { holderHealthy, podEtcFiles, startHolder, stopPause } from './sandbox/holder.js';
import { PodNetwork, parseSubnet } from './sandbox/network.js';
import { netnsName, readState, removeState, sandboxOf, writeState, type PidMode, type SandboxState } from './sandbox/state.js';
import { probeTools, sandboxAvailability, type Tools } from './sandbox/tools.js';

export { sandboxAvailability } from './sandbox/tools.js';

/** Structured log sink: a constant message plus fields (`podUid`, `container`, …). */
export type SandboxRuntimeLogger = (msg: string, fields?: object) => void;

/** Options of {@link SandboxRuntime.create}. */
export interface SandboxRuntimeOptions {
  /** Root of podvisor's data: pod directories live under `<dataDir>/pods/<podUid>/`, IP leases are node-wide (host-local's `/var/lib/cni/networks`). */
  dataDir: string;
  /** Private IPv4 subnet of the pod network (default `10.88.0.0/24`); `.1` goes to the bridge. */
  subnet?: string;
  /** Linux bridge the pods' veths attach to (default `pv-br0`; at most 15 characters). */
  bridge?: string;
  /** `pids.max` of each pod's cgroup, unless the sandbox spec sets one (default 4096). */
  pidsLimit?: number;
  logger?: SandboxRuntimeLogger;
  /**
   * Default of {@link SandboxSpec.containerInit}: an init (catatonit, else tini) is PID 1 of each
   * container's own PID namespace and the command PID 2 (default true).
   */
  containerInit?: boolean;
  /**
   * The pause process and container init: `catatonit` (default when installed, else `tini`).
   * Setting it requires that tool.
   */
  init?: 'catatonit' | 'tini';
}

interface Instance {
  id: string;
  podUid: string;
  name: string;
  /** The process Node spawned (the wrapper: nsenter, then busybox unshare or unshare). */
  wrapperPid: number;
  /** The command's host PID: what `signal` and `exec` target. */
  pid: number;
  /** An init is PID 1 of the container's namespace and the command's parent. */
  init: boolean;
  pidMode: PidMode;
  env: Record<string, string>;
  workingDir: string;
  /** Leaf cgroup directories, one per hierarchy. */
  cgroupDirs: string[];
  /** The leaf used to list (and kill) every process: v1 `pids`, or the v2 leaf. */
  procsDir: string;
  /** The leaf with the memory controller (OOM counter). */
  memoryDir?: string;
  logFile: string;
  alive: boolean;
  finishedAt?: number;
  exited: Promise<ExitInfo>;
}

const ID_PREFIX = 'sandbox://';
const SWEEP_DEADLINE_MS = 5_000;
const KILL_WAIT_MS = 10_000;
const DIR_MODE = 0o755;

/**
 * {@link ContainerRuntime} with Kubernetes-like pod sandboxes (see the module comment). Create
 * it with {@link SandboxRuntime.create}, which refuses (with the fix in the message) when the
 * host cannot run it.
 */
export class SandboxRuntime implements ContainerRuntime {
  /** Container IDs are `sandbox://<hex>`. */
  readonly name = 'sandbox';
  /** Containers are children of this process until the monitor lands: they do not outlive it. */
  readonly containersOutlivePodvisor: boolean = false;
  private readonly dataDir: string;
  private readonly log: SandboxRuntimeLogger;
  private readonly tools: Tools;
  private readonly cgroups: SandboxCgroups;
  private readonly network: PodNetwork;
  private readonly pidsLimit: number;
  private readonly containerInit: boolean;
  private readonly instances = new Map<string, Instance>();
  /** Sandboxes this object created or re-attached, by pod UID (released by close()). */
  private readonly sandboxes = new Map<string, SandboxState>();
  private readonly logs: InstanceLogs;
  /** Per-pod serialization of sandbox create/release. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;

  private constructor(opts: SandboxRuntimeOptions, tools: Tools, cgroups: SandboxCgroups) {
    this.dataDir = path.resolve(opts.dataDir);
    this.logs = new InstanceLogs(this.dataDir, DIR_MODE);
    this.log = opts.logger ?? (() => {});
    this.tools = tools;
    this.cgroups = cgroups;
    this.network = new PodNetwork(tools, parseSubnet(opts.subnet ?? '10.88.0.0/24'), opts.bridge ?? 'pv-br0', this.log);
    this.pidsLimit = opts.pidsLimit ?? 4096;
    this.containerInit = opts.containerInit !== false;
  }

  /**
   * Checks {@link sandboxAvailability} and returns a ready runtime; throws an Error naming the
   * fix (e.g. `apt-get install containernetworking-plugins`) when the host cannot run sandboxes.
   * Creates nothing on the host yet: the bridge appears with the first sandbox.
   */
  static async create(opts: SandboxRuntimeOptions): Promise<SandboxRuntime> {
    const problem = await sandboxAvailability();
    if (problem !== undefined) throw new Error(problem);
    const { tools, problems } = probeTools(opts.init);
    const { layout } = probeCgroups();
    if (!tools || !layout) throw new Error(problems.join('; ') || 'the sandbox runtime is unavailable');
    const rt = new SandboxRuntime(opts, tools, new SandboxCgroups(layout));
    await fsp.mkdir(rt.dataDir, { recursive: true, mode: DIR_MODE });
    return rt;
  }

  /** As root every volume can be bind-mounted: always ok. */
  checkMounts(_mounts: readonly MountSpec[]): string[] {
    return [];
  }

  /**
   * Creates the pod's sandbox (network namespace with an IP, holder process, hostname, hosts
   * files, cgroup, emptyDir directories), or re-attaches the existing one of this pod UID when
   * it is still healthy (same IP: this is how a pod keeps its IP across a podvisor crash).
   * Idempotent. A sandbox that is broken (holder gone, netns missing) is torn down and made
   * again. Throws an Error saying which step failed; nothing is left behind then.
   */
  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.assertOpen();
    const podUid = safeSegment(spec.podUid, 'pod UID');
    return this.withLock(podUid, async () => {
      const dir = this.podDir(podUid);
      await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
      for (const name of spec.emptyDirs) {
        const p = path.join(dir, 'volumes', safeSegment(name, 'volume name'));
        await fsp.mkdir(p, { recursive: true, mode: DIR_MODE });
      }
      const pidMode: PidMode = spec.shareProcessNamespace === true ? 'pod' : 'container';
      const existing = this.sandboxes.get(podUid) ?? await readState(this.podDir(podUid), podUid);
      if (existing) {
        if (existing.pidMode === pidMode && holderHealthy(existing)) {
          existing.emptyDirs = [...new Set([...existing.emptyDirs, ...spec.emptyDirs])];
          existing.containerInit = spec.containerInit ?? this.containerInit;
          this.sandboxes.set(podUid, existing);
          await writeState(this.podDir(podUid), existing);
          this.log('re-attached existing pod sandbox', { podUid, netns: existing.netns, ip: existing.ip ?? null });
          return sandboxOf(existing, dir);
        }
        this.log('tearing down a broken or outdated pod sandbox', { podUid, netns: existing.netns });
        await this.teardown(podUid, existing);
      }
      const t0 = Date.now();
      const state: SandboxState = {
        version: 1, podUid, podName: spec.podName, namespace: spec.namespace, netns: netnsName(podUid), pidMode, emptyDirs: [...spec.emptyDirs],
        containerInit: spec.containerInit ?? this.containerInit,
      };
      this.sandboxes.set(podUid, state);
      await writeState(this.podDir(podUid), state); // intent first: a crash from here on leaves something reapAllSandboxes finds
      try {
        await this.build(state, spec.pidsLimit ?? this.pidsLimit);
      } catch (err) {
        await this.teardown(podUid, state).catch(() => {});
        this.sandboxes.delete(podUid);
        throw new Error(`cannot create the sandbox of pod ${spec.namespace}/${spec.podName}: ${errText(err)}`, { cause: err });
      }
      await writeState(this.podDir(podUid), state);
      this.log('pod sandbox created', { podUid, netns: state.netns, ip: state.ip ?? null, pidMode, ms: Date.now() - t0 });
      return sandboxOf(state, dir);
    });
  }

  /**
   * Kills any instance of the pod still running, kills the holder, frees the IP (CNI DEL: lease
   * and veth), deletes the network namespace and the pod's cgroups; with `deleteData` also the
   * pod directory (volumes and logs). Idempotent, and works from the pod UID alone (a sandbox
   * this object never saw).
   */
  async releaseSandbox(sandbox: Sandbox, opts: { deleteData: boolean }): Promise<void> {
    const podUid = safeSegment(sandbox.podUid, 'pod UID');
    await this.withLock(podUid, async () => {
      const stragglers = [...this.instances.values()].filter((i) => i.podUid === podUid);
      await Promise.all(stragglers.filter((i) => i.alive).map((i) => {
        this.log('killing container of released sandbox', { podUid, container: i.name, containerID: ID_PREFIX + i.id });
        return this.killAll(i.id);
      }));
      for (const i of stragglers) this.instances.delete(i.id);
      const state = this.sandboxes.get(podUid) ?? await readState(this.podDir(podUid), podUid);
      await this.teardown(podUid, state);
      this.sandboxes.delete(podUid);
      if (opts.deleteData) {
        await fsp.rm(this.podDir(podUid), { recursive: true, force: true });
        this.logs.forgetPod(podUid);
      }
    });
  }

  /**
   * Starts an instance in the pod's sandbox (see the module comment). Resolves once the command
   * is being exec'd; rejects with {@link StartError} as the host runtime does
   * (`CreateContainerError`: workingDir, volume; `RunContainerError`: command not found or not
   * executable, sandbox not running). Memory and CPU limits from `resources` go on the
   * container's leaf cgroup.
   */
  async startContainer(spec: ContainerStartSpec): Promise<ContainerHandle> {
    this.assertOpen();
    const podUid = safeSegment(spec.sandbox.podUid, 'pod UID');
    const name = safeSegment(spec.name, 'container name');
    if (spec.argv.length === 0) throw new StartError('CreateContainerConfigError', `container "${name}" has no command`);
    const sb = this.sandboxes.get(podUid);
    if (!sb || sb.pausePid === undefined || !holderHealthy(sb)) {
      throw new StartError('RunContainerError', `failed to start container "${name}": the pod sandbox is not running`);
    }
    const hostIsFile: boolean[] = [];
    for (const m of spec.mounts) {
      try {
        hostIsFile.push(!(await fsp.stat(m.hostPath)).isDirectory());
      } catch (err) {
        throw new StartError('CreateContainerError', `failed to create container "${name}": volume "${m.volume}": host path ${m.hostPath} is not accessible: ${errText(err)}`);
      }
    }
    const id = randomBytes(16).toString('hex');
    const env = { ...spec.env };
    if (env.PATH === undefined) env.PATH = process.env.PATH ?? DEFAULT_PATH;
    const workingDir = spec.workingDir ?? '/';
    let leaf: { dirs: string[]; procs: string; memory?: string };
    try {
      leaf = await this.cgroups.makeLeaf(podUid, id, spec.resources);
    } catch (err) {
      throw new StartError('CreateContainerError', `failed to create container "${name}": cannot create its cgroup: ${errText(err)}`);
    }
    let log: { file: string; fd: number };
    try {
      log = await this.logs.open(podUid, name, spec.attempt);
    } catch (err) {
      await this.cgroups.removeLeaf(leaf.dirs);
      throw err;
    }

    const t = this.tools;
    const pidMode = sb.pidMode;
    const withInit = pidMode === 'container' && sb.containerInit !== false;
    const join = leaf.dirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join(' && ');
    const chain = pidMode === 'container'
      ? [t.busybox, 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--mount-proc', '--', ...(withInit ? [t.pause.path, '--'] : [])]
      : [t.unshare, '--mount', '--propagation', 'private', '--'];
    const nsFlags = pidMode === 'pod' ? '-n -i -u -p' : '-n -i -u';
    const outer = `{ ${join}; } 2>&3 || { echo 'E cgroup' >&3; exit 126; }
s=$1; shift
exec ${shq(t.nsenter)} -t ${sb.pausePid} ${nsFlags} -- ${chain.map(shq).join(' ')} ${SH} -c "$s" sh "$@" 2>&3
`;
    const dir = this.podDir(podUid);
    let inner = '';
    for (const [src, dst] of podEtcFiles(dir)) {
      if (fs.existsSync(dst)) inner += `${shq(t.mount)} --bind -- ${shq(src)} ${dst} || { echo 'E etc' >&3; exit 126; }\n`;
    }
    if (pidMode === 'pod') inner += `${shq(t.mount)} -t proc proc /proc || { echo 'E proc' >&3; exit 126; }\n`;
    inner += mountScript(spec.mounts, hostIsFile, t.mkdir, t.mount);
    inner += finalScript(workingDir, env, true);

    let child: ChildProcess;
    try {
      this.assertOpen();
      child = spawn(SH, ['-c', outer, 'sh', inner, ...spec.argv], { detached: true, env, cwd: '/', stdio: ['ignore', log.fd, log.fd, 'pipe'] });
    } catch (err) {
      await this.discardFailedStart(podUid, name, log.file, leaf.dirs);
      if (this.closed) throw err;
      throw new StartError('RunContainerError', `failed to start container "${name}": ${errText(err)}`);
    } finally {
      fs.closeSync(log.fd);
    }
    const outcome = watchChild(child);
    const wrapperPid = child.pid;
    if (wrapperPid === undefined) {
      const spawnErr = await outcome.spawned;
      await outcome.exit;
      destroyStreams(child);
      await this.discardFailedStart(podUid, name, log.file, leaf.dirs);
      throw new StartError('RunContainerError', `failed to start container "${name}": spawn ${SH}: ${errText(spawnErr)}`);
    }
    const inst: Instance = {
      id, podUid, name, wrapperPid, pid: wrapperPid, pidMode, init: withInit, env, workingDir, cgroupDirs: leaf.dirs, procsDir: leaf.procs,
      logFile: log.file, alive: true, exited: undefined as unknown as Promise<ExitInfo>,
    };
    if (leaf.memory !== undefined) inst.memoryDir = leaf.memory;
    inst.exited = outcome.exit.then((e) => this.finish(inst, e));
    this.instances.set(id, inst);

    const setup = await readSetup(child.stdio[3]);
    if (!setup.ok) {
      await inst.exited;
      this.instances.delete(id);
      await this.discardFailedStart(podUid, name, log.file, []);
      const failure: SetupFailure = parseSetup(setup.text) ?? { code: 'sandbox', details: setup.text.trim().split('\n').join('; ') || 'the wrapper exited before the command started' };
      throw this.startError(failure, spec, workingDir);
    }
    inst.pid = childrenOf(wrapperPid)[0] ?? wrapperPid;
    // The command wrote the setup line itself, so it exists (unless it already ended).
    if (withInit && inst.pid !== wrapperPid) inst.pid = childrenOf(inst.pid)[0] ?? inst.pid;
    const startedAt = Math.min(Date.now(), inst.finishedAt ?? Infinity);
    this.logs.rotate(podUid, name, log.file);
    this.log('container process started', { podUid, container: name, containerID: ID_PREFIX + id, pid: inst.pid, pidMode });
    return { id: ID_PREFIX + id, pid: inst.pid, startedAt, exited: inst.exited };
  }

  /**
   * Signals the command (the container's main process) only. Without an init
   * (`podvisor.io/container-init: "false"`) the command is PID 1 of its namespace, so the kernel
   * drops signals it has no handler for, except SIGKILL (Kubernetes behaves the same: the agent
   * escalates to SIGKILL after the grace period).
   */
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP'): void {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) return;
    tryKill(inst.pid, signal);
  }

  /**
   * SIGKILLs the wrapper's process group and every process in the container's cgroup (also
   * ones that called setsid), then waits (bounded) until the exit has been processed.
   */
  async killAll(id: string): Promise<void> {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) return;
    tryKill(-inst.wrapperPid, 'SIGKILL');
    await this.cgroups.sweep(inst.procsDir, Date.now() + SWEEP_DEADLINE_MS);
    if (!(await within(inst.exited, KILL_WAIT_MS))) {
      this.log('container did not exit after SIGKILL', { podUid: inst.podUid, container: inst.name, containerID: ID_PREFIX + inst.id, pid: inst.pid });
    }
  }

  /**
   * Runs `command` in the container: its network, IPC, UTS, PID and mount namespaces (entered
   * through the command's PID with `nsenter`), its cgroup (what it leaves behind dies with the
   * container), environment and working directory. Output, timeout and error codes as on the
   * host runtime; never throws.
   */
  async exec(id: string, command: string[], opts: { timeoutMs: number }): Promise<ExecResult> {
    const inst = this.instances.get(bareId(id));
    if (!inst?.alive) return { exitCode: 126, output: `container ${id} is not running`, timedOut: false };
    if (command.length === 0) return { exitCode: 126, output: 'exec: empty command', timedOut: false };
    const ns = ['-n', '-i', '-u', '-p', '-m'];
    const join = inst.cgroupDirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join('; ');
    const argv = [
      SH, '-c', `{ ${join}; } 2>/dev/null; exec "$@"`, 'sh',
      this.tools.nsenter, '-t', String(inst.pid), ...ns, '--', SH, '-c', finalScript(inst.workingDir, inst.env, false), 'sh', ...command,
    ];
    return runExec(argv, inst.env, { timeoutMs: opts.timeoutMs, cmd: command[0] ?? '', workingDir: inst.workingDir }, { watch: watchChild, parseSetup });
  }

  /** Forgets the instance (killing it first if it still runs); its log stays as the previous one. */
  async removeContainer(id: string): Promise<void> {
    const inst = this.instances.get(bareId(id));
    if (!inst) return;
    if (inst.alive) await this.killAll(inst.id);
    await within(inst.exited, KILL_WAIT_MS);
    this.instances.delete(inst.id);
  }

  /** Log files as on the host runtime: `<dataDir>/pods/<podUid>/logs/<container>/<attempt>.log`. */
  logPath(podUid: string, container: string, previous: boolean): string | undefined {
    return this.logs.path(podUid, container, previous);
  }

  /**
   * Kills every live instance, then releases every sandbox this object created or re-attached
   * (without deleting data): nothing of it stays on the host. Further starts are refused.
   * Idempotent. (Only a crash leaves sandboxes behind, for {@link reapAllSandboxes}.)
   * With `keepSandboxes` the sandboxes stay, exactly as a crash leaves them (holder, netns, IP
   * lease, pod cgroups, state file), and the next process re-attaches them with the same IP;
   * sandbox operations in flight are waited for, so none is left half done.
   */
  /** Without monitors nothing can be re-adopted: every earlier instance is `unknown`. */
  adoptContainer(): Promise<AdoptedInstance> {
    return Promise.resolve({ state: 'unknown' });
  }

  async close(opts: { keepSandboxes?: boolean } = {}): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.values()].filter((i) => i.alive).map((i) => this.killAll(i.id)));
    await Promise.all([...this.instances.values()].map((i) => within(i.exited, KILL_WAIT_MS)));
    if (opts.keepSandboxes) {
      await Promise.all([...this.locks.values()]);
      this.log('pod sandboxes kept for the next start', { sandboxes: this.sandboxes.size });
      return;
    }
    for (const podUid of [...this.sandboxes.keys()]) {
      await this.withLock(podUid, async () => {
        await this.teardown(podUid, this.sandboxes.get(podUid));
        this.sandboxes.delete(podUid);
      }).catch((err: unknown) => this.log('cannot release sandbox on close', { podUid, error: errText(err) }));
    }
  }

  /**
   * After a podvisor crash: kills the processes of containers an earlier podvisor process left
   * in this pod's cgroups (not the sandbox's holder) and removes their cgroups. Returns the
   * number of leftover containers found.
   */
  async reapOrphans(podUid: string): Promise<number> {
    if (!isSafeSegment(podUid)) return 0;
    const leaves = (await this.cgroups.leaves(podUid)).filter((l) => l !== PAUSE_LEAF);
    let n = 0;
    for (const leaf of leaves) {
      if (this.instances.has(leaf)) continue;
      n++;
      await this.cgroups.sweep(this.cgroups.procsDir(podUid, leaf), Date.now() + SWEEP_DEADLINE_MS);
      await this.cgroups.removeLeaf(this.cgroups.leafDirs(podUid, leaf));
    }
    if (n > 0) this.log('reaped leftover containers of an earlier podvisor process', { podUid, containers: n });
    return n;
  }

  /**
   * After a podvisor crash: looks at every sandbox recorded under this runtime's `dataDir`.
   * Those whose pod UID is in `keepUids` and which are still healthy are re-attached and
   * returned (same netns, holder and IP); every other one is torn down (holder, netns, IP
   * lease, cgroups and leftover container processes; the pod directory stays). Sandboxes of
   * other data directories are not touched.
   */
  async reapAllSandboxes(keepUids: Set<string>): Promise<Map<string, Sandbox>> {
    this.assertOpen();
    const kept = new Map<string, Sandbox>();
    let uids: string[];
    try {
      uids = (await fsp.readdir(path.join(this.dataDir, 'pods'))).filter(isSafeSegment);
    } catch {
      uids = [];
    }
    for (const podUid of uids) {
      await this.withLock(podUid, async () => {
        const state = this.sandboxes.get(podUid) ?? await readState(this.podDir(podUid), podUid);
        if (!state) return;
        if (keepUids.has(podUid) && holderHealthy(state)) {
          this.sandboxes.set(podUid, state);
          kept.set(podUid, sandboxOf(state, this.podDir(podUid)));
          return;
        }
        for (const i of [...this.instances.values()].filter((x) => x.podUid === podUid)) {
          if (i.alive) await this.killAll(i.id);
          this.instances.delete(i.id);
        }
        this.log('tearing down leftover pod sandbox', { podUid, netns: state.netns, kept: keepUids.has(podUid) });
        await this.teardown(podUid, state);
        this.sandboxes.delete(podUid);
      });
    }
    return kept;
  }

  // ---- sandbox internals -------------------------------------------------------------------

  private async build(state: SandboxState, pidsLimit: number): Promise<void> {
    const pauseDirs = await this.cgroups.makePod(state.podUid, pidsLimit);
    Object.assign(state, await this.network.attach(state.netns));
    await startHolder(this.tools, state, pauseDirs, this.podDir(state.podUid));
  }

  /**
   * Removes everything of a pod's sandbox that may exist (also half-built ones): processes in
   * its cgroups (holder included), the IP lease and veth (CNI DEL, idempotent), the netns, the
   * cgroups, the state file. Never throws for what is already gone.
   */
  private async teardown(podUid: string, state: SandboxState | undefined): Promise<void> {
    const netns = state?.netns ?? netnsName(podUid);
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    // The pause process first: with a pod PID namespace it takes every process in it along.
    await stopPause(state);
    const leaves = await this.cgroups.leaves(podUid);
    await Promise.all(leaves.map((l) => this.cgroups.sweep(this.cgroups.procsDir(podUid, l), deadline)));
    const problems = await this.network.detach(netns);
    problems.push(...await this.cgroups.removePod(podUid, leaves, deadline));
    await removeState(this.podDir(podUid));
    if (problems.length > 0) this.log('sandbox teardown incomplete', { podUid, netns, problems });
  }

  // ---- instances ---------------------------------------------------------------------------

  /**
   * The wrapper exited: read the OOM counter, kill what is left of the container (cgroup until
   * empty), remove its cgroups, then report. `oomKilled` = SIGKILL/137 and an OOM kill in the
   * container's leaf. Never rejects.
   */
  private async finish(inst: Instance, e: ChildExit): Promise<ExitInfo> {
    const finishedAt = Date.now();
    inst.finishedAt = finishedAt;
    inst.alive = false;
    const info: ExitInfo = 'code' in e
      ? { exitCode: exitCodeOf(e.code, e.signal), oomKilled: false, finishedAt }
      : { exitCode: 128, oomKilled: false, finishedAt };
    if ('code' in e && e.signal !== null) info.signal = e.signal;
    // The init ends with 128 + n when a signal killed the command (as tini and docker --init do).
    else if (inst.init && info.exitCode > 128) info.signal = signalNameOf(info.exitCode - 128);
    try {
      tryKill(-inst.wrapperPid, 'SIGKILL');
      const deadline = Date.now() + SWEEP_DEADLINE_MS;
      if (await this.cgroups.sweep(inst.procsDir, deadline)) {
        if (info.exitCode === 137 && (await this.cgroups.oomKills(inst.memoryDir)) > 0) info.oomKilled = true;
        for (const d of inst.cgroupDirs) await removeCgroupDir(d, deadline).catch(() => {});
      } else {
        this.log('cgroup not empty after sweep', { podUid: inst.podUid, container: inst.name, cgroup: inst.procsDir });
      }
    } catch (err) {
      this.log('cleanup after container exit failed', { podUid: inst.podUid, container: inst.name, error: errText(err) });
    }
    return info;
  }

  private startError(f: SetupFailure, spec: ContainerStartSpec, workingDir: string): StartError {
    if (f.code === 'mount') {
      const m = spec.mounts[f.index ?? -1];
      const what = m ? `volume "${m.volume}" at ${m.mountPath}` : 'a volume';
      return new StartError('CreateContainerError', `failed to create container "${spec.name}": cannot mount ${what}: ${f.details || 'mount failed'}`);
    }
    if (f.code === 'sandbox') return new StartError('RunContainerError', `failed to start container "${spec.name}" in the pod sandbox: ${f.details}`);
    const msg = setupMessage(f, spec.argv[0] ?? '', workingDir);
    const verb = msg.reason === 'CreateContainerError' ? 'create' : 'start';
    return new StartError(msg.reason, `failed to ${verb} container "${spec.name}": ${msg.text}`);
  }

  private async discardFailedStart(podUid: string, name: string, logFile: string, cgroupDirs: string[]): Promise<void> {
    await this.logs.discard(podUid, name, logFile);
    await this.cgroups.removeLeaf(cgroupDirs);
  }

  // ---- logs (as on the host runtime) -------------------------------------------------------




  // ---- misc --------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('sandbox runtime is closed');
  }

  private podDir(podUid: string): string {
    return path.join(this.dataDir, 'pods', safeSegment(podUid, 'pod UID'));
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));
function signalNameOf(n: number): string | undefined {
  return SIGNAL_NAMES.get(n);
}

function bareId(id: string): string {
  return id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : id;
}
