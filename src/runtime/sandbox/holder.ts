/**
 * The holder of a pod sandbox: a small process (`catatonit -P`, or tini over a busybox sleep)
 * in the pod's network namespace that keeps the pod's IPC and UTS namespaces (hostname = pod
 * name) and, with `shareProcessNamespace`, the pod's PID namespace (it is its init). Containers
 * join its namespaces with `nsenter -t <pause PID>`. It is not podvisor's child for long: it is
 * spawned detached and unref'd, so it survives a podvisor restart, and the state file records
 * its PID and start time to find it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SH, childrenOf, procStartTime, shq, tryKill } from '../proc-util.js';
import { PodNetwork, must } from './network.js';
import type { SandboxState } from './state.js';
import type { Tools } from './tools.js';

const HOLDER_START_MS = 5_000;

/** Kubernetes truncates hostnames to 63 characters. */
function hostnameOf(podName: string, fallback: string): string {
  const h = podName.slice(0, 63).replace(/[-.]+$/, '');
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(h) ? h : fallback;
}

/**
 * Starts the holder in the pod's (already connected) network namespace, in the pause leaves of
 * the pod cgroup; records `holderPid`, `pausePid` and `pauseStart` in `state`. Then sets the
 * hostname and writes the files bound over `/etc/hostname` and `/etc/hosts` in containers.
 */
export async function startHolder(tools: Tools, state: SandboxState, pauseDirs: string[], podDir: string): Promise<void> {
  const t = tools;
  const fork = state.pidMode === 'pod' ? ['--pid', '--fork', '--mount-proc'] : [];
  const pauseCmd = t.pause.kind === 'catatonit' ? [t.pause.path, '-P'] : [t.pause.path, '-s', '--', t.busybox, 'sleep', '2147483647'];
  const joinPause = pauseDirs.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`).join(' && ');
  const holderLog = fs.openSync(path.join(podDir, 'sandbox.log'), 'a', 0o640);
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
      const text = await fsp.readFile(path.join(podDir, 'sandbox.log'), 'utf8').catch(() => '');
      throw new Error(`the holder process did not start${text.trim() ? `: ${text.trim().split('\n').slice(-3).join('; ')}` : ''}`);
    }
    await delay(Math.min(1 + round, 10));
  }
  const hostname = hostnameOf(state.podName, state.netns);
  await must([t.nsenter, '-t', String(state.pausePid), '-u', '--', t.busybox, 'hostname', hostname], 'set the hostname');
  await fsp.writeFile(path.join(podDir, 'etc-hostname'), `${hostname}\n`, { mode: 0o644 });
  await fsp.writeFile(path.join(podDir, 'etc-hosts'), [
    '# Kubernetes-managed hosts file (podvisor sandbox runtime).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${state.ip ?? ''}\t${hostname}`,
    '',
  ].join('\n'), { mode: 0o644 });
}

/** The files containers see as `/etc/hosts` and `/etc/hostname` (host path, container path). */
export function podEtcFiles(podDir: string): [string, string][] {
  return [[path.join(podDir, 'etc-hosts'), '/etc/hosts'], [path.join(podDir, 'etc-hostname'), '/etc/hostname']];
}

/**
 * Kills the pause process if it still is the recorded one. With a pod PID namespace it takes
 * every process in it along; its parent (the holder) reaps it: this waits for that, so that a
 * later sweep that kills the holder too leaves no zombie waiting for host init (the cgroup
 * would stay busy).
 */
export async function stopPause(state: SandboxState | undefined): Promise<void> {
  const pause = state?.pausePid;
  if (pause === undefined || state?.pauseStart === undefined || procStartTime(pause) !== state.pauseStart) return;
  tryKill(pause, 'SIGKILL');
  for (let round = 0; round < 100 && fs.existsSync(`/proc/${pause}`); round++) await delay(Math.min(1 + round, 10));
}

/** Whether the recorded netns and pause process still exist and belong together. */
export function holderHealthy(state: SandboxState): boolean {
  if (state.pausePid === undefined || state.pauseStart === undefined || state.ip === undefined) return false;
  if (procStartTime(state.pausePid) !== state.pauseStart) return false;
  return PodNetwork.holds(state.netns, state.pausePid);
}
