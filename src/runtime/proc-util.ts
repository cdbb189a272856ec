/**
 * Process and shell helpers shared by the runtime adapters (`host`, `sandbox`): child exits,
 * bounded waits, cgroup directory removal, exit codes, shell quoting, bind-mount scripts, path
 * segment checks. Also the sandbox start protocol's "OK" line, which the sandbox runtime needs
 * because its wrappers fork (the forking parent keeps the setup pipe open, so EOF cannot mean
 * "exec'd" as on the host runtime).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { StartError, type ContainerStartSpec, type MountSpec } from './types.js';

/** The shell every wrapper runs in. */
export const SH = '/bin/sh';
/** Used when neither the container spec nor podvisor's environment has a PATH. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How a child ended, or why it never started. */
export type ChildExit = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

/** A setup failure reported on fd 3 by a wrapper shell (`E <code> [index]` plus detail lines). */
export interface SetupFailure {
  code: string;
  index?: number;
  details: string;
}

/**
 * One place that listens to a child's lifecycle: `spawned` settles with true on 'spawn' or the
 * error on a spawn failure; `exit` always settles, so no promise dangles and no 'error' is unhandled.
 */
export function watchChild(child: ChildProcess): { spawned: Promise<true | Error>; exit: Promise<ChildExit> } {
  let isSpawned = false;
  let resolveSpawned!: (v: true | Error) => void;
  let resolveExit!: (v: ChildExit) => void;
  const spawned = new Promise<true | Error>((r) => { resolveSpawned = r; });
  const exit = new Promise<ChildExit>((r) => { resolveExit = r; });
  child.once('spawn', () => { isSpawned = true; resolveSpawned(true); });
  child.once('exit', (code, signal) => resolveExit({ code, signal }));
  child.on('error', (err) => {
    if (isSpawned) return;
    resolveSpawned(err);
    resolveExit({ error: err });
  });
  return { spawned, exit };
}

/** Reads a stream to its end ('' for none); never rejects. */
export function readAll(stream: unknown): Promise<string> {
  const s = stream as NodeJS.ReadableStream | null | undefined;
  if (!s) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer | string) => { text += d.toString(); });
    s.once('end', () => resolve(text));
    s.once('close', () => resolve(text));
    s.once('error', () => resolve(text));
  });
}

/**
 * Reads the setup pipe until the wrapper's final shell reports `OK` (the command is being
 * exec'd) or the pipe ends (setup failed, or a wrapper died). The rest of the stream keeps being
 * drained and discarded: a forking wrapper parent still holds the pipe, and closing our end could
 * SIGPIPE it, which would falsify the exit status.
 */
export function readSetup(stream: unknown): Promise<{ ok: boolean; text: string }> {
  const s = stream as NodeJS.ReadableStream | null | undefined;
  if (!s) return Promise.resolve({ ok: false, text: '' });
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      resolve({ ok, text });
    };
    s.on('data', (d: Buffer | string) => {
      if (done) return;
      text += d.toString();
      if (/(^|\n)OK\n/.test(text)) finish(true);
    });
    s.once('end', () => finish(false));
    s.once('close', () => finish(false));
    s.once('error', () => finish(false));
  });
}

export function once(stream: NodeJS.ReadableStream | null | undefined, event: string): Promise<void> {
  if (!stream || (stream as { closed?: boolean }).closed === true) return Promise.resolve();
  return new Promise((resolve) => stream.once(event, () => resolve()));
}

export function destroyStreams(child: ChildProcess): void {
  for (const s of child.stdio) (s as { destroy?: () => void } | null)?.destroy?.();
}

/** True when `p` settled within `ms`. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** rmdir a (now empty) cgroup, retrying while the kernel still counts exiting tasks (EBUSY). */
export async function removeCgroupDir(dir: string, deadline: number): Promise<void> {
  for (let round = 0; ; round++) {
    try {
      // cgroupfs is in memory: a direct call costs microseconds, a thread pool round trip
      // queues behind every other one (200 exits at once make 200 of these).
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() >= deadline) throw err;
    }
    await delay(Math.min(2 + round * 2, 20));
  }
}

/** The PIDs in a cgroup (`cgroup.procs`); 'gone' when it does not exist, undefined when unreadable. */
export function cgroupProcs(dir: string): number[] | 'gone' | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  // cgroupfs files report size 0, so the content is the only emptiness test.
  return text.split('\n').filter((l) => l !== '').map(Number);
}

