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
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  StartError, type AdoptedInstance, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type ExecResult, type ExitInfo,
  type MountSpec, type Sandbox, type SandboxSpec,
} from './types.js';
import {
  DEFAULT_PATH, SH, childrenOf, destroyStreams, errText, exitCodeOf, findExecutable, finalScript, isSafeSegment,
  mountScript, parseSetup, procStartTime, readSetup, removeCgroupDir, run, runExec, safeSegment, setupMessage,
  shq, tryKill, watchChild, within, type ChildExit, type SetupFailure,
} from './proc-util.js';
import { InstanceLogs } from './logs.js';

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

/** `container` = own PID namespace (Kubernetes' default), `pod` = shareProcessNamespace. */
type PidMode = 'container' | 'pod';

/** What podvisor records about a sandbox in `<podDir>/sandbox.json` (to re-attach after a crash). */
interface SandboxState {
  version: 1;
  podUid: string;
  podName: string;
  namespace: string;
  netns: string;
  pidMode: PidMode;
  /** Own PID namespace per container: an init is PID 1, the command PID 2 (absent = true). */
  containerInit?: boolean;
  ip?: string;
  hostVeth?: string;
  /** The process podvisor spawned for the holder (`unshare` parent with a pod PID namespace). */
  holderPid?: number;
  /** catatonit: the process whose namespaces containers join. */
  pausePid?: number;
  /** `/proc/<pause>/stat` start time, to tell the pause process from a reused PID. */
  pauseStart?: string;
  emptyDirs: string[];
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

/** The cgroup hierarchies the runtime uses. */
interface CgroupLayout {
  version: 1 | 2;
  /** `podvisor-sandbox` directory per hierarchy, by controller (v2: one entry, `unified`). */
  bases: { ctrl: 'memory' | 'pids' | 'cpu' | 'unified'; dir: string }[];
}

interface Tools {
  ip: string;
  nsenter: string;
  unshare: string;
  mount: string;
  mkdir: string;
  busybox: string;
  pause: { kind: 'catatonit' | 'tini'; path: string };
  cniDir: string;
}

const ID_PREFIX = 'sandbox://';
const CGROUP_NAME = 'podvisor-sandbox';
const PAUSE_LEAF = 'pause';
const NETNS_DIR = '/var/run/netns';
const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
/** Comment of the iptables rule that lets pods of one bridge reach each other (see allowPodToPod). */
const POD_TO_POD_COMMENT = 'podvisor: pod-to-pod traffic on the pod bridge';
/** host-local's store (its default): `<LEASE_DIR>/podvisor-<bridge>/<ip>` holds the netns name. */
const LEASE_DIR = '/var/lib/cni/networks';
const SWEEP_DEADLINE_MS = 5_000;
const KILL_WAIT_MS = 10_000;
const HOLDER_START_MS = 5_000;
const DIR_MODE = 0o755;

// ---- availability --------------------------------------------------------------------------

function toolPath(): string {
  return `${process.env.PATH ?? ''}:${DEFAULT_PATH}`;
}

function probeTools(prefer?: 'catatonit' | 'tini'): { tools?: Tools; problems: string[] } {
  const p = toolPath();
  const problems: string[] = [];
  const need = (name: string, fix: string): string => {
    const found = findExecutable(name, p);
    if (found === undefined) problems.push(`the sandbox runtime needs ${name}: ${fix}`);
    return found ?? '';
  };
  const ip = need('ip', 'apt-get install iproute2');
  const nsenter = need('nsenter', 'apt-get install util-linux');
  const unshare = need('unshare', 'apt-get install util-linux');
  const mount = need('mount', 'apt-get install mount');
  const mkdir = need('mkdir', 'apt-get install coreutils');
  const busybox = need('busybox', 'apt-get install busybox-static');
  const catatonit = prefer === 'tini' ? undefined : findExecutable('catatonit', p);
  const tini = catatonit === undefined && prefer !== 'catatonit' ? findExecutable('tini', p) : undefined;
  if (catatonit === undefined && tini === undefined) {
    problems.push(prefer === undefined
      ? 'the sandbox runtime needs catatonit (or tini) as the pod\'s pause process and container init: apt-get install catatonit'
      : `the sandbox runtime was told to use ${prefer}, which is not installed: apt-get install ${prefer}`);
  }
  const cniDir = CNI_DIRS.find((d) => ['bridge', 'host-local', 'loopback'].every((x) => fs.existsSync(path.join(d, x))));
  if (cniDir === undefined) problems.push(`the sandbox runtime needs the CNI plugins (bridge, host-local, loopback in ${CNI_DIRS.join(' or ')}): apt-get install containernetworking-plugins`);
  if (problems.length > 0) return { problems };
  const pause = catatonit !== undefined ? { kind: 'catatonit' as const, path: catatonit } : { kind: 'tini' as const, path: tini ?? '' };
  return { tools: { ip, nsenter, unshare, mount, mkdir, busybox, pause, cniDir: cniDir ?? '' }, problems };
}

function probeCgroups(): { layout?: CgroupLayout; problem?: string } {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const ctrls = fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/);
    const missing = ['memory', 'pids'].filter((c) => !ctrls.includes(c));
    if (missing.length > 0) return { problem: `the sandbox runtime needs the cgroup v2 controllers ${missing.join(', ')} at /sys/fs/cgroup (enable them in the kernel/boot configuration)` };
    return { layout: { version: 2, bases: [{ ctrl: 'unified', dir: path.join('/sys/fs/cgroup', CGROUP_NAME) }] } };
  }
  const bases: CgroupLayout['bases'] = [];
  for (const ctrl of ['memory', 'pids', 'cpu'] as const) {
    const root = `/sys/fs/cgroup/${ctrl}`;
    if (fs.existsSync(path.join(root, 'cgroup.procs'))) bases.push({ ctrl, dir: path.join(root, CGROUP_NAME) });
    else if (ctrl !== 'cpu') return { problem: `the sandbox runtime needs the cgroup v1 ${ctrl} controller mounted at ${root} (or a cgroup v2 host with memory and pids at /sys/fs/cgroup)` };
  }
  return { layout: { version: 1, bases } };
}

