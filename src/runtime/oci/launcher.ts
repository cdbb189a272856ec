/**
 * The `oci` runtime's part of a container start: what the sandbox runtime's container code
 * (`sandbox/containers.ts`) asks of it instead of its own `nsenter` wrapper.
 *
 * Per instance, in its bundle (`<pod dir>/containers/<id>`):
 *
 * - `rootfs/`: an overlay of the image's unpacked layers under a fresh writable layer
 *   (`rootfs.ts`): a restarted container starts from the image again, as on Kubernetes;
 * - `config.json`: built by the core's pure builder (handed in, see {@link OciLauncherOptions})
 *   from the process the agent computed, the user resolved in the image's files, the pod
 *   sandbox's namespaces (`/proc/<holder>/ns/…`), the volumes and the files the kubelet writes
 *   (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`), the security context, the limits and the
 *   container's leaf cgroup (the sandbox runtime's, so OOM kills and the complete kill work as
 *   on the sandbox runtime);
 * - the monitor's child is `runc run --keep` (foreground: runc waits for the container and exits
 *   with its status, 128 + n after signal n; `--keep` leaves the cgroup for the OOM counter until
 *   {@link OciLauncher.cleanup} deletes the container);
 * - a `poststart` hook writes the container's state (its host PID) and then `OK` in the bundle's
 *   set-up file, which the runtime watches whatever the monitor (a hook inherits no fd 3 from
 *   runc, and the direct monitor's channel is a socket no path reaches): the start is reported
 *   once the process runs, as on the other runtimes. The monitor's own channel (conmon's set-up
 *   file in its own bundle, or the direct monitor's pipe) gets `OK` from the wrapper just before
 *   it exec's runc, and is closed: the monitor is done with the launch (its spares are
 *   replenished, its FIFO closed), the runtime waits for the hook; runc's own
 *   errors (`exec: "x": executable file not found in $PATH`) are read from its JSON log;
 * - a container with `stdin` or `tty` (see stdio.ts): runc's stdin is the bundle's FIFO, which
 *   runc in the foreground copies to the container's stdin (and closes at its EOF); with `tty`,
 *   `process.terminal` is set (`TERM=xterm`, `consoleSize` 24x80) and `runc run` runs under
 *   `script`: runc makes the container's terminal and proxies it through script's (set raw,
 *   without echo), forwarding script's size on SIGWINCH. The container's init stays the main
 *   PID (from the hook); script is the monitor's child, whose exit code is runc's.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { OciSpecInput, SpecDevice, SpecMount } from '../../api/oci.js';
import { randomBytes } from 'node:crypto';
import type { ExecFailure, ExecPlan } from '../exec-plan.js';
import { SH, errText, run, setupMessage } from '../proc-util.js';
import { StartError, type ContainerStartSpec, type TerminalSize } from '../types.js';
import { DEFAULT_TTY_SIZE, stdinFromFifo, ttyExec, type PreparedStdio } from '../stdio.js';
import type { LayerStore } from './unpack.js';
import { SETUP_FILE } from '../monitor/setup-channel.js';
import { addImageUser, removeImageUser } from './image-gc.js';
import { mountRootfs, removeRootfs } from './rootfs.js';
import type { ImageStore } from './store.js';
import { resolveUser, UserError } from './users.js';

/** The core's `config.json` builder (`core/oci-spec.ts`), handed in by the composition root. */
export type OciSpecBuilder = (input: OciSpecInput) => Record<string, unknown>;

/** Options of {@link OciLauncher}. */
export interface OciLauncherOptions {
  /** The OCI runtime binary (runc). */
  runtimePath: string;
  /** runc's state directory (`--root`), private to this data dir. */
  stateRoot: string;
  layers: LayerStore;
  /** The image store (its user records: images in use are never collected). */
  store: ImageStore;
  buildSpec: OciSpecBuilder;
}

