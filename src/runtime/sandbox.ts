/**
 * The `sandbox` runtime adapter (`--runtime sandbox`, Linux, root): containers run from the host
 * filesystem as on the `host` runtime, but each pod gets a Kubernetes-like sandbox made from
 * plain Linux tools (see the platform notes, section 1). The parts live in `sandbox/`:
 *
 * - `network.ts`: a network namespace `pv-<hash of the pod UID>` wired by the real CNI plugins
 *   (`bridge` with `host-local` IPAM on a private subnet, and `loopback`): the pod IP;
 * - `holder.ts`: a holder process (`catatonit -P`) that keeps the pod's IPC and UTS namespaces
 *   (hostname = pod name) and, with `shareProcessNamespace`, the pod's PID namespace (it is its
 *   init); `/etc/hosts` and `/etc/hostname` files bound over the host's in each container's
 *   mount namespace;
 * - `cgroups.ts`: a cgroup per pod (`pids.max`) with a leaf per container (memory and CPU
 *   limits, OOM detection, and the complete kill of every process of a container);
 * - `state.ts`: the sandbox's state file, to re-attach it after a podvisor restart (same IP);
 * - `containers.ts`: the containers, started through a monitor (conmon when installed: they
 *   outlive podvisor and are re-adopted by the next process), each in the pod's namespaces;
 *   with `launch.ts` (preparing a start), `wrapper.ts` (the wrapper command, the main PID, exec
 *   plans), `instance.ts` (instances and their launch records), `exit.ts` (kills and the end of
 *   an instance) and `bundles.ts` (per-container state directories, leftovers of a crash);
 * - `tools.ts`: what the runtime needs on the host, and the fix when something is missing.
 *
 * This module ties them together: sandbox lifecycle (create or re-attach, release, tear down
 * what a crash left) and the `ContainerRuntime` port.
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
import * as fsp from 'node:fs/promises';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import type { OciLauncher } from './oci/launcher.js';
import {
  StartError, StreamUnavailableError, type ImageService, type AdoptedInstance, type AttachOptions, type AttachStream, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type ContainerStats,
  type ExecResult, type ExecStream, type ExecStreamOptions, type MountSpec, type Sandbox, type SandboxSpec,
} from './types.js';
import { connectTcp } from './port-forward.js';
import { errText, isSafeSegment, safeSegment } from './proc-util.js';
import { InstanceLogs } from './logs.js';
import { createMonitor, type MonitorChoice } from './monitor/index.js';
import type { Monitor } from './monitor/types.js';
import { SandboxCgroups, probeCgroups } from './sandbox/cgroups.js';
import { SandboxContainers } from './sandbox/containers.js';
import { holderHealthy, startHolder, stopPause } from './sandbox/holder.js';
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
  /**
   * The containers' monitor (their parent). Default: picked by {@link SandboxRuntime.create}
   * as `monitorChoice` says.
   */
  monitor?: Monitor;
  /** Which monitor `create` picks: `auto` (default) = conmon when installed, else `direct`. */
  monitorChoice?: MonitorChoice;
  /**
   * The `oci` runtime (`oci-runtime.ts` builds it): containers run from pulled images by runc in
   * the same sandboxes; IDs are `oci://…`.
   */
  oci?: { launcher: OciLauncher; images: ImageService };
}

const SWEEP_DEADLINE_MS = 5_000;
const DIR_MODE = 0o755;

/**
 * {@link ContainerRuntime} with Kubernetes-like pod sandboxes (see the module comment). Create
 * it with {@link SandboxRuntime.create}, which refuses (with the fix in the message) when the
 * host cannot run it.
 */
