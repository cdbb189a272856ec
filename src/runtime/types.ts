/**
 * The `ContainerRuntime` port (ARCHITECTURE.md "Runtimes"): adapters start and stop processes
 * and report facts (exit codes, OOM kills); they never decide whether to restart. The agent
 * orchestrates graceful stops with `signal` and `killAll`.
 */

/** Where a volume is on the host, and where the container sees it. */
export interface MountSpec {
  /** Volume name (for error messages). */
  volume: string;
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
  /**
   * Set for a `subPath` mount: `hostPath` is `volumeRoot/path`, which a runtime must not follow
   * out of the volume (a container can plant a symlink there: CVE-2017-1002101); see
   * `confineSubPaths` in proc-util.ts.
   */
  subPath?: { volumeRoot: string; path: string };
}

import type { Socket } from 'node:net';
import type { ContainerProcess, ImageProcessConfig } from '../api/oci.js';

/** What a sandbox needs to exist. */
export interface SandboxSpec {
  podUid: string;
  podName: string;
  namespace: string;
  /** `emptyDir` volume names: a directory each, owned by the sandbox. */
  emptyDirs: string[];
  /** `spec.shareProcessNamespace`: one PID namespace for all containers of the pod (sandbox runtime). */
  shareProcessNamespace?: boolean;
  /** Pids limit for the whole pod (sandbox runtime; node-wide setting). */
  pidsLimit?: number;
  /** `securityContext.fsGroup`: the oci runtime gives the pod's emptyDirs this group (setgid), as the kubelet does. */
  fsGroup?: number;
  /**
   * Sandbox runtime, own PID namespace per container: an init (catatonit) is PID 1 and the
   * command PID 2, so signals act as on the host runtime (default true). False: the command is
   * PID 1 (`podvisor.io/container-init: "false"`).
   */
  containerInit?: boolean;
}

/** Resource limits of one container (from `resources.limits`, already parsed). */
export interface ContainerResources {
  /** `limits.memory` in bytes: enforced by the sandbox runtime, an excess is `OOMKilled` (137). */
  memoryLimitBytes?: number;
  /** `limits.cpu` in millicores: a CPU quota on the sandbox runtime. */
  cpuMillis?: number;
}

/** A pod's shared context (ARCHITECTURE.md): UID, volumes, and on Linux runtimes an IP. */
export interface Sandbox {
  id: string;
  podUid: string;
  /** Host directory holding the sandbox's data (emptyDirs under it). */
  dir: string;
  /** Host directory of each emptyDir volume, by volume name. */
  emptyDirPaths: Record<string, string>;
  /** The pod IP, when the runtime gives pods their own network (not on `host`). */
  ip?: string;
}

/** A pulled image as the runtime's {@link ImageService} knows it (unpacked, ready to run). */
export interface PulledImage {
  /** The normalised reference it was pulled as (`docker.io/library/busybox:1.36`). */
  name: string;
  /** `<repository>@sha256:…`: the kubelet's `imageID`. */
  imageID: string;
  /** The process part of the image's config. */
  config: ImageProcessConfig;
  /** Config and layers as stored (compressed), bytes: the kubelet's "Image size". */
  size: number;
  /** Layer digests, lowest first. */
  layers: string[];
}

/** Progress of one blob of a pull. */
export interface PullProgress {
  /** Short digest (12 hex digits). */
  blob: string;
  kind: 'config' | 'layer';
  done: number;
  total: number;
}

/** A failed pull, as the agent reports it (`ErrImagePull`; `InvalidImageName` for a bad reference). */
export class ImagePullError extends Error {
  constructor(readonly reason: 'ErrImagePull' | 'InvalidImageName', message: string) {
    super(message);
    this.name = 'ImagePullError';
  }
}

/** The image side of a runtime that runs images (`oci`). */
export interface ImageService {
  /** The normalised reference of a container's `image`, or why it is no valid reference. */
  normalise(image: string): { name: string } | { error: string };
  /** The image pulled as `name` (normalised), unpacked; undefined when it is not on the machine. */
  local(name: string): Promise<PulledImage | undefined>;
  /**
   * Pulls `name` (normalised) and unpacks it. Blobs already in the store are not fetched again,
   * so a pull of an unchanged image costs its manifest requests only. Rejects with
   * {@link ImagePullError}.
   */
  pull(name: string, opts?: PullOptions): Promise<{ image: PulledImage; fetchedBytes: number }>;
}