/**
 * SIGKILLs everything listed in a cgroup (`cgroup.procs`) until it is empty; false at the
 * deadline. On cgroup v2 `cgroup.kill` (kernel >= 5.14) kills the whole leaf at once first.
 * A missing directory counts as empty.
 */
export async function sweepCgroup(dir: string, version: 1 | 2, deadline: number): Promise<boolean> {
  // Direct calls, as in removeCgroupDir: cgroupfs answers at once.
  if (version === 2) {
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    } catch {
      // no cgroup.kill (kernel < 5.14) or no leaf: the list below decides
    }
  }
  for (let round = 0; ; round++) {
    const pids = cgroupProcs(dir);
    if (pids === 'gone') return true;
    if (pids === undefined) return false;
    if (pids.length === 0) return true;
    for (const p of pids) tryKill(p, 'SIGKILL');
    if (Date.now() >= deadline) return false;
    await delay(Math.min(2 + round * 2, 20)); // processes being killed leave the list shortly
  }
}

export function tryKill(pid: number, signal: NodeJS.Signals): void {
  if (!(pid > 0) && !(pid < -1)) return; // never 0, -1 or NaN: those mean "everything"
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone
  }
}

/** Spec D10: the exit code, or 128 + the number of the signal that killed the process. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal !== null ? (os.constants.signals[signal] ?? 0) : 0);
}

/** Runs a short command, optionally feeding `input` on stdin; collects stdout and stderr. */
export async function run(
  argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(argv[0] ?? SH, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) });
  const outcome = watchChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin?.on('error', () => {});
  child.stdin?.end(opts.input ?? '');
  const timer = setTimeout(() => tryKill(child.pid ?? 0, 'SIGKILL'), opts.timeoutMs ?? 10_000);
  const e = await outcome.exit;
  clearTimeout(timer);
  await within(Promise.all([once(child.stdout, 'close'), once(child.stderr, 'close')]), 200);
  if ('error' in e) return { code: 127, stdout, stderr: e.error.message };
  return { code: exitCodeOf(e.code, e.signal), stdout, stderr };
}

export function findExecutable(name: string, pathEnv: string): string | undefined {
  for (const d of pathEnv.split(':')) {
    if (d === '') continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * The mounts with every `subPath` resolved on the host and checked to stay inside its volume,
 * as the kubelet does since CVE-2017-1002101: a symlink a container planted in a volume can
 * never make a later mount reach outside it. The resolved path (no symlink left) is the mount's
 * source; one that leaves the volume is refused with the kubelet's reason and words. A subPath
 * that does not exist yet is kept as it is (the runtime creates it).
 */
export function confineSubPaths(container: string, mounts: readonly MountSpec[]): MountSpec[] {
  return mounts.map((m) => {
    if (!m.subPath) return m;
    const root = realpathOrSelf(m.subPath.volumeRoot);
    let real: string;
    try {
      real = fs.realpathSync(path.join(m.subPath.volumeRoot, m.subPath.path));
    } catch {
      // Missing: its existing part must not leave the volume either.
      real = path.resolve(root, m.subPath.path);
      let probe = path.dirname(real);
      while (probe !== root && probe.startsWith(`${root}/`) && !fs.existsSync(probe)) probe = path.dirname(probe);
      if (fs.existsSync(probe)) {
        const r = realpathOrSelf(probe);
        if (r !== root && !r.startsWith(`${root}/`)) real = r;
      }
    }
    if (real !== root && !real.startsWith(`${root}/`)) {
      throw new StartError('CreateContainerConfigError', `failed to prepare subPath for volumeMount "${m.volume}" of container "${container}": the subPath ${JSON.stringify(m.subPath.path)} leaves the volume`);
    }
    return { ...m, hostPath: real };
  });
}

function realpathOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** Single-quotes a string for /bin/sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function depth(p: string): number {
  return p.split('/').filter((x) => x !== '').length;
}

/** Bind-mounts each volume at its mountPath (parents before children), as the host runtime does. */
export function mountScript(mounts: readonly MountSpec[], hostIsFile: readonly boolean[], mkdir: string, mount: string): string {
  const order = mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.mountPath) - depth(b.m.mountPath));
  let s = '';
  for (const { m, i } of order) {
    const mp = shq(m.mountPath);
    const prepare = hostIsFile[i] === true
      ? `${shq(mkdir)} -p -- ${shq(path.dirname(m.mountPath))} && { [ -e ${mp} ] || : > ${mp}; }`
      : `${shq(mkdir)} -p -- ${mp}`;
    const ro = m.readOnly ? ` && ${shq(mount)} -o remount,bind,ro -- ${mp}` : '';
    s += `{ ${prepare} && ${shq(mount)} --rbind -- ${shq(m.hostPath)} ${mp}${ro}; } 2>&3 || { echo 'E mount ${i}' >&3; exit 126; }\n`;
  }
  return s;
}