export class SandboxRuntime implements ContainerRuntime {
  /** Container IDs are `sandbox://<hex>`, or `oci://<hex>` on the oci runtime. */
  readonly name: 'sandbox' | 'oci';
  /** The oci runtime's images (absent on the sandbox runtime, which runs host commands). */
  readonly images?: ImageService;
  /** The containers' parent: conmon (they outlive podvisor) or podvisor itself. */
  readonly monitor: Monitor;
  private readonly dataDir: string;
  private readonly log: SandboxRuntimeLogger;
  private readonly tools: Tools;
  private readonly cgroups: SandboxCgroups;
  private readonly network: PodNetwork;
  private readonly containers: SandboxContainers;
  private readonly pidsLimit: number;
  private readonly containerInit: boolean;
  /** Sandboxes this object created or re-attached, by pod UID (released by close()). */
  private readonly sandboxes = new Map<string, SandboxState>();
  private readonly logs: InstanceLogs;
  /** Per-pod serialization of sandbox create/release. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;

  private constructor(opts: SandboxRuntimeOptions, tools: Tools, cgroups: SandboxCgroups, monitor: Monitor) {
    this.name = opts.oci ? 'oci' : 'sandbox';
    if (opts.oci) this.images = opts.oci.images;
    this.dataDir = path.resolve(opts.dataDir);
    this.logs = new InstanceLogs(this.dataDir, DIR_MODE);
    this.log = opts.logger ?? (() => {});
    this.tools = tools;
    this.cgroups = cgroups;
    this.monitor = monitor;
    this.network = new PodNetwork(tools, parseSubnet(opts.subnet ?? '10.88.0.0/24'), opts.bridge ?? 'pv-br0', this.log);
    this.containers = new SandboxContainers({
      tools, cgroups, monitor, logs: this.logs, podDir: (podUid) => this.podDir(podUid), log: this.log,
      ...(opts.oci ? { oci: opts.oci.launcher } : {}),
    });
    this.pidsLimit = opts.pidsLimit ?? 4096;
    this.containerInit = opts.containerInit !== false;
  }

  /** True under conmon: containers keep running when podvisor stops, and are re-adopted. */
  get containersOutlivePodvisor(): boolean {
    return this.monitor.outlivesPodvisor;
  }