/**
 * Whether the sandbox runtime can run here: undefined when it can, else one message naming
 * every problem and its fix (root, Linux tools, CNI plugins, cgroups). Cheap (file checks only);
 * used by {@link SandboxRuntime.create}, the CLI and the tests' skip decision.
 */
export async function sandboxAvailability(): Promise<string | undefined> {
  await Promise.resolve();
  if (process.platform !== 'linux') return 'the sandbox runtime needs Linux (network, PID and mount namespaces, cgroups); use --runtime host';
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('the sandbox runtime needs root (it creates network namespaces, cgroups and mounts): run podvisor as root, or use --runtime host');
  problems.push(...probeTools().problems);
  const cg = probeCgroups();
  if (cg.problem !== undefined) problems.push(cg.problem);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

// ---- subnet --------------------------------------------------------------------------------

interface Subnet { cidr: string; gateway: string; prefix: number }

function parseSubnet(s: string): Subnet {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = Number(m?.[5]);
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) throw new Error(`invalid sandbox subnet ${JSON.stringify(s)}: expected an IPv4 CIDR like 10.88.0.0/24 (prefix 8–30)`);
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  const str = (n: number): string => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  return { cidr: `${str(network)}/${prefix}`, gateway: str(network + 1), prefix };
}

/** The network namespace (and CNI container ID) of a pod: stable for a pod UID. */
function netnsName(podUid: string): string {
  return `pv-${createHash('sha256').update(podUid).digest('hex').slice(0, 12)}`;
}

