/**
 * A container's process from its image and its spec, exactly as Kubernetes combines them (pure):
 *
 * - the command line (the table of "Define a command and arguments for a container"; containerd's
 *   CRI plugin does the same): no `command` and no `args` run the image's `Entrypoint` + `Cmd`;
 *   `command` alone runs it (the image's `Cmd` is ignored); `args` alone run the image's
 *   `Entrypoint` + `args`; both run `command` + `args`. Nothing at all is the runtime's
 *   `no command specified`;
 * - the environment: the image's `Env`, then the container's variables, a container variable
 *   replacing the image's value of the same name in place (containerd's
 *   `replaceOrAppendEnvValues`);
 * - the working dir: the container's, else the image's, else `/`;
 * - the user: `securityContext.runAsUser`/`runAsGroup` (the container's over the pod's) over the
 *   image's `User` (`uid`, `uid:gid`, `name`, `name:group`), whose group part Kubernetes drops
 *   (the kubelet passes the image's user alone: the group is then the user's primary one);
 * - `runAsNonRoot`: refused with the kubelet's messages (`verifyRunAsNonRoot`) when the process
 *   would run as root, or as a user name that cannot be checked.
 */
import type { ContainerProcess, ImageProcessConfig } from '../api/oci.js';
import type { Container, Pod, PodSecurityContext, SecurityContext } from '../api/types.js';

export type { ContainerProcess, ImageProcessConfig } from '../api/oci.js';



/** `format.Pod`: `name_namespace(uid)`. */
function podText(pod: Pod): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`;
}

/** The command line of a container (see the module comment); the runtime's error when empty. */
export function containerArgs(image: ImageProcessConfig, c: Pick<Container, 'command' | 'args'>): string[] | { error: string } {
  const command = c.command ?? [];
  const args = c.args ?? [];
  let out: string[];
  if (command.length > 0) out = [...command, ...args];
  else out = [...(image.Entrypoint ?? []), ...(args.length > 0 ? args : image.Cmd ?? [])];
  return out.length > 0 ? out : { error: 'no command specified' };
}

/** The image's environment with the container's variables over it (see the module comment). */
export function mergeEnv(imageEnv: readonly string[], containerEnv: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  const set = (name: string, entry: string): void => {
    const i = at.get(name);
    if (i === undefined) {
      at.set(name, out.length);
      out.push(entry);
    } else out[i] = entry;
  };
  for (const e of imageEnv) {
    const eq = e.indexOf('=');
    if (eq > 0) set(e.slice(0, eq), e);
  }
  for (const [name, value] of Object.entries(containerEnv)) set(name, `${name}=${value}`);
  return out;
}

/** Parses an image's `User`: `uid`, `uid:gid`, `name`, `name:group` (empty is root). */
export function parseImageUser(user: string | undefined): { user: { uid: number } | { name: string }; group?: { gid: number } | { name: string } } {
  const [u = '', g] = (user ?? '').split(':', 2);
  const id = (s: string): { uid: number } | { name: string } => (/^\d+$/.test(s) ? { uid: Number(s) } : { name: s });
  const out: ReturnType<typeof parseImageUser> = { user: u === '' ? { uid: 0 } : id(u) };
  if (g !== undefined && g !== '') out.group = /^\d+$/.test(g) ? { gid: Number(g) } : { name: g };
  return out;
}

/** The security contexts that apply to a container. */
export interface SecurityContexts {
  pod?: PodSecurityContext;
  container?: SecurityContext;
}

/**
 * The process of container `c` of `pod` with `image`'s config, the container's resolved
 * environment and its security contexts; `{ configError }` (the kubelet's
 * `CreateContainerConfigError` message) when it cannot run as configured.
 */
export function containerProcess(pod: Pod, c: Container, image: ImageProcessConfig, env: Readonly<Record<string, string>>, security: SecurityContexts = {}): ContainerProcess | { configError: string } {
  const args = containerArgs(image, c);
  if ('error' in args) return { configError: args.error };
  const podSc = security.pod;
  const sc = security.container;
  const runAsUser = sc?.runAsUser ?? podSc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? podSc?.runAsGroup;
  const runAsNonRoot = sc?.runAsNonRoot ?? podSc?.runAsNonRoot;
  const fromImage = parseImageUser(image.User);
  if (runAsNonRoot === true) {
    if (runAsUser !== undefined) {
      if (runAsUser === 0) return { configError: `container's runAsUser breaks non-root policy (pod: ${JSON.stringify(podText(pod))}, container: ${c.name})` };
    } else if ('uid' in fromImage.user && fromImage.user.uid === 0) {
      return { configError: `container has runAsNonRoot and image will run as root (pod: ${JSON.stringify(podText(pod))}, container: ${c.name})` };
    } else if ('name' in fromImage.user) {
      return { configError: `container has runAsNonRoot and image has non-numeric user (${fromImage.user.name}), cannot verify user is non-root (pod: ${JSON.stringify(podText(pod))}, container: ${c.name})` };
    }
  }
  const out: ContainerProcess = {
    args,
    env: mergeEnv(image.Env ?? [], env),
    cwd: c.workingDir !== undefined && c.workingDir !== '' ? c.workingDir : image.WorkingDir !== undefined && image.WorkingDir !== '' ? image.WorkingDir : '/',
    user: runAsUser !== undefined ? { uid: runAsUser } : fromImage.user,
  };
  // The kubelet hands the runtime the image's user ID or name only (getImageUser drops a `:group`),
  // so without runAsGroup the group is the user's primary one from the image's /etc/passwd.
  if (runAsGroup !== undefined) out.group = { gid: runAsGroup };
  return out;
}