/** What a start needs of the pod's sandbox and the instance. */
export interface OciLaunchContext {
  id: string;
  bundle: string;
  pausePid: number;
  /** `pod`: the pod's PID namespace (the holder's) is joined. */
  sharePid: boolean;
  /**
   * Without `sharePid`: the host PID of a process whose PID namespace the container joins
   * instead of getting its own (an ephemeral container's target's main process: `kubectl debug
   * --target`, see `ContainerStartSpec.targetPidOf`); its `/proc` is the joined namespace's.
   */
  targetPid?: number;
  podDir: string;
  /** The container's leaf cgroup, relative to each hierarchy's root (`/podvisor-sandbox/<pod>/<id>`). */
  cgroupsPath: string;
  /**
   * A static init (catatonit) to run as PID 1 with the command as its child, bound at `/dev/init`
   * (`podvisor.io/container-init: "true"`, like `docker run --init`); absent: the command is PID
   * 1, as in a Kubernetes container.
   */
  init?: string;
  /**
   * The container's `stdin` / `tty` (see stdio.ts): runc's stdin comes from the FIFO (runc copies
   * it to the container's stdin, its EOF too); with `tty`, `process.terminal` is set (and the
   * first size, `consoleSize`) and runc runs in the foreground under script, whose terminal it
   * proxies to the container's own.
   */
  stdio?: PreparedStdio;
}

/**
 * The PID namespace a container joins by path: the pod's (the pause process's) when it is
 * shared, else its target's (an ephemeral container's); none: a new one.
 */
function pidNamespace(ctx: OciLaunchContext): { pid?: string } {
  if (ctx.sharePid) return { pid: `/proc/${ctx.pausePid}/ns/pid` };
  return ctx.targetPid !== undefined ? { pid: `/proc/${ctx.targetPid}/ns/pid` } : {};
}

/** Where the init is bound in the container (`/dev` is the container's own tmpfs). */
const INIT_PATH = '/dev/init';

const STATE_FILE = 'state.json';
const RUNC_LOG = 'runc.log';

/** The `oci` runtime's launches (see the module comment). */
export class OciLauncher {
  constructor(private readonly o: OciLauncherOptions) {}