/** Options of {@link ImageService.pull}. */
export interface PullOptions {
  onProgress?: (p: PullProgress) => void;
  /**
   * The pod's image pull secrets, as Docker config texts (`.dockerconfigjson`, or the legacy
   * `.dockercfg` registry map), tried in order before the node's registry config.
   */
  pullSecrets?: readonly string[];
}

/** The security settings of a container the `oci` runtime applies (from its and the pod's `securityContext`). */
export interface ContainerSecurity {
  privileged: boolean;
  /** `capabilities.add` / `drop`, as written (`NET_ADMIN`, `ALL`). */
  add: string[];
  drop: string[];
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem: boolean;
  /** The pod's `supplementalGroups`. */
  supplementalGroups: number[];
}

/** What a runtime that runs images needs besides the generic start spec. */
export interface ContainerImageSpec {
  image: PulledImage;
  /** The process the core computed from the image and the container (argv, env, cwd, user). */
  process: ContainerProcess;
  security: ContainerSecurity;
}

/** Everything needed to start one container instance. */
export interface ContainerStartSpec {
  sandbox: Sandbox;
  podName: string;
  namespace: string;
  /** Container name. */
  name: string;
  /** The new instance's restartCount (used for naming, e.g. the log file). */
  attempt: number;
  /** argv: the container's `command` followed by its `args`. Never empty. */
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: MountSpec[];
  /** Limits the runtime enforces where it can (the host runtime ignores them). */
  resources?: ContainerResources;
  /** The pod's GPU device IDs (`0`, `1`, or `GPU-<uuid>`): the oci runtime gives the container their device nodes. */
  gpus?: string[];
  /**
   * `terminationMessagePath` and `terminationMessagePolicy` (oci runtime): a file of the instance
   * is mounted there, and what the command wrote in it (at most 4 KiB) is the exit's message;
   * under `FallbackToLogsOnError` a failed exit with an empty file takes the log's tail instead.
   */
  terminationMessage?: { path: string; policy: 'File' | 'FallbackToLogsOnError' };
  /**
   * The image to run (runtimes with {@link ContainerRuntime.images} only): the process comes
   * from it, and `argv`, `env` and `workingDir` above are what the container spec says alone.
   */
  image?: ContainerImageSpec;
  /**
   * The container's `stdin`, `stdinOnce` and `tty` fields (the agent copies them from the
   * container spec). Absent, or all false: the command's stdin is `/dev/null` and its output
   * goes to pipes, exactly as without this field (no cost at start). See {@link ContainerStdio}.
   */
  stdio?: ContainerStdio;
  /**
   * An ephemeral container's `targetContainerName` (`kubectl debug --target=C`): the runtime
   * container ID (`<runtime>://<id>`) of the target's running instance in the same pod, whose
   * PID namespace the container joins instead of getting its own (CRI `NamespaceOption.pid =
   * TARGET`, `target_id`), so that its `ps` shows the target's processes. The agent sets it only
   * when the target runs. Ignored where the container would not have a PID namespace of its own
   * anyway: on `host` (every process shares the host's) and in a pod with
   * `shareProcessNamespace` (the pod's is shared). A runtime that gives containers their own
   * PID namespace rejects the start with {@link StartError} (`CreateContainerError`) when the
   * instance is not (any more) running in this pod, rather than start the container elsewhere.
   */
  targetPidOf?: string;
}

