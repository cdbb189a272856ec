/**
 * The sandbox runtime's wrapper shells: the argv the monitor starts for a container (cgroup
 * join, `nsenter` into the pod's namespaces, the PID namespace chain, bind mounts, checks,
 * stdio, exec of the command), how the command's PID is found below it once it started, and
 * the {@link ExecPlan} that runs a command in a running instance's context. On the oci runtime
 * the launcher's `runc run` and `runc exec` take their place (see the module comment of
 * containers.ts).
 *
 * The wrapper command handed to the monitor (`C` is the command):
 *
 * ```
 * /bin/sh -c '<join the leaf cgroups>; exec nsenter -t PAUSE -n -i -u [-p | --pid=/proc/T/ns/pid] -- … 4>&2 2>&3' sh   (wrapper: the monitor's child)
 *   own PID ns (default):   busybox unshare --mount --propagation private --pid --fork --mount-proc -- catatonit --
 *   own PID ns, no init:    busybox unshare --mount --propagation private --pid --fork --mount-proc --
 *   pod PID ns (shared):    (nsenter -p forks) unshare --mount --propagation private --
 *   target's PID ns:        (nsenter --pid=/proc/T/ns/pid forks) unshare --mount --propagation private --
 *   /bin/sh -c '<bind /etc/hosts, /etc/hostname, volumes>; cd; <check command>; echo OK >&3; exec "$@" 2>&4 4>&- 3>&-'  (C)
 * ```
 *
 * The last form is an ephemeral container's with a target (`kubectl debug --target`,
 * {@link ContainerStartSpec.targetPidOf}) in a pod without a shared PID namespace: it joins the
 * PID namespace of the target's running instance (T, its main process) instead of getting one,
 * as CRI's `NamespaceMode.TARGET` does, with no init of its own (PID 1 is the target's). In both
 * joined forms `C` mounts a `/proc` of the joined namespace on its private mount namespace, so
 * `ps` lists the pod's (the target's) processes.
 *
 * The forking parents (busybox unshare, nsenter -p) pass the command's exit code through and
 * re-raise the signal that killed it, so the exit status the monitor sees for the wrapper is the
 * command's own. Set-up failures are reported on fd 3, the monitor's set-up channel (a file), as
 * on the host runtime; success is an explicit `OK` line. While the wrappers run, their stderr
 * goes to the set-up channel too (so that a failing `nsenter` or `mount` explains itself in the
 * StartError); the container's real stderr waits on fd 4 and is restored by the final exec, so
 * the log keeps stdout and stderr apart.
 *
 * The main PID (what `signal` and `exec` target) is found below the wrapper once the command
 * reported `OK`: the wrapper's child (busybox unshare's, or nsenter -p's), and with an init that
 * child's child. It is recorded, with its start time, in the launch record.
 *
 * `stdin` / `tty` containers (stdio.ts, attach.ts): the outer shell opens the stdin FIFO on fd 5
 * (in the host's mount namespace) and `C`'s exec moves it to fd 0. With a tty `C` exec's
 * `script`, found where the command would be, and the main PID is script's child (the command);
 * on oci the wrapper runs `runc run` under script (see `oci/launcher.ts`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecPlan } from '../exec-plan.js';
import type { OciLauncher } from '../oci/launcher.js';
import { SH, childrenOf, finalScript, mountScript, parseSetup, procStartTime, shq } from '../proc-util.js';
import { STDIN_FROM_FD, openStdinLine, terminalChild, ttyExec, type PreparedStdio } from '../stdio.js';
import { StreamUnavailableError, type ContainerStartSpec, type TerminalSize } from '../types.js';
import type { Leaf } from './cgroups.js';
import { podEtcFiles } from './holder.js';
import type { ContainerPidMode, Instance, PodContext } from './instance.js';
import type { Tools } from './tools.js';

/** What a container's start prepared before its wrapper is built (see {@link startArgv}). */
export interface StartSetup {
  pidMode: ContainerPidMode;
  /** The host PID whose PID namespace the container joins (`target` mode). */
  targetPid: number | undefined;
  /** Its leaf cgroups, which the wrapper joins first. */
  leaf: Leaf;
  /** Per mount of the spec: its host path is a file (see `mountSourceKinds`). */
  hostIsFile: boolean[];
  /** The container's exact environment. */
  env: Record<string, string>;
  workingDir: string;
  /** An init (`t.pause`) is PID 1 of the container's own PID namespace. */
  init: boolean;
  /** Its stdin FIFO (and terminal tools), for a `stdin` / `tty` container. */
  stdio: PreparedStdio | undefined;
}