/**
 * How a container's last wrapper step differs with `stdin` or `tty` (see stdio.ts): `stdin`, a
 * redirection of its stdin (from the FIFO); `tty`, the shell text that exec's the command under
 * `script` instead of `exec "$@"` (it writes `OK` itself, under script, and keeps fd 3 for it).
 */
export interface FinalLaunch {
  stdin?: string;
  tty?: string;
}

/**
 * The last wrapper step, in the container's final view: cd to the working dir, check that the
 * command can be exec'd (in a subshell, so the user's variables are untouched; `check` false
 * when the caller checked it in-process, which spares a fork per start), restore PWD/OLDPWD
 * (dash sets them), then exec. With `reportOk` it writes `OK` on fd 3 just before the exec, and
 * applies the `stderr` redirection (default `2>&1`: back to stdout, the log, when the wrappers'
 * own stderr went to fd 3 so that their errors become the StartError's text; `''` keeps it) and
 * the `launch` changes of a container with stdio.
 */
export function finalScript(workingDir: string, env: Record<string, string>, reportOk: boolean, check = true, stderr = '2>&1', launch?: FinalLaunch): string {
  const restore = (['PWD', 'OLDPWD'] as const)
    .map((v) => (env[v] !== undefined ? `${v}=${shq(env[v])}; export ${v}` : `unset ${v}`))
    .join('; ');
  const redirs = [stderr, launch?.stdin ?? ''].filter((r) => r !== '').map((r) => `${r} `).join('');
  let execLine = 'exec "$@" 3>&-\n';
  if (reportOk) execLine = launch?.tty !== undefined ? `${launch.tty} ${redirs}\n` : `echo OK >&3\nexec "$@" ${redirs}3>&-\n`;
  const cd = `cd -- ${shq(workingDir)} >/dev/null 2>&1 || { echo 'E workdir' >&3; exit 126; }\n`;
  if (!check) return `${cd}${restore}\n${execLine}`;
  return `${cd}( set -f; c=$1
  case $c in */*) [ -e "$c" ] || exit 1; { [ -f "$c" ] && [ -x "$c" ]; } || exit 2; exit 0;; esac
  IFS=:
  for d in $PATH; do if [ -f "\${d:-.}/$c" ] && [ -x "\${d:-.}/$c" ]; then exit 0; fi; done
  exit 1
) || { if [ $? -eq 2 ]; then echo 'E noexec' >&3; else echo 'E notfound' >&3; fi; exit 127; }
${restore}
${execLine}`;
}

/**
 * Whether each volume's host path is a file (bound over a file, not a directory), for
 * {@link mountScript}; a `CreateContainerError` naming the volume when one is not accessible.
 */
export async function mountSourceKinds(container: string, mounts: readonly MountSpec[]): Promise<boolean[]> {
  const hostIsFile: boolean[] = [];
  for (const m of mounts) {
    try {
      hostIsFile.push(!(await fsp.stat(m.hostPath)).isDirectory());
    } catch (err) {
      throw new StartError('CreateContainerError', `failed to create container "${container}": volume "${m.volume}": host path ${m.hostPath} is not accessible: ${errText(err)}`);
    }
  }
  return hostIsFile;
}

/** A container's environment: exactly the spec's, plus podvisor's PATH when it has none. */
export function containerEnv(env: Record<string, string>): Record<string, string> {
  const out = { ...env };
  if (out.PATH === undefined) out.PATH = process.env.PATH ?? DEFAULT_PATH;
  return out;
}

/**
 * The {@link StartError} of a set-up failure a wrapper reported: a failed volume mount names the
 * volume (`CreateContainerError`), `sandbox` (the wrapper could not enter the pod sandbox) is a
 * `RunContainerError`, the rest as {@link setupMessage} says.
 */