/**
 * Kubernetes' stdio fields of a container, with the kubelet's (CRI's) meaning:
 * - `stdin`: the command's stdin stays open while it runs, and what clients attached with
 *   {@link AttachOptions.stdin} write reaches it (several attaches may come and go; without
 *   `stdinOnce` the command never sees EOF);
 * - `stdinOnce` (with `stdin`): the command's stdin is closed (EOF) when the first attach that
 *   had stdin ends (its stdin stream ends, or it detaches): `kubectl run -i --rm … < file`
 *   relies on it. Later attaches' input is dropped. A podvisor restart before that closes it too;
 * - `tty`: the command runs on a pseudo-terminal (its output is the terminal's output, logged as
 *   stdout; 24 rows and 80 columns until an attach resizes it; `TERM=xterm` unless the
 *   environment sets `TERM`). Without `stdin` nothing is ever typed on it (reads block, as with
 *   `docker run -t`).
 */
export interface ContainerStdio {
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
}

/** How an instance ended (spec D10): `exitCode` is the code, or 128 + signal number. */
export interface ExitInfo {
  exitCode: number;
  /** The signal that killed the main process, if any (`SIGKILL`, …). */
  signal?: string;
  /** Killed for exceeding its memory limit (reason `OOMKilled`, exit 137). */
  oomKilled: boolean;
  /** Epoch ms. */
  finishedAt: number;
  /** The termination message (runtimes that write `terminationMessagePath`: oci). */
  message?: string;
}

/** A started instance. */
export interface ContainerHandle {
  /** `<runtime>://<id>`, as published in `containerID`. */
  id: string;
  /** PID of the main process on the host. */
  pid: number;
  /** Epoch ms. */
  startedAt: number;
  /**
   * Resolves exactly once, when the main process has exited and every other process of the
   * container has been killed (no process of a container outlives it).
   */
  exited: Promise<ExitInfo>;
}

/**
 * What the runtime found of an instance an earlier podvisor process started (re-adoption after
 * a crash, a stop or an upgrade of podvisor; the monitor kept the container running):
 * - `running`: re-attached; the handle has the same ID, PID and start time, its `exited`
 *   resolves when the instance ends;
 * - `exited`: it ended while podvisor was down; the exit is the real one (code, time);
 * - `unknown`: neither a live monitored process nor an exit record was found (the monitor was
 *   killed, the state was lost, or the runtime has no monitors): the kubelet reports such an
 *   instance as `ContainerStatusUnknown`.
 */
export type AdoptedInstance =
  | { state: 'running'; handle: ContainerHandle }
  | { state: 'exited'; startedAt: number; exit: ExitInfo }
  | { state: 'unknown' };

/** A start that failed before the process ran (`RunContainerError`, `CreateContainerError`). */
export class StartError extends Error {
  constructor(
    readonly reason: 'RunContainerError' | 'CreateContainerError' | 'CreateContainerConfigError',
    message: string,
  ) {
    super(message);
    this.name = 'StartError';
  }
}

/** Result of running a command in a container's context (exec probes, hooks). */
export interface ExecResult {
  exitCode: number;
  /** Combined stdout and stderr, truncated to a few KiB. */
  output: string;
  timedOut: boolean;
}

/** What an interactive exec asks for (`kubectl exec -i -t`). */
export interface ExecStreamOptions {
  /** Give the command a stdin the caller writes (`-i`); without it, the command reads an empty stdin. */
  stdin: boolean;
  /** Run the command on a pseudo-terminal (`-t`): one output stream, the terminal's echo and line discipline. */
  tty: boolean;
  /** The terminal's first size, when `tty` (the client sends it before the command reads it). */
  size?: TerminalSize;
}

/** A terminal's size in character cells (the `resize` channel's `Width`/`Height`). */
export interface TerminalSize {
  width: number;
  height: number;
}

/** How an exec ended: the command's exit code (128 + signal number when a signal killed it). */
export interface ExecStreamExit {
  exitCode: number;
  /** The signal that ended the command, if one did. */
  signal?: string;
}

/**
 * A command running in a container's context with its streams open (`kubectl exec`): not a
 * container, never counted, never seen by restart decisions. Its processes are killed when it
 * is killed or the container ends.
 */