  /**
   * Mounts the instance's root file system and writes its `config.json`; returns the monitor's
   * wrapper command. Rejects with {@link StartError} (`CreateContainerError`: the rootfs, the
   * user; `CreateContainerConfigError`: no image) and leaves nothing mounted then.
   */
  async prepare(spec: ContainerStartSpec, ctx: OciLaunchContext): Promise<string[]> {
    const img = spec.image;
    if (!img) throw new StartError('CreateContainerConfigError', `container "${spec.name}": the oci runtime needs the container's image`);
    const rootDir = path.join(ctx.bundle, 'rootfs');
    let merged: string;
    try {
      addImageUser(this.o.store, img.image.name, { id: ctx.id, namespace: spec.namespace, pod: spec.podName, container: spec.name, bundle: ctx.bundle, layers: img.image.layers });
      merged = (await mountRootfs(img.image.layers.map((d) => this.o.layers.dirOf(d)), rootDir)).merged;
    } catch (err) {
      throw new StartError('CreateContainerError', `failed to create container "${spec.name}": ${errText(err)}`);
    }
    try {
      const p = img.process;
      let user;
      try {
        user = resolveUser(merged, p.user, p.group, img.security.supplementalGroups);
      } catch (err) {
        if (err instanceof UserError) throw new StartError('CreateContainerError', `failed to create container "${spec.name}": ${err.message}`);
        throw err;
      }
      const mounts: SpecMount[] = spec.mounts.map((m) => ({ destination: m.mountPath, source: m.hostPath, readOnly: m.readOnly }));
      if (ctx.init !== undefined) mounts.push({ destination: INIT_PATH, source: ctx.init, readOnly: true });
      if (spec.terminationMessage) {
        // World-writable, as the kubelet's: the container's user may be anyone.
        const file = path.join(ctx.bundle, TERMINATION_LOG);
        fs.writeFileSync(file, '', { mode: 0o666 });
        fs.chmodSync(file, 0o666);
        mounts.push({ destination: spec.terminationMessage.path, source: file, readOnly: false });
        writeTerminationPolicy(ctx.bundle, spec.terminationMessage.policy);
      }
      for (const [src, dst] of await podFiles(ctx.podDir)) mounts.push({ destination: dst, source: src, readOnly: false });
      const ns = (n: string): string => `/proc/${ctx.pausePid}/ns/${n}`;
      const tty = ctx.stdio?.tty !== undefined;
      // A terminal's type, as containerd sets it for a tty container (kept when the image or spec sets one).
      const env = tty && !p.env.some((e) => e.startsWith('TERM=')) ? [...p.env, 'TERM=xterm'] : p.env;
      const input: OciSpecInput = {
        process: {
          args: ctx.init !== undefined ? [INIT_PATH, '--', ...p.args] : p.args, env, cwd: p.cwd, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids,
          ...(tty ? { terminal: true } : {}),
        },
        rootfs: merged,
        readonlyRootfs: img.security.readOnlyRootFilesystem,
        namespaces: { network: ns('net'), ipc: ns('ipc'), uts: ns('uts'), ...pidNamespace(ctx) },
        mounts,
        security: { privileged: img.security.privileged, add: img.security.add, drop: img.security.drop, ...(img.security.allowPrivilegeEscalation !== undefined ? { allowPrivilegeEscalation: img.security.allowPrivilegeEscalation } : {}) },
        resources: { ...spec.resources },
        devices: spec.gpus && spec.gpus.length > 0 ? gpuDevices(spec.gpus) : [],
        cgroupsPath: ctx.cgroupsPath,
        annotations: { 'io.kubernetes.pod.name': spec.podName, 'io.kubernetes.pod.namespace': spec.namespace, 'io.kubernetes.container.name': spec.name },
        poststart: [{ path: SH, args: ['sh', '-c', `IFS= read -r s; printf '%s\\n' "$s" > "$1/${STATE_FILE}" && echo OK >> "$1/${SETUP_FILE}"`, 'sh', ctx.bundle] }],
      };
      const config = this.o.buildSpec(input);
      const proc = config['process'];
      // runc sizes the container's terminal before the command starts (it copies script's later).
      if (tty && typeof proc === 'object' && proc !== null) (proc as Record<string, unknown>)['consoleSize'] = { height: DEFAULT_TTY_SIZE.height, width: DEFAULT_TTY_SIZE.width };
      await fsp.writeFile(path.join(ctx.bundle, 'config.json'), JSON.stringify(config));
    } catch (err) {
      await removeRootfs(rootDir).catch(() => undefined);
      if (err instanceof StartError) throw err;
      throw new StartError('CreateContainerError', `failed to create container "${spec.name}": ${errText(err)}`);
    }
    const runc = [this.o.runtimePath, '--root', this.o.stateRoot, '--log', path.join(ctx.bundle, RUNC_LOG), '--log-format', 'json', 'run', '--keep', '--bundle', ctx.bundle, ctx.id];
    const stdio = ctx.stdio;
    if (!stdio) return [SH, '-c', 'echo OK >&3; exec 3>&- && exec "$@"', 'sh', ...runc];
    // With a terminal, script's is set raw without echo: the container's own terminal echoes.
    const exec = stdio.tty ? ttyExec(stdio.tty, runc, { raw: true, reportOk: false, env: undefined }) : 'exec "$@"';
    return [SH, '-c', `echo OK >&3; exec 3>&-\n${exec} ${stdinFromFifo(stdio)}`, 'sh', ...(stdio.tty ? [] : runc)];
  }