export function startErrorOf(f: SetupFailure, spec: ContainerStartSpec, workingDir: string): StartError {
  if (f.code === 'mount') {
    const m = spec.mounts[f.index ?? -1];
    const what = m ? `volume "${m.volume}" at ${m.mountPath}` : 'a volume';
    return new StartError('CreateContainerError', `failed to create container "${spec.name}": cannot mount ${what}: ${f.details || 'mount failed'}`);
  }
  if (f.code === 'sandbox') return new StartError('RunContainerError', `failed to start container "${spec.name}" in the pod sandbox: ${f.details}`);
  const msg = setupMessage(f, spec.argv[0] ?? '', workingDir);
  const verb = msg.reason === 'CreateContainerError' ? 'create' : 'start';
  return new StartError(msg.reason, `failed to ${verb} container "${spec.name}": ${msg.text}`);
}

/** A container ID without its `<runtime>://` prefix. */
export function bareId(prefix: string, id: string): string {
  return id.startsWith(prefix) ? id.slice(prefix.length) : id;
}

export function parseSetup(text: string): SetupFailure | undefined {
  const lines = text.split('\n').filter((l) => l !== '' && l !== 'OK');
  const codeLine = lines.find((l) => /^E \w+/.test(l));
  if (codeLine === undefined) return undefined;
  const [, code = '', index] = /^E (\w+)(?: (\d+))?/.exec(codeLine) ?? [];
  const f: SetupFailure = { code, details: lines.filter((l) => l !== codeLine).join('; ') };
  if (index !== undefined) f.index = Number(index);
  return f;
}

export function setupMessage(f: SetupFailure, cmd: string, workingDir: string): { reason: 'RunContainerError' | 'CreateContainerError'; text: string } {
  switch (f.code) {
    case 'workdir':
      return { reason: 'CreateContainerError', text: `working directory "${workingDir}" does not exist or is not a directory` };
    case 'notfound':
      return { reason: 'RunContainerError', text: cmd.includes('/') ? `exec: "${cmd}": stat ${cmd}: no such file or directory` : `exec: "${cmd}": executable file not found in $PATH` };
    case 'noexec':
      return { reason: 'RunContainerError', text: `exec: "${cmd}": permission denied (not an executable file)` };
    case 'cgroup':
      return { reason: 'RunContainerError', text: `cannot join the container's cgroup${f.details ? `: ${f.details}` : ''}` };
    case 'etc':
      return { reason: 'CreateContainerError', text: `cannot mount the pod's /etc/hosts and /etc/hostname${f.details ? `: ${f.details}` : ''}` };
    default:
      return { reason: 'RunContainerError', text: `setup failed (${f.code})${f.details ? `: ${f.details}` : ''}` };
  }
}

export function isSafeSegment(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0');
}

/** Names become path components: refuse anything that could escape the pod directory. */
export function safeSegment(s: string, what: string): string {
  if (!isSafeSegment(s)) throw new Error(`invalid ${what} ${JSON.stringify(s)}`);
  return s;
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks): tells a PID from its reuse. */
export function procStartTime(pid: number): string | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Children of a process (Linux `CONFIG_PROC_CHILDREN`), [] when it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((x) => x.trim() !== '').map(Number);
  } catch {
    return [];
  }
}

/** One live process as `/proc/<pid>/stat` describes it (PIDs as seen from podvisor's PID namespace). */
export interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Start time in clock ticks: tells a PID from its reuse. */
  start: string;
}

/**
 * Every live process (zombies left out: they run nothing and only wait for their parent to
 * reap them), read from /proc; [] where there is none (not Linux).
 */
export async function processTable(): Promise<ProcEntry[]> {
  let entries: string[];
  try {
    entries = await fsp.readdir('/proc');
  } catch {
    return [];
  }
  const found: ProcEntry[] = [];
  await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map(async (e) => {
    try {
      const stat = await fsp.readFile(`/proc/${e}/stat`, 'utf8');
      // fields after "(comm) ": state ppid pgrp session ... (starttime is the 20th)
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' || f[0] === 'X') return;
      found.push({ pid: Number(e), ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: f[19] ?? '' });
    } catch {
      // exited meanwhile
    }
  }));
  return found;
}

/**
 * SIGKILLs every live process whose process group or session is one of `leaders`' (a process
 * spawned detached leads both), until none is left or the deadline passes; false then. Waiting
 * matters: a SIGKILLed process is not gone at once, and "exited" must mean nothing runs any more.
 * Matching the session also catches process groups made by a job-control shell; a process that
 * called setsid escapes (only a cgroup finds it). Linux reads /proc; elsewhere nothing is done
 * (true). Never matches podvisor itself, its own session or group, or PIDs 0 and 1.
 */
