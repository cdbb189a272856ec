/**
 * What podvisor records about a pod sandbox in `<podDir>/sandbox.json`, so that a later podvisor
 * process (after a crash or a stop) re-attaches it with the same IP, or tears down what is left.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Sandbox } from '../types.js';

/** `container` = own PID namespace (Kubernetes' default), `pod` = shareProcessNamespace. */
export type PidMode = 'container' | 'pod';

/** The state file of one sandbox (`sandbox.json`). */
export interface SandboxState {
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

const STATE_FILE = 'sandbox.json';

/** The network namespace (and CNI container ID) of a pod: stable for a pod UID. */
export function netnsName(podUid: string): string {
  return `pv-${createHash('sha256').update(podUid).digest('hex').slice(0, 12)}`;
}

/** The recorded state of a pod's sandbox, if there is a usable one. */
export async function readState(podDir: string, podUid: string): Promise<SandboxState | undefined> {
  try {
    const s = JSON.parse(await fsp.readFile(path.join(podDir, STATE_FILE), 'utf8')) as SandboxState;
    return s.version === 1 && s.podUid === podUid ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the state atomically (temporary file, rename). */
export async function writeState(podDir: string, state: SandboxState): Promise<void> {
  const file = path.join(podDir, STATE_FILE);
  await fsp.writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o640 });
  await fsp.rename(`${file}.tmp`, file);
}

/** Removes the state file (the sandbox is gone). */
export async function removeState(podDir: string): Promise<void> {
  await fsp.rm(path.join(podDir, STATE_FILE), { force: true });
}

/** The port's view of a sandbox. */
export function sandboxOf(state: SandboxState, podDir: string): Sandbox {
  const emptyDirPaths: Record<string, string> = {};
  for (const v of state.emptyDirs) emptyDirPaths[v] = path.join(podDir, 'volumes', v);
  const sb: Sandbox = { id: state.netns, podUid: state.podUid, dir: podDir, emptyDirPaths };
  if (state.ip !== undefined) sb.ip = state.ip;
  return sb;
}