/** The wrapper command of a start (see the module comment). */
export function startArgv(t: Tools, spec: ContainerStartSpec, pod: PodContext, s: StartSetup): string[] {
  const { pidMode, targetPid, leaf, hostIsFile, env, workingDir, init, stdio } = s;
  const join = leaf.dirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join(' && ');
  const chain = pidMode === 'container'
    ? [t.busybox, 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--mount-proc', '--', ...(init ? [t.pause.path, '--'] : [])]
    : [t.unshare, '--mount', '--propagation', 'private', '--'];
  // The target's PID namespace by path (nsenter forks into it as with -p); the others the pause process's.
  const nsFlags = pidMode === 'pod' ? '-n -i -u -p' : pidMode === 'target' ? `-n -i -u --pid=/proc/${targetPid ?? 0}/ns/pid` : '-n -i -u';
  // fd 4 keeps the container's stderr while the wrappers' own goes to the set-up channel.
  // A container's stdin FIFO is opened first, in the host's mount namespace (see stdio.ts).
  const outer = `${stdio ? openStdinLine(stdio) : ''}{ ${join}; } 2>&3 || { echo 'E cgroup' >&3; exit 126; }
s=$1; shift
exec ${shq(t.nsenter)} -t ${pod.pausePid} ${nsFlags} -- ${chain.map(shq).join(' ')} ${SH} -c "$s" sh "$@" 4>&2 2>&3
`;
  let inner = '';
  for (const [src, dst] of podEtcFiles(pod.podDir)) {
    if (fs.existsSync(dst)) inner += `${shq(t.mount)} --bind -- ${shq(src)} ${dst} || { echo 'E etc' >&3; exit 126; }\n`;
  }
  // A joined PID namespace's /proc (the pod's, the target's) on the private mount namespace.
  if (pidMode !== 'container') inner += `${shq(t.mount)} -t proc proc /proc || { echo 'E proc' >&3; exit 126; }\n`;
  inner += mountScript(spec.mounts, hostIsFile, t.mkdir, t.mount);
  const launch = stdio && {
    stdin: STDIN_FROM_FD, ...(stdio.tty ? { tty: ttyExec(stdio.tty, spec.argv, { raw: false, reportOk: true, env }) } : {}),
  };
  inner += finalScript(workingDir, env, true, true, '2>&4 4>&-', launch);
  return [SH, '-c', outer, 'sh', inner, ...spec.argv];
}

/**
 * The command's PID below the wrapper: busybox unshare's child (the init, whose child is the
 * command) in an own PID namespace, nsenter -p's child in the pod's (or the target's). The command wrote the
 * set-up line itself, so it exists (unless it already ended: then the wrapper's PID stays).
 * On oci, the container's init as runc reports it (`oci`).
 */
export function findMainPid(inst: Instance, oci: OciLauncher | undefined): void {
  let pid = oci ? oci.mainPid(inst.bundle) ?? inst.wrapperPid : childrenOf(inst.wrapperPid)[0] ?? inst.wrapperPid;
  if (inst.init && pid !== inst.wrapperPid) pid = childrenOf(pid)[0] ?? pid;
  if (inst.stdio?.stdio.tty) {
    // script holds the terminal: on oci it is the wrapper (runc's parent); else it is found
    // where the command would be, and the command is its child (see stdio.ts).
    const script = oci ? inst.wrapperPid : pid;
    inst.stdio.setTerminalHolder(script);
    if (!oci) pid = terminalChild(script)?.mainPid ?? pid;
  }
  inst.pid = pid;
  const t = procStartTime(pid);
  if (t !== undefined) inst.pidStartTime = t;
}

/**
 * How a command runs in the instance (probe and streaming exec): on oci `runc exec` (on a
 * terminal of the given first size, see `OciLauncher.execPlan`); else the container's cgroups
 * joined, then `nsenter` into its namespaces through the command's PID, then the last shell's
 * working-dir and command checks (set-up channel fd 3), with the container's environment. On
 * a terminal the command leads a session of its own inside (`setsid --ctty`, taking the
 * terminal over as root may): `nsenter -p` forks, so the terminal's process group would
 * otherwise be nsenter's, which does not exist in the container's PID namespace (a job-control
 * shell fails to hand the terminal back at its exit: "Cannot set tty process group", exit 2).
 * Throws {@link StreamUnavailableError} when a terminal is asked for without `setsid`.
 */
export function execPlanOf(
  tools: Tools, oci: OciLauncher | undefined, inst: Instance, command: string[], opts: { tty: boolean; size?: TerminalSize },
): ExecPlan {
  const tty = opts.tty;
  if (oci) return oci.execPlan(inst.id, inst.bundle, command, tty ? { ...(opts.size ? { size: opts.size } : {}) } : undefined);
  const join = inst.cgroupDirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join('; ');
  let session: string[] = [];
  let script = finalScript(inst.workingDir, inst.env, false);
  if (tty) {
    if (tools.setsid === undefined) throw new StreamUnavailableError('a terminal (kubectl exec -t) needs setsid from util-linux, which is not installed: apt-get install util-linux');
    session = [tools.setsid, '--ctty', '--wait'];
    script = `echo >&4; exec 4>&-\n${script}`; // the terminal is the command's now (see ExecPlan.readyInContext)
  }
  const argv = [
    SH, '-c', `{ ${join}; } 2>/dev/null; exec "$@"`, 'sh',
    tools.nsenter, '-t', String(inst.pid), '-n', '-i', '-u', '-p', '-m', '--', ...session, SH, '-c', script, 'sh', ...command,
  ];
  return { argv, env: inst.env, cmd: command[0] ?? '', workingDir: inst.workingDir, parseSetup, readyInContext: tty };
}
