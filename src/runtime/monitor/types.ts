/**
 * The monitor port inside the runtime layer (ARCHITECTURE.md "Containers outlive podvisor"): a
 * monitor starts a container's wrapper command, holds its stdout and stderr (written to a CRI
 * format log file), waits for its exit and records it. Runtimes build the wrapper command (the
 * container's context: cgroup, namespaces, mounts, working dir) and hand it to a monitor.
 *
 * Two monitors exist: `conmon` (Debian's conmon, the monitor CRI-O and Podman use; it is the
 * container's parent, so containers outlive podvisor) and `direct` (podvisor itself is the
 * parent: the fallback where conmon is not installed; containers end with podvisor).
 */

/** Everything a monitor needs to start one instance. */
export interface LaunchSpec {
  /** Bare container ID (hex): conmon's container ID and the exit file's name. */
  id: string;
  /**
   * The instance's state directory (created by the caller, empty): the monitor keeps its files
   * there (start script, set-up channel, PID files, exit copy).
   */
  bundle: string;
  /**
   * The wrapper command. It runs in its own session, with stdin `/dev/null`, stdout and stderr
   * going to the log, and fd 3 appending to the set-up channel (`<bundle>/setup`): the wrapper
   * writes `OK` there just before exec'ing the container's command, or a failure code. (A
   * container with `stdin` or `tty` gets its stdin from the wrapper itself: see stdio.ts.)
   */
  argv: string[];
  /** The exact environment of the wrapper (and so of the command). */
  env: Record<string, string>;
  /** CRI format log file of the instance (created by the monitor). */
  logPath: string;
}

/** A reserved launch (see {@link Monitor.reserve}). */
export interface Reservation {
  /** Bare container ID. */
  id: string;
  /**
   * A leaf cgroup (v1, under the root the monitor was given) that the instance's future main
   * process already belongs to. Joining a cgroup costs an RCU grace period (5–15 ms) when no
   * other process joined one just before, so the monitor did it ahead: the runtime renames the
   * leaf to its own name (a v1 cgroup can be renamed under the same parent) and skips the join.
   * After the reservation the leaf is the runtime's: it removes it once the instance is gone.
   */
  cgroup?: string;
}

/** How an instance ended, as the monitor saw it. */
export interface MonitorExit {
  /** Exit code, or 128 + signal number. */
  exitCode: number;
  /** The signal that ended the process, when known. */
  signal?: NodeJS.Signals;
  /** Epoch ms. */
  finishedAt: number;
}

/** A launched instance. */
export interface Launched {
  /** PID of the wrapper process (it exec's its way to the command). */
  pid: number;
  /** PID of the monitor process, when the monitor is a process of its own. */
  monitorPid?: number;
  /**
   * Settles once the wrapper wrote `OK` (the command is being exec'd: `ok` true) or the wrapper
   * exited before that (`ok` false); `text` is what the set-up channel holds.
   */
  setup: Promise<{ ok: boolean; text: string }>;
  /** Settles exactly once, when the wrapper process has exited. */
  exit: Promise<MonitorExit>;
  /**
   * Settles once the monitor has written the instance's last output to the log (the direct
   * monitor: both output pipes ended and the file is flushed). Absent where {@link exit}
   * implies it (conmon drains the output into the log before it records the exit).
   */
  logged?: Promise<void>;
}

/** What a monitor found for an instance an earlier podvisor process launched. */
export type Reattached =
  | { state: 'running'; exit: Promise<MonitorExit> }
  | { state: 'exited'; exit: MonitorExit }
  | { state: 'unknown'; why: string };

/** What a runtime records of a launch, for a later process to re-attach. */
export interface MonitorRecord {
  monitor: 'conmon' | 'direct';
  pid: number;
  /** `/proc/<pid>/stat` start time of `pid`, to tell the process from a reuse of its PID. */
  pidStartTime?: string;
  monitorPid?: number;
  monitorStartTime?: string;
}

/** A monitor implementation. */
export interface Monitor {
  readonly kind: 'conmon' | 'direct';
  /** True when instances outlive podvisor (the monitor, not podvisor, is their parent). */
  readonly outlivesPodvisor: boolean;
  /**
   * The next launch: its container ID (the monitor may have prepared that instance ahead) and,
   * when the prepared process already belongs to a leaf cgroup of its own, that leaf. A
   * reservation is launched or given back with {@link forget}.
   */
  reserve(): Promise<Reservation>;
  /** Launches an instance; rejects when the monitor itself cannot start it. */
  launch(spec: LaunchSpec): Promise<Launched>;
  /** Re-attaches to an instance a launch of an earlier process recorded. Never rejects. */
  reattach(id: string, bundle: string, record: MonitorRecord): Promise<Reattached>;
  /** The instance's exit record is no longer needed (the container was removed). */
  forget(id: string): Promise<void>;
  /**
   * Stops watching (launched instances keep running under `conmon`) and ends what was prepared
   * ahead for launches that will not come; resolves when that is gone (bounded).
   */
  close(): Promise<void>;
}
