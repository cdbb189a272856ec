/**
 * The start side of Kubernetes' `stdin`, `stdinOnce` and `tty` container fields (see
 * `ContainerStdio` in types.ts; the attach side is attach.ts), shared by the runtimes. A
 * container without them is started exactly as before: stdin `/dev/null`, nothing made here.
 *
 * stdin: a FIFO `<bundle>/stdin`, made before the launch. The runtime's outermost wrapper shell
 * opens it on fd {@link STDIN_FD} (in the host's mount namespace, so no volume mounted later can
 * hide the bundle), every layer passes that fd on, and the last step moves it to fd 0
 * ({@link STDIN_FROM_FD}); on oci the wrapper redirects runc's stdin from it, and runc copies it
 * to the container's own stdin pipe (its EOF too). Attach clients write to the FIFO (attach.ts).
 *
 * - without `stdinOnce` it is opened read-write (`<>`): the container itself holds a writer, so
 *   it never reads EOF whoever comes and goes, and a client attaching after a podvisor restart
 *   finds the FIFO in the bundle as it was;
 * - with `stdinOnce` it is opened read-only, and podvisor holds a read-write descriptor of it
 *   from before the launch (the "keeper": the wrapper's open never blocks, and no EOF comes while
 *   no client has attached yet). The keeper and the writers of the clients are closed when the
 *   first stdin attach ends: the container reads what was written, then EOF. A podvisor that
 *   stops or crashes before that closes the keeper too (the process's descriptors go with it):
 *   the container reads EOF then, and a later podvisor treats its stdin as closed.
 *
 * tty: the command runs under util-linux `script` (as `kubectl exec -t` does, see
 * tty.ts: `-q -e -E always`, typescript `/dev/null`), which gives it a pseudo-terminal:
 * script's child leads a new session on it and exec's the command, so the command is the
 * session leader with the terminal as its controlling terminal and its fds 0-2. script copies
 * its own stdin (the FIFO; without `stdin`, a FIFO nobody writes: reads block as with `docker run
 * -t`) to the terminal and the terminal's output to its stdout (the log, as stdout records). The
 * terminal starts with {@link DEFAULT_TTY_SIZE} and the slave's ECHO on; resizes are `stty -F
 * /proc/<script>/fd/<slave>` (the kernel sends SIGWINCH to the foreground process group). The
 * shell under script writes the wrapper's `OK` (so the start is reported once the terminal is
 * set up and the command's PID exists), restores the container's `SHELL` (script runs `$SHELL
 * -c`, which is /bin/sh for it), `PWD` and `OLDPWD` (that shell sets them) and exec's the
 * command: its environment is exactly the container's, as without a terminal.
 *
 * Which process is the main process with a tty: the command (script's child), not script.
 * util-linux 2.38's script turns SIGTERM, SIGINT and SIGQUIT into a SIGTERM of its child and then
 * exits 0 whatever the child did, and dies of SIGHUP leaving its child: signals therefore go to
 * the command directly (its own handlers and default actions, as without a terminal). script
 * exits when the command has exited, with its code, or 128 + n after signal n (`-e`): runtimes
 * report that signal. An OOM kill of the command is such a SIGKILL (137). script runs in the
 * container's cgroup (and, on sandbox, its namespaces), so stats and the complete kill include
 * it. On oci script runs runc in the foreground with `process.terminal` set: runc makes the
 * container's own terminal and proxies it through script's (set raw without echo: the
 * container's terminal echoes and edits lines), copying script's size at the start and on
 * SIGWINCH.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cells, ttyTools } from './tty.js';
import { DEFAULT_PATH, SH, childrenOf, errText, findExecutable, procStartTime, run, shq } from './proc-util.js';
import { StartError, type ContainerStdio, type TerminalSize } from './types.js';

/** File name of a container's stdin FIFO in its bundle. */
export const STDIN_FIFO = 'stdin';
/** The descriptor on which the wrappers pass the FIFO down to the last step. */
export const STDIN_FD = 5;
/** The last step's redirections: the FIFO on fd 0, its passing descriptor closed. */
export const STDIN_FROM_FD = `0<&${STDIN_FD} ${STDIN_FD}<&-`;
/** A container terminal's size until a client resizes it (a VT100's). */
export const DEFAULT_TTY_SIZE: Readonly<TerminalSize> = Object.freeze({ width: 80, height: 24 });

/**
 * The stdio fields as they take effect (`stdinOnce` only with `stdin`), or undefined when they
 * change nothing (absent or all false: the container starts exactly as without them).
 */
export function effectiveStdio(s: ContainerStdio | undefined): ContainerStdio | undefined {
  if (!s || (!s.stdin && !s.tty)) return undefined;
  return { stdin: s.stdin, stdinOnce: s.stdin && s.stdinOnce, tty: s.tty };
}

/**
 * The container's environment with a terminal: `TERM=xterm` unless it sets `TERM` (containerd
 * does the same for `tty` containers).
 */
export function stdioEnv(env: Record<string, string>, stdio: ContainerStdio | undefined): Record<string, string> {
  return stdio?.tty === true && env.TERM === undefined ? { ...env, TERM: 'xterm' } : env;
}

/** What a start with stdio made before its launch (see {@link prepareStdio}). */
export interface PreparedStdio {
  stdio: ContainerStdio;
  /** The FIFO (`<bundle>/stdin`). */
  fifo: string;
  /** With `stdinOnce`: podvisor's read-write descriptor of the FIFO (the keeper). */
  keeper?: number;
  /** With `tty`: the host's script and stty. */
  tty?: { script: string; stty: string };
}

