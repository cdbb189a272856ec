/**
 * The host runtime's complete kill after a container's main process exited: nothing of the
 * instance may run on once its exit is reported (see `HostRuntime.finish`).
 */
import { errText, removeCgroupDir, sweepCgroup, sweepSessions, tryKill, type Background } from '../proc-util.js';
import type { HostCapabilities, HostRuntimeLogger } from './capabilities.js';
import { SWEEP_DEADLINE_MS, accountingDirsOf, removeCgroupDirs } from './cgroups.js';
import type { Instance } from './instance.js';

/**
 * Kills what is left of the exited instance: its process group (and a tty's command's), then
 * everything in its cgroup until it is empty, or without a cgroup every process of its
 * sessions. An empty leaf and its accounting leaves are removed in `background`, off the
 * restart path. Never throws: what fails is logged.
 */
export async function sweepExited(inst: Instance, cg: HostCapabilities['cgroup'], background: Background, log: HostRuntimeLogger): Promise<void> {
  try {
    tryKill(-inst.pid, 'SIGKILL');
    if (inst.mainPid !== undefined) tryKill(-inst.mainPid, 'SIGKILL');
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    if (inst.cgroupDir !== undefined) {
      if (await sweepCgroup(inst.cgroupDir, cg?.version ?? 1, deadline)) {
        // Empty: nothing of the instance runs any more, which is what the exit report needs.
        // The leaves (the main one and the accounting ones) are removed off the restart path
        // (a cgroup rmdir costs about a millisecond, and may be busy for a while after the
        // last exit); release and close wait for them.
        const leaf = inst.cgroupDir;
        const accounting = accountingDirsOf(cg, leaf);
        background.run(async () => {
          await new Promise((r) => setImmediate(r)); // after this turn: the restart goes first
          await removeCgroupDir(leaf, deadline).catch((err: unknown) => {
            log('cannot remove the cgroup of an exited container', { podUid: inst.podUid, container: inst.name, cgroup: leaf, error: errText(err) });
          });
          if (accounting.length > 0) await removeCgroupDirs(accounting);
        });
      } else log('cgroup not empty after sweep', { podUid: inst.podUid, container: inst.name, cgroup: inst.cgroupDir });
    } else if (!(await sweepSessions([inst.pid, ...(inst.mainPid !== undefined ? [inst.mainPid] : [])], deadline))) {
      log('processes of the container survived the sweep', { podUid: inst.podUid, container: inst.name, pid: inst.pid });
    }
  } catch (err) {
    log('cleanup after container exit failed', { podUid: inst.podUid, container: inst.name, error: errText(err) });
  }
}
