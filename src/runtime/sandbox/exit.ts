/**
 * The end of a sandbox instance: the complete kill (the wrapper's process group, then every
 * process of its leaf cgroup) and what its exit report needs once the wrapper exited (the
 * signal, the OOM kill, the last output in the log, on oci the termination message), with the
 * bounds of those waits.
 */
import type { ExecStreams } from '../exec-kill.js';
import { signalOfExitCode } from '../monitor/signals.js';
import type { MonitorExit } from '../monitor/types.js';
import type { OciLauncher } from '../oci/launcher.js';
import { errText, procStartTime, removeCgroupDir, tryKill, within } from '../proc-util.js';
import type { ExitInfo } from '../types.js';
import type { SandboxCgroups } from './cgroups.js';
import type { Instance } from './instance.js';

/** Upper bound for sweeping a container's cgroup until empty. */
export const SWEEP_DEADLINE_MS = 5_000;
/** How long an exit report waits for the instance's last output to reach its log. */
const LOG_DRAIN_MS = 2_000;
/** Upper bound for waiting for an instance's exit to be processed (after a kill). */
export const KILL_WAIT_MS = 10_000;

/** SIGKILLs the wrapper's process group while the wrapper is the recorded process. */
export function killGroup(inst: Instance): void {
  if (inst.wrapperStartTime !== undefined && procStartTime(inst.wrapperPid) !== inst.wrapperStartTime) return;
  tryKill(-inst.wrapperPid, 'SIGKILL');
}

/** What {@link finishInstance} works with. */
export interface FinishContext {
  cgroups: SandboxCgroups;
  /** The oci runtime's launcher (undefined on the sandbox runtime). */
  oci: OciLauncher | undefined;
  /** Live `kubectl exec` streams, killed with their instance. */
  execs: ExecStreams;
  log: (msg: string, fields?: object) => void;
}

/**
 * The wrapper exited: kill what is left of the container (cgroup until empty), read the OOM
 * counter, remove its cgroups, then report. `oomKilled` = 137 and an OOM kill in the
 * container's leaf. Never rejects.
 */
export async function finishInstance(inst: Instance, e: MonitorExit, c: FinishContext): Promise<ExitInfo> {
  const finishedAt = Math.max(e.finishedAt, inst.startedAt ?? -Infinity);
  inst.finishedAt = finishedAt;
  inst.alive = false;
  const info: ExitInfo = { exitCode: e.exitCode, oomKilled: false, finishedAt };
  // The init ends with 128 + n when a signal killed the command (as tini and docker --init do);
  // so does `runc run`.
  // So does script under a tty (see stdio.ts).
  const signal = e.signal ?? (inst.init || c.oci || inst.stdio?.stdio.tty ? signalOfExitCode(e.exitCode) : undefined);
  if (signal !== undefined) info.signal = signal;
  c.execs.killInstance(inst.id);
  inst.stdio?.end();
  try {
    killGroup(inst);
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    const swept = await c.cgroups.sweep(inst.procsDir, deadline);
    // Its last output is in the log before the exit is reported (and before a termination
    // message is read from it): the output pipes end once nothing of the instance runs.
    if (inst.logged !== undefined && !(await within(inst.logged, LOG_DRAIN_MS))) {
      c.log('the log of an exited container was not complete in time', { podUid: inst.podUid, container: inst.name });
    }
    if (swept) {
      if (info.exitCode === 137 && (await c.cgroups.oomKills(inst.memoryDir)) > 0) info.oomKilled = true;
      const message = c.oci?.terminationMessage(inst.bundle, info.exitCode, inst.logFile);
      if (message !== undefined && message !== '') info.message = message;
      for (const d of inst.cgroupDirs) await removeCgroupDir(d, deadline).catch(() => {});
    } else {
      c.log('cgroup not empty after sweep', { podUid: inst.podUid, container: inst.name, cgroup: inst.procsDir });
    }
  } catch (err) {
    c.log('cleanup after container exit failed', { podUid: inst.podUid, container: inst.name, error: errText(err) });
  }
  return info;
}