export interface ExecStream {
  /** The command's stdin (with `stdin`); ending it closes the command's stdin (EOF; on a tty: the terminal's EOF). */
  stdin?: NodeJS.WritableStream;
  /** The command's stdout; on a tty the terminal's output (stdout and stderr together). */
  stdout: NodeJS.ReadableStream;
  /** The command's stderr; absent on a tty. */
  stderr?: NodeJS.ReadableStream;
  /** Sets the terminal's size (the foreground process gets `SIGWINCH`); ignored without a tty. */
  resize(size: TerminalSize): void;
  /** SIGKILLs the command and every process it started (the client went away). Idempotent. */
  kill(): void;
  /**
   * Resolves once the command has exited, every process it started is gone, and its output has
   * been read to the end. A command that cannot be found exits 127 and one that cannot be run
   * 126, with the reason on its stderr (on a tty: its output), as a shell says it.
   */
  exited: Promise<ExecStreamExit>;
}

/** Why an exec, an attach or a port-forward could not start (the container is not running, a tool is missing). */
export class StreamUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamUnavailableError';
  }
}

/** What an attach asks for (`kubectl attach [-i]`, `kubectl run -i`). */
export interface AttachOptions {
  /**
   * Write to the container's stdin: only for containers started with {@link ContainerStdio.stdin}
   * (else the attach is refused).
   */
  stdin: boolean;
}

/**
 * A client attached to a running container's main process (`kubectl attach`): the container's
 * live output from the moment of the attach (not its log's history) and, with `stdin`, its
 * stdin. Output streams end once the instance has exited and its last output was passed on, or
 * at {@link detach}. Attaching and detaching never affect the container, except that the end of
 * the first stdin attach of a `stdinOnce` container closes its stdin.
 */
export interface AttachStream {
  /**
   * Writes to the container's stdin (with {@link AttachOptions.stdin}). Ending it ends this
   * client's input only (on a `stdinOnce` container, the first stdin attach's end closes the
   * container's stdin: EOF). Input written after the container's stdin closed is dropped.
   */
  stdin?: NodeJS.WritableStream;
  /** The container's stdout from now on; on a tty the terminal's output (stdout and stderr together). */
  stdout: NodeJS.ReadableStream;
  /** The container's stderr from now on; absent on a tty. */
  stderr?: NodeJS.ReadableStream;
  /** Sets the container's terminal size (its foreground process gets `SIGWINCH`); ignored without a tty. */
  resize(size: TerminalSize): void;
  /** Ends this attach (its streams end; its stdin is closed). Never affects the container. Idempotent. */
  detach(): void;
}

/**
 * A running container's resource usage read from its cgroup at one moment (the kubelet's
 * `ContainerStats` as metrics-server consumes it): a cumulative CPU counter, from which a
 * consumer computes a rate between two readings, and a memory gauge.
 */
export interface ContainerStats {
  /** When the counters were read, epoch ms (fractional: rates over short windows need it). */
  timestamp: number;
  /** CPU time used by every process of the container since it started, ns (cumulative). */
  cpuUsageNanos: number;
  /**
   * Memory working set, bytes: usage minus the inactive file cache, as the kubelet (cAdvisor)
   * defines it.
   */
  memoryWorkingSetBytes: number;
}