/**
 * Makes the FIFO of a container with stdio in `bundle` (which exists), opens the keeper
 * (`stdinOnce`) and finds the terminal's tools (`tty`). Rejects with a `CreateContainerError`
 * {@link StartError} when a tool is missing or the FIFO cannot be made; nothing is left open then.
 */
export async function prepareStdio(container: string, bundle: string, stdio: ContainerStdio): Promise<PreparedStdio> {
  const fail = (why: string): StartError => new StartError('CreateContainerError', `failed to create container "${container}": ${why}`);
  const prepared: PreparedStdio = { stdio, fifo: path.join(bundle, STDIN_FIFO) };
  if (stdio.tty) {
    const tools = ttyTools();
    if ('missing' in tools) throw fail(tools.missing.replace('(kubectl exec -t)', '(tty: true)'));
    prepared.tty = tools;
  }
  // Node cannot make a FIFO: one mkfifo per start of a container with stdio (none without).
  const mkfifo = findExecutable('mkfifo', `${process.env.PATH ?? ''}:${DEFAULT_PATH}`) ?? 'mkfifo';
  const r = await run([mkfifo, '-m', '0600', '--', prepared.fifo], { timeoutMs: 10_000 });
  if (r.code !== 0) throw fail(`cannot make its stdin FIFO: ${(r.stderr || r.stdout).trim() || `mkfifo exited ${r.code}`}`);
  if (stdio.stdinOnce) {
    try {
      // Read-write: never blocks, and it is a reader and a writer until closed.
      prepared.keeper = fs.openSync(prepared.fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw fail(`cannot open its stdin FIFO: ${errText(err)}`);
    }
  }
  return prepared;
}

/** Closes what {@link prepareStdio} opened (a start that failed). Idempotent. */
export function releasePrepared(p: PreparedStdio | undefined): void {
  if (p?.keeper === undefined) return;
  try {
    fs.closeSync(p.keeper);
  } catch {
    // closed already
  }
  delete p.keeper;
}

/** The outermost wrapper shell's first line: the FIFO on {@link STDIN_FD} (read-only with `stdinOnce`). */
export function openStdinLine(p: PreparedStdio): string {
  return `exec ${STDIN_FD}${p.stdio.stdinOnce ? '<' : '<>'}${shq(p.fifo)}\n`;
}

/** A redirection of stdin from the FIFO itself (a wrapper with no mounts to fear: oci's). */
export function stdinFromFifo(p: PreparedStdio): string {
  return `0${p.stdio.stdinOnce ? '<' : '<>'}${shq(p.fifo)}`;
}

/**
 * The shell text that exec's `argv` on a new terminal under script (see the module comment):
 * `SHELL=/bin/sh` for script, then, in the shell under it, the initial size (and `raw -echo`
 * with `raw`: a command that proxies its own terminal through this one, runc), `OK` on fd 3
 * with `reportOk` (fd 3 stays open for it), the variables a shell sets (`SHELL`, `PWD`,
 * `OLDPWD`) as they are in `env` (the container's exact environment; unset when absent there;
 * undefined: left as they are, for runc, whose container gets its own environment), and the exec
 * of `argv`. The caller appends its redirections (stdin from the FIFO).
 */
export function ttyExec(tools: { script: string; stty: string }, argv: readonly string[], o: { raw: boolean; reportOk: boolean; env: Record<string, string> | undefined }): string {
  const size = `rows ${cells(DEFAULT_TTY_SIZE.height)} cols ${cells(DEFAULT_TTY_SIZE.width)}`;
  const env = o.env;
  const inner = [
    `${shq(tools.stty)} ${o.raw ? 'raw -echo ' : ''}${size} 2>/dev/null`,
    ...(o.reportOk ? ['echo OK >&3', 'exec 3>&-'] : []),
    ...(env ? (['SHELL', 'PWD', 'OLDPWD'] as const).map((v) => (env[v] !== undefined ? `${v}=${shq(env[v])}; export ${v}` : `unset ${v}`)) : []),
    `exec ${argv.map(shq).join(' ')}`,
  ].join('; ');
  return `SHELL=${SH}; export SHELL; exec ${shq(tools.script)} -q -e -E always -c ${shq(inner)} /dev/null`;
}

/**
 * The command of a tty container: the child of `script` (process `scriptPid`), once the shell
 * under script reported `OK` (it exec's the command without forking); undefined when it is gone
 * already.
 */
export function terminalChild(scriptPid: number): { mainPid: number; mainStartTime?: string } | undefined {
  const pid = childrenOf(scriptPid)[0];
  if (pid === undefined) return undefined;
  const start = procStartTime(pid);
  return start !== undefined ? { mainPid: pid, mainStartTime: start } : { mainPid: pid };
}

/** What a launch record keeps of a container's stdio, for a later podvisor process. */
export interface StdioRecord {
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  /** With `tty`: script's PID (it holds the terminal) and its `/proc` start time. */
  ttyPid?: number;
  ttyStartTime?: string;
}

/** Why a recorded {@link StdioRecord} is unusable, or undefined when it is fine (or absent). */
export function checkStdioRecord(x: unknown): string | undefined {
  if (x === undefined) return undefined;
  if (typeof x !== 'object' || x === null) return 'bad stdio';
  const r = x as Partial<StdioRecord>;
  if (typeof r.stdin !== 'boolean' || typeof r.stdinOnce !== 'boolean' || typeof r.tty !== 'boolean') return 'bad stdio';
  if ((r.ttyPid !== undefined && typeof r.ttyPid !== 'number') || (r.ttyStartTime !== undefined && typeof r.ttyStartTime !== 'string')) return 'bad stdio terminal';
  return undefined;
}