  /**
   * The termination message of an instance that exited (the kubelet's rules): what the command
   * wrote to its `terminationMessagePath` file, at most 4 KiB; under `FallbackToLogsOnError`, when
   * that is empty and the exit failed, the last 80 lines of its log, at most 2 KiB. Undefined when
   * the container has no termination message file.
   */
  terminationMessage(bundle: string, exitCode: number, logFile: string): string | undefined {
    const policy = readTerminationPolicy(bundle);
    if (policy === undefined) return undefined;
    let text = '';
    try {
      const fd = fs.openSync(path.join(bundle, TERMINATION_LOG), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        const buf = Buffer.alloc(MESSAGE_MAX);
        text = buf.subarray(0, fs.readSync(fd, buf, 0, MESSAGE_MAX, 0)).toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // no file
    }
    if (text === '' && policy === 'FallbackToLogsOnError' && exitCode !== 0) {
      const lines = criLines(logFile).slice(-LOG_LINES_MAX).join('\n');
      text = lines.length > LOG_MESSAGE_MAX ? lines.slice(lines.length - LOG_MESSAGE_MAX) : lines;
    }
    return text;
  }

  /** The container's host PID, from the state the `poststart` hook wrote. */
  mainPid(bundle: string): number | undefined {
    try {
      const pid = (JSON.parse(fs.readFileSync(path.join(bundle, STATE_FILE), 'utf8')) as { pid?: unknown }).pid;
      return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The {@link StartError} of a start that failed before the process ran: runc's logged error,
   * else what it printed (the instance's CRI log, `logFile`).
   */
  failure(spec: ContainerStartSpec, bundle: string, logFile: string): StartError {
    const msg = runcError(bundle) ?? logTail(logFile) ?? 'the OCI runtime exited before the container started';
    return new StartError('RunContainerError', `failed to start container "${spec.name}": ${msg}`);
  }

  /**
   * The container is gone: deletes it from runc's state (and the cgroups runc made), unmounts
   * its root file system and removes its writable layer and its image user record. Idempotent;
   * never throws. False when something could not be undone (runc still knows the container, or
   * the rootfs stays mounted): the caller must then keep the bundle for a later attempt.
   */
  async cleanup(id: string, bundle: string): Promise<boolean> {
    const deleted = await run([this.o.runtimePath, '--root', this.o.stateRoot, 'delete', '--force', id], { timeoutMs: 30_000 }).catch(() => undefined);
    // A container runc could not delete may still run on its writable layer: keep it (a later reap retries).
    const gone = deleted !== undefined && (deleted.code === 0 || /does not exist|not exist/.test(deleted.stderr));
    if (!gone) return false;
    try {
      await removeRootfs(path.join(bundle, 'rootfs'));
    } catch {
      return false;
    }
    await removeImageUser(this.o.store, id).catch(() => undefined);
    return true;
  }

  /**
   * How a command runs in the container (probe and streaming exec): `runc exec`, with the
   * container's process settings (environment, working dir, user, capabilities). With a
   * `terminal`, the process is the container's own (`config.json`) with the command, a terminal,
   * `TERM=xterm` (as containerd sets for a tty exec) and the terminal's first size
   * (`consoleSize`: runc sizes the pty it makes in the container before the command starts; the
   * size it copies from its own terminal afterwards would race with the command), given with
   * `--process`. runc in the foreground proxies that pty to its own stdin, which must be a
   * terminal (the caller runs it under `script`), and forwards its SIGWINCH. runc's errors go
   * to a JSON log of this exec, which tells a command that cannot be found (127) or run (126);
   * the exec'd process (`--pid-file`) leads its own session (runc's init calls setsid) and is
   * watched: runc in the foreground copies the process's output through its own pipes and ends
   * only once every holder closed them, so what the command leaves behind is killed when it has
   * ended.
   */
  execPlan(id: string, bundle: string, command: string[], terminal?: { size?: TerminalSize }): ExecPlan {
    const tag = randomBytes(6).toString('hex');
    const log = path.join(bundle, `exec-${tag}.log`);
    const pidFile = path.join(bundle, `exec-${tag}.pid`);
    const processFile = path.join(bundle, `exec-${tag}.json`);
    const cmd = command[0] ?? '';
    // runc takes its options before the container ID.
    let how = [id, ...command];
    if (terminal) {
      how = ['--tty', '--env', 'TERM=xterm', id, ...command];
      const proc = execProcess(bundle, command, terminal.size);
      if (proc !== undefined) {
        fs.writeFileSync(processFile, JSON.stringify(proc), { mode: 0o600 });
        how = ['--process', processFile, id];
      }
    }
    return {
      argv: [this.o.runtimePath, '--root', this.o.stateRoot, '--log', log, '--log-format', 'json', 'exec', '--pid-file', pidFile, ...how],
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      cmd,
      workingDir: '/',
      signalledByCode: true, // runc exits with 128 + n when signal n killed the process
      wrapperFailure: { prefix: 'exec failed: ', read: () => execFailure(log, cmd) },
      ownTerminal: terminal !== undefined, // runc -t proxies the container's pty through script's
      commandPid: () => {
        try {
          const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
          return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
        } catch {
          return undefined;
        }
      },
      cleanup: async () => {
        await Promise.all([log, pidFile, processFile].map((f) => fsp.rm(f, { force: true }).catch(() => undefined)));
      },
    };
  }
}

/**
 * The process of a terminal exec: the container's own (its `config.json`) running `command` on
 * a terminal of `size`, with `TERM=xterm`; undefined when the config cannot be read (the caller
 * falls back to runc's flags, without the first size).
 */
function execProcess(bundle: string, command: string[], size: TerminalSize | undefined): Record<string, unknown> | undefined {
  let proc: Record<string, unknown>;
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process?: unknown };
    if (typeof cfg.process !== 'object' || cfg.process === null) return undefined;
    proc = { ...(cfg.process as Record<string, unknown>) };
  } catch {
    return undefined;
  }
  const env = Array.isArray(proc['env']) ? (proc['env'] as unknown[]).filter((e): e is string => typeof e === 'string' && !e.startsWith('TERM=')) : [];
  proc['args'] = command;
  proc['env'] = [...env, 'TERM=xterm'];
  proc['terminal'] = true;
  const rows = Math.trunc(size?.height ?? 0);
  const cols = Math.trunc(size?.width ?? 0);
  if (rows > 0 && cols > 0) proc['consoleSize'] = { height: Math.min(rows, 0xffff), width: Math.min(cols, 0xffff) };
  else delete proc['consoleSize'];
  return proc;
}

/**
 * Why `runc exec` did not start the command, from its JSON log (its `exec failed: …` error): not
 * found (127), or not runnable (126: permission denied, a working dir gone, …). Undefined when
 * it logged no error (the command ran).
 */
function execFailure(log: string, cmd: string): ExecFailure | undefined {
  let text: string;
  try {
    text = fs.readFileSync(log, 'utf8');
  } catch {
    return undefined;
  }
  let msg: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const e = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (e.level === 'error' && typeof e.msg === 'string') msg = e.msg;
    } catch {
      // not a log line
    }
  }
  if (msg === undefined) return undefined;
  if (/exec: "[^"]*": .*(executable file not found|no such file or directory)/.test(msg)) return { exitCode: 127, message: setupMessage({ code: 'notfound', details: '' }, cmd, '/').text };
  if (/exec: "[^"]*": .*permission denied/.test(msg)) return { exitCode: 126, message: setupMessage({ code: 'noexec', details: '' }, cmd, '/').text };
  return { exitCode: 126, message: msg };
}