/** The port every runtime adapter implements. All methods are safe to call more than once. */
export interface ContainerRuntime {
  /** `host`, `sandbox` or `oci`: the prefix of container IDs. */
  readonly name: string;
  /** Present on runtimes that run images (`oci`): containers are started from pulled images. */
  readonly images?: ImageService;
  /**
   * Reasons this runtime cannot run a pod with these mounts (e.g. volumes cannot be mounted
   * without privileges): one message per problem, naming the volume and what to do. Empty = ok.
   */
  checkMounts(mounts: readonly MountSpec[]): string[];
  createSandbox(spec: SandboxSpec): Promise<Sandbox>;
  /**
   * Releases the pod's sandbox and what is left of its instances (also those an earlier
   * podvisor process ran: it works from the pod UID alone); `deleteData` removes its volumes
   * (emptyDir), logs and records too. Idempotent.
   */
  releaseSandbox(sandbox: Pick<Sandbox, 'podUid'>, opts: { deleteData: boolean }): Promise<void>;
  /** Starts an instance. Rejects with {@link StartError} when the process cannot be started. */
  startContainer(spec: ContainerStartSpec): Promise<ContainerHandle>;
  /** Sends a signal to the instance's main process only (the stop signal, as runtimes do). */
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP'): void;
  /** SIGKILLs every process of the instance (process group and, where available, cgroup). */
  killAll(id: string): Promise<void>;
  /** Runs `command` in the instance's context (env, working dir, mounts); kills it at the timeout. */
  exec(id: string, command: string[], opts: { timeoutMs: number }): Promise<ExecResult>;
  /**
   * Starts `command` in the running instance's context with its streams open (`kubectl exec`):
   * the same context as {@link exec} (environment, working dir, mounts, namespaces, cgroup,
   * the image's user on `oci`). Rejects with {@link StreamUnavailableError} when the instance
   * does not run or the runtime lacks a tool the options need (a pseudo-terminal).
   */
  execStream(id: string, command: string[], opts: ExecStreamOptions): Promise<ExecStream>;
  /**
   * Opens a TCP connection to `port` on the pod's network (`kubectl port-forward`): 127.0.0.1 on
   * `host` (pods share the host's network), the pod's IP on runtimes that give pods their own
   * network namespace. Rejects with the connect error (`ECONNREFUSED`, …) when nothing listens.
   */
  connect(sandbox: Sandbox, port: number): Promise<Socket>;
  /**
   * Attaches to the running instance's main process (`kubectl attach`, `kubectl run -i`; see
   * {@link AttachStream} and {@link ContainerStdio}). Rejects with
   * {@link StreamUnavailableError} when the instance does not run, or when `stdin` is asked of a
   * container started without {@link ContainerStdio.stdin}.
   */
  attach(id: string, opts: AttachOptions): Promise<AttachStream>;
  /** Forgets the instance; its log becomes the container's previous log. */
  removeContainer(id: string): Promise<void>;
  /** Path of the current (or previous) log file of a container, if any. */
  logPath(podUid: string, container: string, previous: boolean): string | undefined;
  /**
   * Kills every instance still running and releases resources; further starts are refused.
   * With `keepContainers` (podvisor stops and a later process re-adopts them; only where
   * {@link containersOutlivePodvisor}) the instances are left running under their monitors.
   * With `keepSandboxes` (podvisor is stopping and will resume its pods) the pod sandboxes stay
   * on the host as after a crash (network namespace, IP, holder, volumes), for the next
   * process to re-attach; runtimes without sandbox processes have nothing to keep.
   */
  close(opts?: { keepSandboxes?: boolean; keepContainers?: boolean }): Promise<void>;
  /**
   * True when containers outlive podvisor (each has a monitor as its parent): `close` with
   * `keepContainers` leaves them running and {@link adoptContainer} finds them again.
   */
  readonly containersOutlivePodvisor: boolean;
  /**
   * After a podvisor restart: re-attaches to an instance (`<runtime>://<id>`) an earlier podvisor
   * process started for this pod. Never rejects; what cannot be found is `unknown`.
   */
  adoptContainer(podUid: string, id: string): Promise<AdoptedInstance>;
  /**
   * After a podvisor restart: the instances of this pod an earlier process launched and recorded
   * (IDs as {@link ContainerHandle.id}), also those the earlier process never learnt the ID of (it
   * stopped while their start was in flight). Runtimes whose containers end with podvisor have
   * none.
   */
  launchedInstances?(podUid: string): Promise<{ id: string; container: string; startedAt: number }[]>;
  /**
   * After a podvisor restart and the adoptions: kills the processes an earlier podvisor process
   * left for this pod that were not adopted (IDs in `adopted`), and returns how many containers
   * it found.
   */
  reapOrphans?(podUid: string, adopted?: ReadonlySet<string>): Promise<number>;
  /**
   * The instance's resource usage read from its own cgroup now (no polling: every call reads).
   * Undefined when the instance is unknown or not running, or has no cgroup with both counters
   * (the host runtime without root; a hierarchy that is not mounted). Never rejects. Absent on
   * runtimes that never have them.
   */
  stats?(id: string): Promise<ContainerStats | undefined>;
}