/** Kubernetes truncates hostnames to 63 characters. */
function hostnameOf(podName: string, fallback: string): string {
  const h = podName.slice(0, 63).replace(/[-.]+$/, '');
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(h) ? h : fallback;
}

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
  private readonly cgroups: CgroupLayout;
  private readonly subnet: Subnet;
  private readonly bridge: string;
  private readonly pidsLimit: number;
  private readonly containerInit: boolean;
  private readonly instances = new Map<string, Instance>();
  /** Sandboxes this object created or re-attached, by pod UID (released by close()). */
  private readonly sandboxes = new Map<string, SandboxState>();
  private readonly logs: InstanceLogs;
  /** Per-pod serialization of sandbox create/release. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private bridgeChecked = false;
  private closed = false;

  private constructor(opts: SandboxRuntimeOptions, tools: Tools, cgroups: CgroupLayout) {
    this.dataDir = path.resolve(opts.dataDir);
    this.logs = new InstanceLogs(this.dataDir, DIR_MODE);
    this.log = opts.logger ?? (() => {});
    this.tools = tools;
    this.cgroups = cgroups;
    this.subnet = parseSubnet(opts.subnet ?? '10.88.0.0/24');
    this.bridge = opts.bridge ?? 'pv-br0';
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.bridge)) throw new Error(`invalid bridge name ${JSON.stringify(this.bridge)}: 1–15 characters of letters, digits, _ . -`);
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
    const rt = new SandboxRuntime(opts, tools, layout);
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
      const existing = this.sandboxes.get(podUid) ?? await this.readState(podUid);
      if (existing) {
        if (existing.pidMode === pidMode && this.healthy(existing)) {
          existing.emptyDirs = [...new Set([...existing.emptyDirs, ...spec.emptyDirs])];
          existing.containerInit = spec.containerInit ?? this.containerInit;
          this.sandboxes.set(podUid, existing);
          await this.writeState(existing);
          this.log('re-attached existing pod sandbox', { podUid, netns: existing.netns, ip: existing.ip ?? null });
          return this.sandboxOf(existing);
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
      await this.writeState(state); // intent first: a crash from here on leaves something reapAllSandboxes finds
      try {
        await this.build(state, spec.pidsLimit ?? this.pidsLimit);
      } catch (err) {
        await this.teardown(podUid, state).catch(() => {});
        this.sandboxes.delete(podUid);
        throw new Error(`cannot create the sandbox of pod ${spec.namespace}/${spec.podName}: ${errText(err)}`, { cause: err });
      }
      await this.writeState(state);
      this.log('pod sandbox created', { podUid, netns: state.netns, ip: state.ip ?? null, pidMode, ms: Date.now() - t0 });
      return this.sandboxOf(state);
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
      const state = this.sandboxes.get(podUid) ?? await this.readState(podUid);
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
    if (!sb || sb.pausePid === undefined || !this.healthy(sb)) {
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
      leaf = await this.makeLeaf(podUid, id, spec.resources);
    } catch (err) {
      throw new StartError('CreateContainerError', `failed to create container "${name}": cannot create its cgroup: ${errText(err)}`);
    }
    let log: { file: string; fd: number };
    try {
      log = await this.logs.open(podUid, name, spec.attempt);
    } catch (err) {
      await this.removeLeaf(leaf.dirs);
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
    const etc: [string, string][] = [[path.join(dir, 'etc-hosts'), '/etc/hosts'], [path.join(dir, 'etc-hostname'), '/etc/hostname']];
    for (const [src, dst] of etc) {
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
    await this.sweepCgroup(inst.procsDir, Date.now() + SWEEP_DEADLINE_MS);
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
    const procsBase = this.procsBase();
    let leaves: string[];
    try {
      leaves = (await fsp.readdir(path.join(procsBase, podUid), { withFileTypes: true }))
        .filter((d) => d.isDirectory() && d.name !== PAUSE_LEAF).map((d) => d.name);
    } catch {
      return 0;
    }
    let n = 0;
    for (const leaf of leaves) {
      if (this.instances.has(leaf)) continue;
      n++;
      await this.sweepCgroup(path.join(procsBase, podUid, leaf), Date.now() + SWEEP_DEADLINE_MS);
      await this.removeLeaf(this.cgroups.bases.map((b) => path.join(b.dir, podUid, leaf)));
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
        const state = this.sandboxes.get(podUid) ?? await this.readState(podUid);
        if (!state) return;
        if (keepUids.has(podUid) && this.healthy(state)) {
          this.sandboxes.set(podUid, state);
          kept.set(podUid, this.sandboxOf(state));
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
    const t = this.tools;
    const podUid = state.podUid;
    await this.ensureBridge();
    const pauseDirs = await this.makePodCgroup(podUid, pidsLimit);
    await this.must([t.ip, 'netns', 'add', state.netns], 'ip netns add');
    await this.cni('loopback', 'ADD', state.netns, 'lo');
    const res = await this.cni('bridge', 'ADD', state.netns, 'eth0');
    const parsed = JSON.parse(res) as { ips?: { address?: string }[]; interfaces?: { name?: string; sandbox?: string }[] };
    const ip = parsed.ips?.[0]?.address?.split('/')[0];
    if (ip === undefined) throw new Error(`the CNI bridge plugin returned no IP: ${res}`);
    state.ip = ip;
    const veth = parsed.interfaces?.find((i) => i.sandbox === undefined && i.name !== this.bridge)?.name;
    if (veth !== undefined) state.hostVeth = veth;

    // The holder: joins the pause cgroup, enters the netns, unshares IPC/UTS (and PID).
    const fork = state.pidMode === 'pod' ? ['--pid', '--fork', '--mount-proc'] : [];
    const pauseCmd = t.pause.kind === 'catatonit' ? [t.pause.path, '-P'] : [t.pause.path, '-s', '--', t.busybox, 'sleep', '2147483647'];
    const joinPause = pauseDirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join(' && ');
    const holderLog = fs.openSync(path.join(this.podDir(podUid), 'sandbox.log'), 'a', 0o640);
    let holder: ChildProcess;
    try {
      holder = spawn(SH, ['-c', `${joinPause} && exec "$@"`, 'sh', t.ip, 'netns', 'exec', state.netns, t.unshare, '--ipc', '--uts', ...fork, ...pauseCmd], {
        detached: true, cwd: '/', stdio: ['ignore', holderLog, holderLog],
      });
    } finally {
      fs.closeSync(holderLog);
    }
    holder.on('error', () => {});
    holder.unref();
    const holderPid = holder.pid;
    if (holderPid === undefined) throw new Error('cannot spawn the sandbox holder process');
    state.holderPid = holderPid;
    const deadline = Date.now() + HOLDER_START_MS;
    const exeName = path.basename(t.pause.path);
    for (let round = 0; ; round++) {
      const candidate = state.pidMode === 'pod' ? childrenOf(holderPid)[0] : holderPid;
      if (candidate !== undefined) {
        let exe = '';
        try { exe = fs.readlinkSync(`/proc/${candidate}/exe`); } catch { /* not yet */ }
        if (path.basename(exe) === exeName) {
          state.pausePid = candidate;
          const st = procStartTime(candidate);
          if (st !== undefined) state.pauseStart = st;
          break;
        }
      }
      if (holder.exitCode !== null || holder.signalCode !== null || Date.now() >= deadline) {
        const text = await fsp.readFile(path.join(this.podDir(podUid), 'sandbox.log'), 'utf8').catch(() => '');
        throw new Error(`the holder process did not start${text.trim() ? `: ${text.trim().split('\n').slice(-3).join('; ')}` : ''}`);
      }
      await delay(Math.min(1 + round, 10));
    }
    const hostname = hostnameOf(state.podName, state.netns);
    await this.must([t.nsenter, '-t', String(state.pausePid), '-u', '--', t.busybox, 'hostname', hostname], 'set the hostname');
    const dir = this.podDir(podUid);
    await fsp.writeFile(path.join(dir, 'etc-hostname'), `${hostname}\n`, { mode: 0o644 });
    await fsp.writeFile(path.join(dir, 'etc-hosts'), [
      '# Kubernetes-managed hosts file (podvisor sandbox runtime).',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      `${ip}\t${hostname}`,
      '',
    ].join('\n'), { mode: 0o644 });
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
    // Its parent (the holder, with a pod PID namespace) reaps it: wait for that before the sweep
    // kills the holder too, or the zombie would wait for host init, and the cgroup stay busy.
    const pause = state?.pausePid;
    if (pause !== undefined && state?.pauseStart !== undefined && procStartTime(pause) === state.pauseStart) {
      tryKill(pause, 'SIGKILL');
      for (let round = 0; round < 100 && fs.existsSync(`/proc/${pause}`); round++) await delay(Math.min(1 + round, 10));
    }
    const procsPod = path.join(this.procsBase(), podUid);
    let leaves: string[] = [];
    try {
      leaves = (await fsp.readdir(procsPod, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch { /* no cgroup */ }
    await Promise.all(leaves.map((l) => this.sweepCgroup(path.join(procsPod, l), deadline)));
    const problems: string[] = [];
    const del = await this.cniTry('bridge', 'DEL', netns, 'eth0');
    if (del !== undefined) problems.push(del);
    if (fs.existsSync(path.join(NETNS_DIR, netns))) {
      const r = await run([this.tools.ip, 'netns', 'del', netns]);
      if (r.code !== 0 && fs.existsSync(path.join(NETNS_DIR, netns))) problems.push(`ip netns del ${netns}: ${r.stderr.trim()}`);
    }
    for (const b of this.cgroups.bases) {
      const podDir = path.join(b.dir, podUid);
      for (const l of leaves) await removeCgroupDir(path.join(podDir, l), deadline).catch((err: unknown) => problems.push(errText(err)));
      await removeCgroupDir(podDir, deadline).catch((err: unknown) => problems.push(errText(err)));
    }
    await fsp.rm(path.join(this.podDir(podUid), 'sandbox.json'), { force: true });
    if (problems.length > 0) this.log('sandbox teardown incomplete', { podUid, netns, problems });
  }

  /** Whether the recorded netns and pause process still exist and belong together. */
  private healthy(state: SandboxState): boolean {
    if (state.pausePid === undefined || state.pauseStart === undefined || state.ip === undefined) return false;
    if (procStartTime(state.pausePid) !== state.pauseStart) return false;
    try {
      const nsIno = fs.statSync(path.join(NETNS_DIR, state.netns)).ino;
      const link = fs.readlinkSync(`/proc/${state.pausePid}/ns/net`);
      return link === `net:[${nsIno}]`;
    } catch {
      return false;
    }
  }

  private sandboxOf(state: SandboxState): Sandbox {
    const dir = this.podDir(state.podUid);
    const emptyDirPaths: Record<string, string> = {};
    for (const v of state.emptyDirs) emptyDirPaths[v] = path.join(dir, 'volumes', v);
    const sb: Sandbox = { id: state.netns, podUid: state.podUid, dir, emptyDirPaths };
    if (state.ip !== undefined) sb.ip = state.ip;
    return sb;
  }

  private async readState(podUid: string): Promise<SandboxState | undefined> {
    try {
      const s = JSON.parse(await fsp.readFile(path.join(this.podDir(podUid), 'sandbox.json'), 'utf8')) as SandboxState;
      return s.version === 1 && s.podUid === podUid ? s : undefined;
    } catch {
      return undefined;
    }
  }

  private async writeState(state: SandboxState): Promise<void> {
    const file = path.join(this.podDir(state.podUid), 'sandbox.json');
    await fsp.writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o640 });
    await fsp.rename(`${file}.tmp`, file);
  }

  /** Creates the bridge with the gateway address when missing (pods then reach the host, and the host the pods). */
  private async ensureBridge(): Promise<void> {
    const exists = fs.existsSync(`/sys/class/net/${this.bridge}`);
    if (exists && this.bridgeChecked) return;
    const ip = this.tools.ip;
    if (!exists) {
      const r = await run([ip, 'link', 'add', this.bridge, 'type', 'bridge']);
      if (r.code !== 0 && !fs.existsSync(`/sys/class/net/${this.bridge}`)) throw new Error(`ip link add ${this.bridge}: ${r.stderr.trim()}`);
    }
    await this.must([ip, 'addr', 'replace', `${this.subnet.gateway}/${this.subnet.prefix}`, 'dev', this.bridge], 'ip addr replace');
    await this.must([ip, 'link', 'set', this.bridge, 'up'], 'ip link set up');
    if (!this.bridgeChecked) {
      await this.releaseStaleLeases();
      await this.allowPodToPod();
    }
    this.bridgeChecked = true;
  }

  /**
   * With `br_netfilter` loaded and `bridge-nf-call-iptables` on, traffic between two ports of
   * the pod bridge passes the iptables FORWARD chain, whose policy is DROP on many hosts (Docker
   * sets it). One ACCEPT rule for traffic that enters and leaves the pod bridge keeps pod-to-pod
   * traffic working there; nothing else is opened (the pod network has no route off the machine).
   * Without iptables or without br_netfilter there is nothing to do. Idempotent.
   */
  private async allowPodToPod(): Promise<void> {
    const callIptables = await fsp.readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').catch(() => '0');
    if (callIptables.trim() !== '1') return;
    const iptables = findExecutable('iptables', toolPath());
    if (iptables === undefined) {
      this.log('br_netfilter is on but iptables is missing: pod-to-pod traffic depends on the FORWARD policy', { bridge: this.bridge });
      return;
    }
    const rule = ['FORWARD', '-i', this.bridge, '-o', this.bridge, '-m', 'comment', '--comment', POD_TO_POD_COMMENT, '-j', 'ACCEPT'];
    if ((await run([iptables, '-w', '5', '-C', ...rule])).code === 0) return;
    const r = await run([iptables, '-w', '5', '-I', ...rule]);
    if (r.code !== 0) this.log('cannot add the FORWARD rule for pod-to-pod traffic', { bridge: this.bridge, error: (r.stderr || r.stdout).trim() });
  }

  /**
   * IP leases are node-wide (one host-local store per bridge, shared by every podvisor process
   * on the node, so two of them never hand out one address twice). A lease whose network
   * namespace is gone belongs to a sandbox that a crashed podvisor (whose data directory may be
   * gone too) never released: it is freed here. Leases are taken after the netns is created
   * and released before it is deleted, so a live sandbox's lease is never freed.
   */
  private async releaseStaleLeases(): Promise<void> {
    const dir = path.join(LEASE_DIR, `podvisor-${this.bridge}`);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue; // lock, last_reserved_ip.0
      const file = path.join(dir, name);
      try {
        const owner = (await fsp.readFile(file, 'utf8')).split(/\r?\n/)[0]?.trim() ?? '';
        if (!/^pv-[0-9a-f]+$/.test(owner) || fs.existsSync(path.join(NETNS_DIR, owner))) continue;
        await fsp.rm(file, { force: true });
        this.log('released a stale IP lease', { ip: name, netns: owner });
      } catch {
        // raced with a release
      }
    }
  }

  private cniConfig(plugin: 'bridge' | 'loopback'): string {
    if (plugin === 'loopback') return JSON.stringify({ cniVersion: '1.0.0', name: 'podvisor-lo', type: 'loopback' });
    return JSON.stringify({
      cniVersion: '1.0.0',
      name: `podvisor-${this.bridge}`,
      type: 'bridge',
      bridge: this.bridge,
      // isGateway:true would switch on net.ipv4.ip_forward; the gateway address is set by ensureBridge.
      isGateway: false,
      ipMasq: false,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: this.subnet.cidr, gateway: this.subnet.gateway }]],
        dataDir: LEASE_DIR,
      },
    });
  }

  /** Runs a CNI plugin; resolves with its stdout (the result JSON), rejects with its error message. */
  private async cni(plugin: 'bridge' | 'loopback', command: 'ADD' | 'DEL', netns: string, ifname: string): Promise<string> {
    const r = await run([path.join(this.tools.cniDir, plugin)], {
      input: this.cniConfig(plugin),
      env: {
        ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: netns, CNI_NETNS: path.join(NETNS_DIR, netns),
        CNI_IFNAME: ifname, CNI_PATH: this.tools.cniDir,
      },
    });
    if (r.code !== 0) {
      let msg = r.stderr.trim() || r.stdout.trim();
      try {
        const j = JSON.parse(r.stdout) as { msg?: string; details?: string };
        if (j.msg !== undefined) msg = j.details ? `${j.msg}: ${j.details}` : j.msg;
      } catch { /* not JSON */ }
      throw new Error(`CNI ${plugin} ${command} failed (exit ${r.code}): ${msg}`);
    }
    return r.stdout;
  }

  private async cniTry(plugin: 'bridge' | 'loopback', command: 'ADD' | 'DEL', netns: string, ifname: string): Promise<string | undefined> {
    try {
      await this.cni(plugin, command, netns, ifname);
      return undefined;
    } catch (err) {
      return errText(err);
    }
  }

  private async must(argv: string[], what: string): Promise<void> {
    const r = await run(argv);
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }

  // ---- cgroups -----------------------------------------------------------------------------

  /** The hierarchy whose `cgroup.procs` lists every process (v1 pids, or v2). */
  private procsBase(): string {
    const b = this.cgroups.bases.find((x) => x.ctrl === 'pids' || x.ctrl === 'unified');
    return b?.dir ?? '';
  }

  /** Creates `<base>/<podUid>/pause` in each hierarchy with `pids.max` on the pod; returns the pause leaves. */
  private async makePodCgroup(podUid: string, pidsLimit: number): Promise<string[]> {
    const leaves: string[] = [];
    for (const b of this.cgroups.bases) {
      const podDir = path.join(b.dir, podUid);
      if (b.ctrl === 'unified') {
        await fsp.mkdir(podDir, { recursive: true });
        for (const d of ['/sys/fs/cgroup', b.dir, podDir]) await enableControllers(d);
      } else {
        await fsp.mkdir(podDir, { recursive: true });
      }
      if (b.ctrl === 'pids' || b.ctrl === 'unified') await fsp.writeFile(path.join(podDir, 'pids.max'), String(pidsLimit));
      const leaf = path.join(podDir, PAUSE_LEAF);
      await fsp.mkdir(leaf, { recursive: true });
      leaves.push(leaf);
    }
    return leaves;
  }

  /** Creates the container's leaf in every hierarchy and applies the limits. */
  private async makeLeaf(podUid: string, id: string, res: ContainerStartSpec['resources']): Promise<{ dirs: string[]; procs: string; memory?: string }> {
    const dirs: string[] = [];
    let procs = '';
    let memory: string | undefined;
    try {
      for (const b of this.cgroups.bases) {
        const podDir = path.join(b.dir, podUid);
        if (!fs.existsSync(podDir)) throw new Error(`the pod cgroup ${podDir} is missing`);
        const dir = path.join(podDir, id);
        await fsp.mkdir(dir);
        dirs.push(dir);
        const w = (file: string, value: string): Promise<void> => fsp.writeFile(path.join(dir, file), value);
        if (b.ctrl === 'pids' || b.ctrl === 'unified') procs = dir;
        if (b.ctrl === 'memory' || b.ctrl === 'unified') {
          memory = dir;
          const limit = res?.memoryLimitBytes;
          if (limit !== undefined && limit > 0) {
            if (b.ctrl === 'memory') {
              await w('memory.limit_in_bytes', String(limit));
              if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) await w('memory.memsw.limit_in_bytes', String(limit));
            } else {
              await w('memory.max', String(limit));
              if (fs.existsSync(path.join(dir, 'memory.swap.max'))) await w('memory.swap.max', '0');
            }
          }
        }
        if (b.ctrl === 'cpu' || b.ctrl === 'unified') {
          const millis = res?.cpuMillis;
          if (millis !== undefined && millis > 0) {
            const quota = String(Math.max(1000, Math.round(millis * 100)));
            if (b.ctrl === 'cpu') {
              await w('cpu.cfs_period_us', '100000');
              await w('cpu.cfs_quota_us', quota);
            } else if (fs.existsSync(path.join(dir, 'cpu.max'))) {
              await w('cpu.max', `${quota} 100000`);
            }
          }
        }
      }
    } catch (err) {
      await this.removeLeaf(dirs);
      throw err;
    }
    const out: { dirs: string[]; procs: string; memory?: string } = { dirs, procs };
    if (memory !== undefined) out.memory = memory;
    return out;
  }

  private async removeLeaf(dirs: string[]): Promise<void> {
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    for (const d of dirs) await removeCgroupDir(d, deadline).catch(() => {});
  }

  /** SIGKILLs everything listed in the cgroup until it is empty; false at the deadline. */
  private async sweepCgroup(dir: string, deadline: number): Promise<boolean> {
    if (this.cgroups.version === 2) await fsp.writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => {});
    for (let round = 0; ; round++) {
      let text: string;
      try {
        text = await fsp.readFile(path.join(dir, 'cgroup.procs'), 'utf8');
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ENOENT';
      }
      const pids = text.split('\n').filter((l) => l !== '').map(Number);
      if (pids.length === 0) return true;
      for (const p of pids) tryKill(p, 'SIGKILL');
      if (Date.now() >= deadline) return false;
      await delay(Math.min(2 + round * 2, 20));
    }
  }

  /** The kernel's OOM-kill counter of a leaf (v1 `memory.oom_control`, v2 `memory.events`). */
  private async oomKills(dir: string | undefined): Promise<number> {
    if (dir === undefined) return 0;
    const file = this.cgroups.version === 1 ? 'memory.oom_control' : 'memory.events';
    try {
      const m = /^oom_kill (\d+)$/m.exec(await fsp.readFile(path.join(dir, file), 'utf8'));
      return Number(m?.[1] ?? 0);
    } catch {
      return 0;
    }
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
      if (await this.sweepCgroup(inst.procsDir, deadline)) {
        if (info.exitCode === 137 && (await this.oomKills(inst.memoryDir)) > 0) info.oomKilled = true;
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
    await this.removeLeaf(cgroupDirs);
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

/** cgroup v2: enables memory, pids and cpu for the children of `dir` (what is available). */
async function enableControllers(dir: string): Promise<void> {
  let available: string[];
  try {
    available = (await fsp.readFile(path.join(dir, 'cgroup.controllers'), 'utf8')).split(/\s+/);
  } catch {
    return;
  }
  const want = ['memory', 'pids', 'cpu'].filter((c) => available.includes(c));
  if (want.length > 0) await fsp.writeFile(path.join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' ')).catch(() => {});
}

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));
function signalNameOf(n: number): string | undefined {
  return SIGNAL_NAMES.get(n);
}

function bareId(id: string): string {
  return id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : id;
}