const TERMINATION_LOG = 'termination-log';
const TERMINATION_POLICY = 'termination-policy';
/** The kubelet's limits: 4 KiB from the file; 80 lines and 2 KiB from the log. */
const MESSAGE_MAX = 4096;
const LOG_LINES_MAX = 80;
const LOG_MESSAGE_MAX = 2048;

function writeTerminationPolicy(bundle: string, policy: string): void {
  fs.writeFileSync(path.join(bundle, TERMINATION_POLICY), policy);
}

function readTerminationPolicy(bundle: string): 'File' | 'FallbackToLogsOnError' | undefined {
  try {
    const p = fs.readFileSync(path.join(bundle, TERMINATION_POLICY), 'utf8');
    return p === 'FallbackToLogsOnError' ? p : 'File';
  } catch {
    return undefined;
  }
}

/** How much of a log's end is read for a fallback message (a log may be gigabytes). */
const LOG_TAIL_BYTES = 64 * 1024;

/**
 * The last lines of a CRI log (partial lines joined), without their timestamps and streams;
 * only its last {@link LOG_TAIL_BYTES} are read (the first, possibly cut, line is dropped).
 */
function criLines(file: string): string[] {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      const n = fs.readSync(fd, buf, 0, buf.length, start);
      text = buf.subarray(0, n).toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const out: string[] = [];
  let partial = '';
  for (const l of text.split('\n')) {
    const m = /^\S+ (?:stdout|stderr) ([PF]) ?(.*)$/.exec(l);
    if (!m) continue;
    partial += m[2] ?? '';
    if (m[1] === 'F') {
      out.push(partial);
      partial = '';
    }
  }
  return out;
}

