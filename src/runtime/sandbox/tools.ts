/**
 * What the sandbox runtime needs on the host (Linux, root, util-linux, iproute2, busybox,
 * catatonit or tini, the CNI plugins, cgroups), found once and explained when missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_PATH, findExecutable } from '../proc-util.js';
import { probeCgroups } from './cgroups.js';

/** Absolute paths of the tools the runtime runs. */
export interface Tools {
  ip: string;
  nsenter: string;
  unshare: string;
  mount: string;
  mkdir: string;
  busybox: string;
  /**
   * util-linux `setsid` (a terminal exec makes the command lead a session in the container's PID
   * namespace with it); absent: `kubectl exec -t` is unavailable, the rest works.
   */
  setsid?: string;
  pause: { kind: 'catatonit' | 'tini'; path: string };
  cniDir: string;
}

const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

/** Where tools are looked for: podvisor's PATH, then the usual system directories. */
export function toolPath(): string {
  return `${process.env.PATH ?? ''}:${DEFAULT_PATH}`;
}

/** The tools, or every problem with its fix. */
export function probeTools(prefer?: 'catatonit' | 'tini'): { tools?: Tools; problems: string[] } {
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
  const setsid = findExecutable('setsid', p);
  return { tools: { ip, nsenter, unshare, mount, mkdir, busybox, pause, cniDir: cniDir ?? '', ...(setsid !== undefined ? { setsid } : {}) }, problems };
}

/**
 * Whether the sandbox runtime can run here: undefined when it can, else one message naming
 * every problem and its fix (root, Linux tools, CNI plugins, cgroups). Cheap (file checks only);
 * used by `SandboxRuntime.create`, the CLI and the tests' skip decision.
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