export async function sweepSessions(leaders: Iterable<number>, deadline: number): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const own = ownSession();
  const set = new Set([...leaders].filter((l) => l > 1 && l !== process.pid && l !== own.session && l !== own.pgrp));
  if (set.size === 0) return true;
  for (let round = 0; ; round++) {
    const members = (await processTable()).filter((p) => p.pid !== process.pid && (set.has(p.pgrp) || set.has(p.session)));
    if (members.length === 0) return true;
    for (const p of members) tryKill(p.pid, 'SIGKILL');
    if (Date.now() >= deadline) return false;
    await delay(Math.min(2 + round * 2, 20));
  }
}

/** {@link sweepSessions} of one leader (a container's main process, spawned detached). */
export function sweepSession(leader: number, deadline: number): Promise<boolean> {
  return sweepSessions([leader], deadline);
}

/** podvisor's own session and process group (never swept). */
function ownSession(): { session: number; pgrp: number } {
  try {
    const s = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { session: Number(f[3]), pgrp: Number(f[2]) };
  } catch {
    return { session: -1, pgrp: -1 };
  }
}

/** Exec output kept (stdout and stderr together). */
export const EXEC_OUTPUT_LIMIT = 10 * 1024;
/** How long an exec's streams and setup pipe may take to close after its exit. */
const EXEC_DRAIN_MS = 200;

/** How one adapter runs an exec: its child watcher, its setup-pipe protocol, its cleanup. */
export interface ExecRunner {
  watch: (child: ChildProcess) => { spawned: Promise<true | Error>; exit: Promise<ChildExit> };
  parseSetup: (text: string) => SetupFailure | undefined;
  /** After the exec's main process exited (e.g. kill what it left when there is no cgroup). */
  afterExit?: (pgid: number) => Promise<void>;
}

/**
 * Runs an exec's wrapper `argv` (setup failures reported on fd 3) in its own process group:
 * collects combined output up to {@link EXEC_OUTPUT_LIMIT}, SIGKILLs the group at the timeout,
 * and turns setup failures into the command-not-found (127) or cannot-run (126) results.
 * Never throws.
 */
export async function runExec(argv: string[], env: Record<string, string>, o: { timeoutMs: number; cmd: string; workingDir: string }, r: ExecRunner): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
  let child: ChildProcess;
  try {
    child = spawn(argv[0] ?? SH, argv.slice(1), { detached: true, env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  } catch (err) {
    return { exitCode: 127, output: `exec: ${errText(err)}`, timedOut: false };
  }
  const outcome = r.watch(child);
  const chunks: Buffer[] = [];
  let size = 0;
  const collect = (b: Buffer): void => {
    if (size >= EXEC_OUTPUT_LIMIT) return;
    const part = b.subarray(0, EXEC_OUTPUT_LIMIT - size);
    chunks.push(part);
    size += part.length;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const setupP = readAll(child.stdio[3]);
  const spawned = await outcome.spawned;
  if (spawned !== true || child.pid === undefined) {
    await outcome.exit;
    destroyStreams(child);
    return { exitCode: 127, output: `exec: ${errText(spawned)}`, timedOut: false };
  }
  const pgid = child.pid;
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; tryKill(-pgid, 'SIGKILL'); }, Math.max(1, o.timeoutMs));
  const e = await outcome.exit;
  clearTimeout(timer);
  await r.afterExit?.(pgid);
  const drained = Promise.all([once(child.stdout, 'close'), once(child.stderr, 'close')]);
  await within(drained, EXEC_DRAIN_MS);
  const setup = await within(setupP, EXEC_DRAIN_MS);
  destroyStreams(child);
  let output = Buffer.concat(chunks).toString('utf8');
  let exitCode = 'code' in e ? exitCodeOf(e.code, e.signal) : 127;
  const failure = setup === true ? r.parseSetup(await setupP) : undefined;
  if (failure !== undefined) {
    const msg = setupMessage(failure, o.cmd, o.workingDir);
    output = (msg.text + (output === '' ? '' : `\n${output}`)).slice(0, EXEC_OUTPUT_LIMIT);
    exitCode = failure.code === 'notfound' ? 127 : 126;
  }
  return { exitCode, output, timedOut };
}

/**
 * Work done after the call that ordered it returned (the files of a removed instance: nothing
 * waits for a dead instance's garbage on the restart path), which a close still waits for.
 */
export class Background {
  private readonly pending = new Set<Promise<void>>();

  /** Runs `work` without waiting for it; its failure is ignored (best effort, like its callers'). */
  run(work: () => Promise<void>): void {
    const p: Promise<void> = work().catch(() => undefined).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once everything ordered so far is done. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