/** The NVIDIA devices every GPU container needs besides its own `/dev/nvidia<N>`. */
const NVIDIA_CONTROL = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset'];

/**
 * The device nodes of GPUs `ids` (indexes, or `GPU-<uuid>` looked up with `nvidia-smi`) and the
 * driver's control devices, as they exist under `devDir` (the NVIDIA container toolkit gives a
 * container the same); missing ones are skipped.
 */
export function gpuDevices(ids: readonly string[], devDir = '/dev', uuidIndex: (uuid: string) => string | undefined = nvidiaIndexOf): SpecDevice[] {
  const names = [...ids.map((id) => `nvidia${/^\d+$/.test(id) ? id : uuidIndex(id) ?? 'unknown'}`), ...NVIDIA_CONTROL];
  const out: SpecDevice[] = [];
  for (const n of names) {
    try {
      const st = fs.statSync(path.join(devDir, n));
      if (!st.isCharacterDevice()) continue;
      out.push({ path: `/dev/${n}`, type: 'c', major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00), fileMode: st.mode & 0o777 });
    } catch {
      // not on this machine
    }
  }
  return out;
}

let uuidIndexes: Map<string, string> | undefined;
function nvidiaIndexOf(uuid: string): string | undefined {
  if (!uuidIndexes) {
    uuidIndexes = new Map();
    const r = spawnSync('nvidia-smi', ['--query-gpu=index,uuid', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000 });
    for (const line of (r.stdout ?? '').split('\n')) {
      const [index, u] = line.split(',').map((x) => x.trim());
      if (index !== undefined && u !== undefined && u !== '') uuidIndexes.set(u, index);
    }
  }
  return uuidIndexes.get(uuid);
}

/** The last lines of a CRI log (the text of each line), if any. */
function logTail(file: string): string | undefined {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' ').slice(3).join(' '));
    return lines.length > 0 ? lines.slice(-3).join('; ') : undefined;
  } catch {
    return undefined;
  }
}

/** The last error runc logged (its JSON log), if any. */
function runcError(bundle: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(bundle, RUNC_LOG), 'utf8');
  } catch {
    return undefined;
  }
  let last: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const e = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (e.level === 'error' && typeof e.msg === 'string') last = e.msg;
    } catch {
      // not a log line
    }
  }
  return last;
}

/**
 * The files the kubelet writes for every container of a pod, as (host file, container path):
 * `/etc/hosts` and `/etc/hostname` (the sandbox's) and `/etc/resolv.conf` (the host's, copied
 * into the pod directory once, as the kubelet does for a pod without cluster DNS).
 */
async function podFiles(podDir: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const [name, dst] of [['etc-hosts', '/etc/hosts'], ['etc-hostname', '/etc/hostname']] as const) {
    const f = path.join(podDir, name);
    if (fs.existsSync(f)) out.push([f, dst]);
  }
  const resolv = path.join(podDir, 'etc-resolv.conf');
  if (!fs.existsSync(resolv)) {
    const host = await fsp.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    await fsp.writeFile(resolv, host);
  }
  out.push([resolv, '/etc/resolv.conf']);
  return out;
}
