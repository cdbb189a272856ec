/**
 * The host runtime's wrapper shells (see the module comment of host.ts for the layers): the
 * argv that starts a container (cgroup join, mount namespace and bind mounts, checks, stdio,
 * exec of the command) and the {@link ExecPlan} that runs a command in a running instance's
 * context.
 */
import * as path from 'node:path';
import type { ExecPlan } from '../exec-plan.js';
import { SH, finalScript, mountScript, parseSetup, shq, sweepSession, tryKill } from '../proc-util.js';
import { STDIN_FROM_FD, openStdinLine, ttyExec, type PreparedStdio } from '../stdio.js';
import type { ContainerStartSpec } from '../types.js';
import type { HostCapabilities } from './capabilities.js';
import { SWEEP_DEADLINE_MS, accountingDirsOf, joinAccounting, type MadeCgroup } from './cgroups.js';
import type { Instance } from './instance.js';

/** What a container's start prepared before its wrapper is built (see {@link startArgv}). */
export interface StartSetup {
  /** Per mount of the spec: its host path is a file (see `mountSourceKinds`). */
  hostIsFile: readonly boolean[];
  /** The container's exact environment. */
  env: Record<string, string>;
  workingDir: string;
  /** Its leaf cgroup, when it has one. */
  made: MadeCgroup | undefined;
  /** Its stdin FIFO (and terminal tools), for a `stdin` / `tty` container. */
  prepared: PreparedStdio | undefined;
}

/**
 * The argv the monitor launches for a container: with `stdin`, the outermost shell opens the
 * FIFO; the container joins its leaf cgroup unless its prepared process already did, and its
 * v1 accounting leaves; with mounts, `unshare` makes the private mount namespace in which the
 * last shell makes them; the last shell checks the working dir and the command (with mounts
 * only: without, they are checked in-process by `precheck`) and exec's the command (under
 * `script` with a tty).
 */
export function startArgv(caps: Readonly<HostCapabilities>, spec: ContainerStartSpec, s: StartSetup): string[] {
  const { made, prepared } = s;
  const prefix: string[] = [];
  // The FIFO is opened by the outermost shell (see stdio.ts).
  let script = prepared ? openStdinLine(prepared) : '';
  if (made !== undefined && !made.joined) {
    script += `{ echo $$ > ${shq(path.join(made.dir, 'cgroup.procs'))}; } 2>&3 || { echo 'E cgroup' >&3; exit 126; }\n`;
  }
  // The accounting leaves (v1) the prepared process is not in yet. For stats only: a failed
  // join costs the stats, not the start.
  if (made !== undefined && made.toJoin.length > 0) script += `${joinAccounting(made.toJoin)}\n`;
  const mountNamespace = spec.mounts.length > 0;
  if (mountNamespace) {
    const tools = caps.tools;
    const unshare = tools.unshare ?? 'unshare';
    const userns = caps.mounts === 'userns' ? ['--user', '--map-root-user'] : [];
    prefix.push(SH, '-c', `${script}exec "$@"`, 'sh', unshare, ...userns, '--mount', '--propagation', 'private', '--');
    script = mountScript(spec.mounts, s.hostIsFile, tools.mkdir ?? 'mkdir', tools.mount ?? 'mount');
  }
  const launch = prepared && {
    stdin: STDIN_FROM_FD, ...(prepared.tty ? { tty: ttyExec(prepared.tty, spec.argv, { raw: false, reportOk: true, env: s.env }) } : {}),
  };
  return [...prefix, SH, '-c', script + finalScript(s.workingDir, s.env, true, mountNamespace, '', launch), 'sh', ...spec.argv];
}

/**
 * How a command runs in the instance's context (probe and streaming exec): its environment,
 * the working-dir and command checks of the last shell (set-up channel fd 3), `nsenter
 * --mount` into its mount namespace when it has one, its cgroup joined first (best effort: the
 * container may be exiting and its cgroup gone).
 */
export function execPlanOf(caps: Readonly<HostCapabilities>, inst: Instance, command: string[]): ExecPlan {
  const tools = caps.tools;
  let argv: string[] = [SH, '-c', finalScript(inst.workingDir, inst.env, false), 'sh', ...command];
  if (inst.mountNamespace && tools.nsenter !== undefined) {
    const userns = caps.mounts === 'userns' ? ['--user', '--preserve-credentials'] : [];
    argv = [tools.nsenter, '--target', String(inst.pid), ...userns, '--mount', '--', ...argv];
  }
  if (inst.cgroupDir !== undefined) {
    const accounting = accountingDirsOf(caps.cgroup, inst.cgroupDir);
    const joins = accounting.length > 0 ? `${joinAccounting(accounting)}; ` : '';
    argv = [SH, '-c', `{ echo $$ > ${shq(path.join(inst.cgroupDir, 'cgroup.procs'))}; } 2>/dev/null; ${joins}exec "$@"`, 'sh', ...argv];
  }
  return {
    argv, env: inst.env, cmd: command[0] ?? '', workingDir: inst.workingDir, parseSetup,
    afterProbe: async (pgid) => {
      // Without a cgroup nothing else stops what the exec left behind from outliving it.
      if (inst.cgroupDir !== undefined) return;
      tryKill(-pgid, 'SIGKILL');
      await sweepSession(pgid, Date.now() + SWEEP_DEADLINE_MS);
    },
  };
}