  /**
   * Checks {@link sandboxAvailability}, picks the monitor (conmon when installed, unless
   * `monitorChoice` says otherwise) and returns a ready runtime; throws an Error naming the fix
   * (e.g. `apt-get install containernetworking-plugins`) when the host cannot run sandboxes.
   * Creates nothing on the host yet: the bridge appears with the first sandbox.
   */
  static async create(opts: SandboxRuntimeOptions): Promise<SandboxRuntime> {
    const problem = await sandboxAvailability();
    if (problem !== undefined) throw new Error(problem);
    const { tools, problems } = probeTools(opts.init);
    const { layout } = probeCgroups();
    if (!tools || !layout) throw new Error(problems.join('; ') || 'the sandbox runtime is unavailable');
    const dataDir = path.resolve(opts.dataDir);
    await fsp.mkdir(dataDir, { recursive: true, mode: DIR_MODE });
    let monitor = opts.monitor;
    if (!monitor) {
      const made = await createMonitor(dataDir, opts.monitorChoice ?? 'auto');
      monitor = made.monitor;
      if (made.note !== undefined) opts.logger?.('container monitor unavailable', { note: made.note });
    }
    opts.logger?.('container monitor', { monitor: monitor.kind, containersOutlivePodvisor: monitor.outlivesPodvisor });
    return new SandboxRuntime(opts, tools, new SandboxCgroups(layout), monitor);
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
        // oci: containers run as any user, so an emptyDir is world-writable as the kubelet makes
        // it (0777), group fsGroup with setgid when the pod sets one. The sandbox runtime runs
        // host commands as podvisor's user and keeps 0755.
        if (this.name === 'oci') {
          if (spec.fsGroup !== undefined) await fsp.chown(p, 0, spec.fsGroup);
          await fsp.chmod(p, spec.fsGroup !== undefined ? 0o2777 : 0o777);
        }
      }
      const pidMode: PidMode = spec.shareProcessNamespace === true ? 'pod' : 'container';
      const existing = this.sandboxes.get(podUid) ?? await readState(dir, podUid);
      if (existing) {
        if (existing.pidMode === pidMode && holderHealthy(existing)) {
          existing.emptyDirs = [...new Set([...existing.emptyDirs, ...spec.emptyDirs])];
          existing.containerInit = spec.containerInit ?? this.containerInit;
          this.sandboxes.set(podUid, existing);
          await writeState(dir, existing);
          this.log('re-attached existing pod sandbox', { podUid, netns: existing.netns, ip: existing.ip ?? null });
          return sandboxOf(existing, dir);
        }
        this.log('tearing down a broken or outdated pod sandbox', { podUid, netns: existing.netns });
        await this.containers.dropPod(podUid);
        await this.teardown(podUid, existing);
      }
      const t0 = Date.now();
      const state: SandboxState = {
        version: 1, podUid, podName: spec.podName, namespace: spec.namespace, netns: netnsName(podUid), pidMode, emptyDirs: [...spec.emptyDirs],
        containerInit: spec.containerInit ?? this.containerInit,
      };
      this.sandboxes.set(podUid, state);
      await writeState(dir, state); // intent first: a crash from here on leaves something reapAllSandboxes finds
      try {
        await this.build(state, spec.pidsLimit ?? this.pidsLimit);
      } catch (err) {
        await this.teardown(podUid, state).catch(() => {});
        this.sandboxes.delete(podUid);
        throw new Error(`cannot create the sandbox of pod ${spec.namespace}/${spec.podName}: ${errText(err)}`, { cause: err });
      }
      await writeState(dir, state);
      this.log('pod sandbox created', { podUid, netns: state.netns, ip: state.ip ?? null, pidMode, ms: Date.now() - t0 });
      return sandboxOf(state, dir);
    });
  }

  /**
   * Kills any instance of the pod still running (and forgets them all), kills the holder, frees
   * the IP (CNI DEL: lease and veth), deletes the network namespace and the pod's cgroups; with
   * `deleteData` also the pod directory (volumes and logs). Idempotent, and works from the pod
   * UID alone (a sandbox this object never saw).
   */
  async releaseSandbox(sandbox: Pick<Sandbox, 'podUid'>, opts: { deleteData: boolean }): Promise<void> {
    const podUid = safeSegment(sandbox.podUid, 'pod UID');
    await this.withLock(podUid, async () => {
      await this.containers.dropPod(podUid, 'killing container of released sandbox');
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
   * Starts an instance in the pod's sandbox (see `sandbox/containers.ts`). Resolves once the
   * command is being exec'd; rejects with {@link StartError} as the host runtime does
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
    return this.containers.start(spec, { pausePid: sb.pausePid, pidMode: sb.pidMode, containerInit: sb.containerInit !== false, podDir: this.podDir(podUid) });
  }

  /** Signals the command (the container's main process) only; see `SandboxContainers.signal`. */
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP'): void {
    this.containers.signal(id, signal);
  }

  /**
   * SIGKILLs the wrapper's process group and every process in the container's cgroup (also
   * ones that called setsid), then waits (bounded) until the exit has been processed.
   */
  killAll(id: string): Promise<void> {
    return this.containers.killAll(id);
  }

  /** The container's CPU time and memory working set from its leaf cgroups; see `SandboxContainers.stats`. */
  stats(id: string): Promise<ContainerStats | undefined> {
    return this.containers.stats(id);
  }

  /** Runs `command` in the container's namespaces, cgroup, environment and working directory. */
  exec(id: string, command: string[], opts: { timeoutMs: number }): Promise<ExecResult> {
    return this.containers.exec(id, command, opts);
  }

  /** `kubectl exec` into the container (same context as {@link exec}); see `SandboxContainers.execStream`. */
  execStream(id: string, command: string[], opts: ExecStreamOptions): Promise<ExecStream> {
    return this.containers.execStream(id, command, opts);
  }

  /**
   * `kubectl port-forward`: a connection to `port` on the pod's IP (the host reaches it through
   * the bridge). Rejects with {@link StreamUnavailableError} when this runtime has no running
   * sandbox with an IP for the pod, else with the connect error.
   */
  async connect(sandbox: Sandbox, port: number): Promise<Socket> {
    const state = this.sandboxes.get(sandbox.podUid);
    if (state?.ip === undefined) throw new StreamUnavailableError(`the sandbox of pod ${sandbox.podUid} is not running`);
    return connectTcp(state.ip, port);
  }

  /** `kubectl attach` to the instance (live output; stdin of a container started with it); see `SandboxContainers.attach`. */
  attach(id: string, opts: AttachOptions): Promise<AttachStream> {
    return this.containers.attach(id, opts);
  }

  /** Forgets the instance (killing it first if it still runs); its log stays as the previous one. */
  removeContainer(id: string): Promise<void> {
    return this.containers.remove(id);
  }

  /** Log files as on the host runtime: `<dataDir>/pods/<podUid>/logs/<container>/<attempt>.log`. */
  logPath(podUid: string, container: string, previous: boolean): string | undefined {
    return this.logs.path(podUid, container, previous);
  }

  /**
   * Re-attaches to an instance an earlier podvisor process started (see {@link AdoptedInstance}
   * and `SandboxContainers.adopt`). The pod's sandbox is re-attached separately (by
   * {@link reapAllSandboxes} or {@link createSandbox}).
   */
  adoptContainer(podUid: string, id: string): Promise<AdoptedInstance> {
    return this.containers.adopt(podUid, id);
  }

  launchedInstances(podUid: string): Promise<{ id: string; container: string; startedAt: number }[]> {
    return Promise.resolve(this.containers.launched(podUid));
  }

  /**
   * Kills every live instance, then releases every sandbox this object created or re-attached
   * (without deleting data): nothing of it stays on the host. Further starts are refused.
   * Idempotent. (Only a crash leaves sandboxes behind, for {@link reapAllSandboxes}.)
   * With `keepSandboxes` the sandboxes stay, exactly as a crash leaves them (holder, netns, IP
   * lease, pod cgroups, state file), and the next process re-attaches them with the same IP;
   * sandbox operations in flight are waited for, so none is left half done, and this object
   * forgets them (closing it again tears nothing down). With
   * `keepSandboxes` and `keepContainers` under a monitor that outlives podvisor (conmon) the
   * containers keep running in them too, for the next process to re-adopt; a container cannot
   * outlive its sandbox, so `keepContainers` alone changes nothing.
   */
  async close(opts: { keepSandboxes?: boolean; keepContainers?: boolean } = {}): Promise<void> {
    this.closed = true;
    const keepContainers = opts.keepContainers === true && opts.keepSandboxes === true && this.monitor.outlivesPodvisor;
    await this.containers.close(keepContainers);
    if (opts.keepSandboxes) {
      await Promise.all([...this.locks.values()]);
      this.log('pod sandboxes kept for the next start', { sandboxes: this.sandboxes.size, containersKept: keepContainers });
      this.sandboxes.clear(); // handed over: a later close() tears nothing down
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
   * After a podvisor restart and the adoptions: kills the processes of containers an earlier
   * podvisor process left in this pod's cgroups (not the sandbox's holder) that were not adopted
   * (IDs in `adopted`), and removes their cgroups. Returns the number of leftover containers
   * found.
   */
  reapOrphans(podUid: string, adopted: ReadonlySet<string> = new Set()): Promise<number> {
    return this.containers.reapOrphans(podUid, adopted);
  }

  /**
   * After a podvisor crash: looks at every sandbox recorded under this runtime's `dataDir`.
   * Those whose pod UID is in `keepUids` and which are still healthy are re-attached and
   * returned (same netns, holder and IP; containers running in them can then be re-adopted);
   * every other one is torn down (holder, netns, IP lease, cgroups and leftover container
   * processes; the pod directory stays). Sandboxes of other data directories are not touched.
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
        this.log('tearing down leftover pod sandbox', { podUid, netns: state.netns, kept: keepUids.has(podUid) });
        await this.containers.dropPod(podUid);
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
