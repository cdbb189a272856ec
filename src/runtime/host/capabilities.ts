/**
 * What the host runtime's parts share (re-exported by host.ts): what the host can do for the
 * runtime ({@link HostCapabilities}, found by probe.ts, with the unprobed baseline) and the
 * structured log sink.
 */

/** Structured log sink: a constant message plus fields (`podUid`, `container`, …). */
export type HostRuntimeLogger = (msg: string, fields?: object) => void;

/**
 * What the host can do for the runtime, probed once by `HostRuntime.probe`. Every feature
 * has a fallback, and `notes` says in words what is unavailable and why.
 */
export interface HostCapabilities {
  /**
   * Per-container cgroups used to find and kill every process of a container (including ones
   * that left the process group with `setsid`). `root` is the absolute directory under which
   * `<pod-uid>.<container-id>` leaves are created. Absent: only the process group is killed.
   * `accounting` (cgroup v1): the directories under which a leaf of the same name is made in
   * the `cpuacct` and `memory` hierarchies, for the container's resource usage (`stats`).
   */
  cgroup?: { version: 1 | 2; root: string; accounting?: { cpuacct?: string; memory?: string } };
  /**
   * How volume mounts are made: `root` = private mount namespace with bind mounts (needs root),
   * `userns` = the same inside an unprivileged user namespace (the container sees itself as
   * uid 0, mapped to podvisor's uid), `none` = pods with volume mounts are refused.
   */
  mounts: 'root' | 'userns' | 'none';
  /** Absolute paths of the external tools found in podvisor's PATH. */
  tools: { unshare?: string; nsenter?: string; mount?: string; mkdir?: string };
  /** Human-readable reasons for every missing feature (for `podvisor` diagnostics). */
  notes: string[];
}

/** The portable baseline: process-group kill only, no volume mounts. */
export const NO_CAPABILITIES: Readonly<HostCapabilities> = Object.freeze({
  mounts: 'none',
  tools: Object.freeze({}),
  notes: Object.freeze(['capabilities were not probed (use HostRuntime.create)']) as string[],
});
