/**
 * Commands run in a container's context, shared by the runtime adapters: the probe exec
 * (`ContainerRuntime.exec`, output collected) and the streaming exec (`execStream`, `kubectl
 * exec [-i] [-t]`), both from one {@link ExecPlan} each runtime builds (host: env, working dir,
 * mount namespace, cgroup; sandbox: `nsenter` into the pod's and the container's namespaces;
 * oci: `runc exec`). Also `connect` (`kubectl port-forward`).
 *
 * A streaming exec is spawned detached (its own session and process group), with pipes:
 *
 * - without a terminal: stdin a pipe only with `stdin` (else /dev/null), stdout and stderr pipes,
 *   and fd 3, the set-up channel of the wrapper's last shell (`finalScript`: `E notfound`, …);
 * - with a terminal (`tty`): the plan's argv runs under util-linux `script`, which gives it a
 *   real pseudo-terminal (podvisor cannot: Node has no openpty, and node-pty is a native module
 *   to build; `script` is in bsdutils, which is Essential on Debian and Ubuntu). Flags (util-linux
 *   2.38): `-q` (no "Script started" banner), `-e` (exit with the child's status, 128 + n after
 *   signal n), `-E always` (the slave's ECHO flag on: script's stdin is a pipe, so the echo of
 *   what the client types must come from the pty, as from a remote terminal), `-c <command>`,
 *   and `/dev/null` as the typescript (`-f`, flushing the typescript, is moot then: script writes
 *   the terminal's output to its stdout unbuffered). script runs `$SHELL -c`: `SHELL=/bin/sh` for
 *   script, the container's own given back to the command. That shell first runs `stty rows H
 *   cols W` on the pty (the initial size, set before the real command starts; plus `raw -echo`
 *   when the wrapper makes the container's terminal itself, `runc exec -t`, which proxies it
 *   through script's: only the container's pty may echo and edit lines), then exec's the plan's
 *   argv. A line on fd 4 says the terminal is set up: written by that shell, or with
 *   `readyInContext` by the last shell in the container's context (sandbox: after `setsid
 *   --ctty` inside the container's PID namespace). The client's input and resizes wait for it
 *   (input that came earlier would meet the pty in its first modes). A resize is `stty -F
 *   /proc/<script>/fd/<slave> rows H cols W`: script keeps the slave open, and setting its size
 *   makes the kernel send SIGWINCH to the terminal's foreground process group (works across
 *   mount namespaces; on oci, `runc exec` in the foreground is that group and copies the size to
 *   the container's own pty). Ending stdin writes the terminal's EOF character (^D; two when a
 *   line is pending: the first only submits it), as a user at a terminal does: in canonical mode
 *   the command's read() returns 0, so `cat` ends and an interactive `sh` exits. script's own
 *   stdin stays open (at its EOF it would write one ^D itself, after waiting up to 2 s for the
 *   terminal's input queue to empty). Without `stdin`, the EOF character is written at once
 *   (the command reads an empty terminal). script, sh and stty are the host's.
 *
 * `kill()` SIGKILLs the whole tree: every descendant of the spawned process, every process in
 * its session and process group, and in every session one of them leads (script's child and
 * the exec'd process of `runc exec` call setsid), until none is left. Execs join the
 * container's cgroup (its accounting, limits, and its end), which is therefore never swept for
 * an exec. After a normal exit, what the command left in the sessions known (the spawned
 * process's, those of every process of a terminal exec once it is set up, runc's exec'd
 * process's) is killed too: `exited` resolves when the command has exited, its processes are
 * gone, and its output was read to the end. A process that left those sessions itself
 * (setsid) survives a normal exit, until its container ends. An exec never touches the
 * instance: its output goes to the caller only (never the container's log), its exit is its own.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { signalOfExitCode } from './monitor/signals.js';
import {
  DEFAULT_PATH, SH, destroyStreams, errText, exitCodeOf, findExecutable, procStartTime, processTable, readAll, run, runExec, setupMessage, shq, sweepSessions,
  tryKill, watchChild, within, type ChildExit, type ProcEntry, type SetupFailure,
} from './proc-util.js';
import {
  StreamUnavailableError, type ExecResult, type ExecStream, type ExecStreamExit, type ExecStreamOptions, type TerminalSize,
} from './types.js';

/** Why an exec did not start, as its wrapper tells it (runc's error log). */
export interface ExecFailure {
  /** 127: the command was not found; 126: it could not be run (not executable, bad working dir, …). */
  exitCode: 126 | 127;
  /** What a shell would print (`exec: "x": executable file not found in $PATH`). */
  message: string;
}

/**
 * How a runtime runs a command in one instance's context: built by one function per runtime,
 * used by both the probe exec ({@link runExecPlan}) and the streaming exec
 * ({@link startExecStream}).
 */
export interface ExecPlan {
  /** The wrapper's argv: ends by exec'ing the command in the container's context. */
  argv: string[];
  /** The wrapper's environment (on host and sandbox: the container's, which the command keeps). */
  env: Record<string, string>;
  /** The command's first word and the working dir, for set-up failure messages. */
  cmd: string;
  workingDir: string;
  /**
   * Reads the set-up failure the wrapper's last shell reported on fd 3 (`parseSetup`); absent
   * when the wrapper reports none there (runc).
   */
  parseSetup?: (text: string) => SetupFailure | undefined;
  /**
   * A wrapper that tells its own start failure after the exit (runc): `read` says it (or
   * undefined: the command ran), and output that begins with `prefix` (the wrapper's own words
   * on the command's stderr) is held back until then and dropped when it was the failure.
   */
  wrapperFailure?: { prefix: string; read: () => ExecFailure | undefined };
  /** Exit codes 128 + n of the wrapper mean "signal n killed the command" (runc, script). */
  signalledByCode?: boolean;
  /**
   * The exec'd command's host PID once known (runc's `--pid-file`; it leads its own session).
   * When it has ended while the wrapper still runs, what is left in its session is killed: runc
   * in the foreground ends only once the command's output pipes (or its terminal) are closed by
   * every process holding them.
   */
  commandPid?: () => number | undefined;
  /**
   * With `tty`: the wrapper makes the container's terminal itself and proxies script's (`runc
   * exec -t`): script's pty is set raw, without echo, before it starts (the container's pty
   * echoes and edits lines).
   */
  ownTerminal?: boolean;
  /**
   * With `tty`: the shell in the container's context writes the ready line on fd 4 (it is the
   * last step before the command, in its final session), rather than script's command shell.
   */
  readyInContext?: boolean;
  /** Probe exec only: after its main process exited (its process group `pgid`), e.g. kills leftovers no cgroup catches. */
  afterProbe?: (pgid: number) => Promise<void>;
  /** Removes what the plan made (files) once the exec is over. Never rejects. */
  cleanup?: () => Promise<void>;
}

/** Upper bound for killing an exec's processes. */
const KILL_DEADLINE_MS = 5_000;
/** An exec's output that has not ended this long after its processes are gone, with nobody reading, is dropped. */
const DRAIN_IDLE_MS = 1_000;
/** The terminal's EOF character (VEOF, ^D). */
const EOF_CHAR = '\x04';
/** A terminal dimension as `stty` and the kernel take it (`unsigned short`). */
const MAX_CELLS = 0xffff;

/**
 * The probe exec: runs the plan's wrapper with {@link runExec} (combined output up to 10 KiB,
 * SIGKILL of the process group at the timeout, 127/126 for set-up failures), then applies the
 * wrapper's own failure report and cleans up. Never throws.
 */
export async function runExecPlan(plan: ExecPlan, timeoutMs: number): Promise<ExecResult> {
  try {
    const r = await runExec(plan.argv, plan.env, { timeoutMs, cmd: plan.cmd, workingDir: plan.workingDir }, {
      watch: watchChild,
      parseSetup: plan.parseSetup ?? (() => undefined),
      ...(plan.afterProbe ? { afterExit: plan.afterProbe } : {}),
    });
    const failure = r.timedOut || r.exitCode === 0 ? undefined : plan.wrapperFailure?.read();
    return failure ? { exitCode: failure.exitCode, output: failure.message, timedOut: false } : r;
  } finally {
    await plan.cleanup?.();
  }
}

/**
 * Absolute paths of the tools a terminal needs (util-linux `script`, coreutils `stty`), or what
 * to install. Also used for containers with `tty` (`stdio.ts`).
 */
export function ttyTools(): { script: string; stty: string } | { missing: string } {
  const where = `${process.env.PATH ?? ''}:${DEFAULT_PATH}`;
  const script = findExecutable('script', where);
  if (script === undefined) return { missing: 'a terminal (kubectl exec -t) needs script from util-linux, which is not installed: apt-get install bsdutils (util-linux on other distributions)' };
  const stty = findExecutable('stty', where);
  if (stty === undefined) return { missing: 'a terminal (kubectl exec -t) needs stty, which is not installed: apt-get install coreutils' };
  return { script, stty };
}

/** A size in character cells `stty` accepts (an integer from 0 to 65535). */
export function cells(n: number): number {
  return Number.isFinite(n) ? Math.min(MAX_CELLS, Math.max(0, Math.trunc(n))) : 0;
}

/** The plan's argv run under `script` on a new pseudo-terminal (see the module comment). */
function underScript(plan: ExecPlan, tools: { script: string; stty: string }, size: TerminalSize | undefined): { argv: string[]; env: Record<string, string> } {
  // script runs $SHELL -c: /bin/sh, and the command gets the container's SHELL back.
  const env: Record<string, string> = { ...plan.env, SHELL: SH };
  // A terminal's type, as containerd gives a tty exec (kept when the container sets one).
  if (plan.env.TERM === undefined) env.TERM = 'xterm';
  const shell = plan.env.SHELL !== undefined ? `SHELL=${shq(plan.env.SHELL)}; export SHELL` : 'unset SHELL';
  const modes = [...(plan.ownTerminal === true ? ['raw', '-echo'] : []), ...(size ? ['rows', String(cells(size.height)), 'cols', String(cells(size.width))] : [])];
  const stty = modes.length > 0 ? `${shq(tools.stty)} ${modes.join(' ')} 2>/dev/null; ` : '';
  const ready = plan.readyInContext === true ? '' : 'echo >&4; ';
  const command = `${stty}${ready}${shell}; exec ${plan.argv.map(shq).join(' ')}${plan.readyInContext === true ? '' : ' 4>&-'}`;
  return { argv: [tools.script, '-q', '-e', '-E', 'always', '-c', command, '/dev/null'], env };
}

/**
 * Starts the plan's command with its streams open (see the module comment and
 * `ContainerRuntime.execStream`). Rejects with {@link StreamUnavailableError} when a terminal is
 * asked for and `script` or `stty` is missing, or when the wrapper cannot be spawned.
 */
export async function startExecStream(plan: ExecPlan, opts: ExecStreamOptions): Promise<ExecStream> {
  let argv = plan.argv;
  let env = plan.env;
  let stty: string | undefined;
  if (opts.tty) {
    const tools = ttyTools();
    if ('missing' in tools) {
      await plan.cleanup?.();
      throw new StreamUnavailableError(tools.missing);
    }
    ({ argv, env } = underScript(plan, tools, opts.size));
    stty = tools.stty;
  }
  const stdio: StdioOptions = [opts.tty || opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', ...(opts.tty ? ['pipe' as const] : [])];
  let child: ChildProcess;
  try {
    child = spawn(argv[0] ?? SH, argv.slice(1), { detached: true, env, cwd: '/', stdio });
  } catch (err) {
    await plan.cleanup?.();
    throw new StreamUnavailableError(`cannot start the exec: ${errText(err)}`);
  }
  const outcome = watchChild(child);
  // Listeners first: nothing the child writes may be missed while the spawn is confirmed.
  const running = new RunningExec(child, plan, opts, stty, outcome.exit);
  const spawned = await outcome.spawned;
  if (spawned !== true || child.pid === undefined) {
    await running.exited;
    throw new StreamUnavailableError(`cannot start the exec: ${errText(spawned)}`);
  }
  return running;
}

/** A stream's output that is held back while it may be the wrapper's failure (see {@link ExecPlan.wrapperFailure}). */
interface Gate {
  prefix: string;
  /** undefined: not decided yet (no output so far); false: passing; an array: holding. */
  held: Buffer[] | false | undefined;
  /** Where the held output goes when it was not the failure. */
  target: PassThrough;
}

/** One running streaming exec. */
class RunningExec implements ExecStream {
  readonly stdin?: NodeJS.WritableStream;
  readonly stdout = new PassThrough();
  readonly stderr?: NodeJS.ReadableStream;
  readonly exited: Promise<ExecStreamExit>;
  private readonly stderrOut: PassThrough | undefined;
  private readonly root: number | undefined;
  /**
   * tty: resolves once the terminal is set up (initial size, modes) and the sessions of the
   * exec are recorded, or the exec ended; input and resizes wait for it.
   */
  private readonly ready: Promise<void>;
  private resolveReady: () => void = () => {};
  /** Leaders of the exec's sessions (the spawned process, script's child, a setsid'd command). */
  private readonly leaders = new Set<number>();
  private resizes: Promise<void> = Promise.resolve();
  private killing: Promise<boolean> | undefined;
  private done = false;
  /** Bytes read from the child's output streams (drain progress). */
  private readBytes = 0;
  private readonly gates: Gate[] = [];

  constructor(
    private readonly child: ChildProcess,
    private readonly plan: ExecPlan,
    private readonly opts: ExecStreamOptions,
    private readonly stty: string | undefined,
    exit: Promise<ChildExit>,
  ) {
    this.root = child.pid;
    if (this.root !== undefined) this.leaders.add(this.root);
    this.ready = new Promise((r) => { this.resolveReady = r; });
    const tty = opts.tty;
    if (!tty) this.stderrOut = new PassThrough();
    if (this.stderrOut) this.stderr = this.stderrOut;
    const outGate = this.gate(this.stdout);
    if (child.stdout) this.forward(child.stdout, this.stdout, outGate);
    // On a terminal the command's stderr is the terminal; script's own errors join its output.
    if (child.stderr) this.forward(child.stderr, this.stderrOut ?? this.stdout, this.stderrOut ? this.gate(this.stderrOut) : outGate);
    const setup = readAll(child.stdio[3]);
    if (tty) {
      const readyPipe = child.stdio[4] as Readable | null | undefined;
      readyPipe?.once('data', () => void this.recordSessions().then(() => this.resolveReady()));
      readyPipe?.on('error', () => {});
    } else {
      this.resolveReady();
    }
    child.stdin?.on('error', () => {}); // EPIPE once the command is gone: its input is dropped
    if (opts.stdin && child.stdin) this.stdin = this.input(child.stdin, tty);
    else if (tty && child.stdin) void this.toTerminal(child.stdin, EOF_CHAR); // an empty terminal: the first read sees EOF
    this.watchCommand();
    this.exited = this.finish(exit, setup);
  }

  resize(size: TerminalSize): void {
    const stty = this.stty;
    if (stty === undefined || this.done) return;
    const rows = String(cells(size.height));
    const cols = String(cells(size.width));
    // In order, and never before the initial size (which would undo them).
    this.resizes = this.resizes.then(async () => {
      await this.ready;
      const slave = this.done ? undefined : this.slavePath();
      if (slave !== undefined) await run([stty, '-F', slave, 'rows', rows, 'cols', cols], { timeoutMs: 5_000 });
    }).catch(() => {});
  }

  kill(): void {
    if (this.done || this.killing || this.root === undefined) return;
    this.killing = killExecTree(this.root, this.sessions(), Date.now() + KILL_DEADLINE_MS);
  }

  /** The leaders of the exec's sessions known so far. */
  private sessions(): number[] {
    const pid = this.plan.commandPid?.();
    return [...this.leaders, ...(pid !== undefined ? [pid] : [])];
  }

  /**
   * tty, once the terminal is set up: the sessions of every process of the exec so far
   * (script's child and, in a container's PID namespace, the command's own session), so that
   * what the command leaves in them after a normal exit is found.
   */
  private async recordSessions(): Promise<void> {
    if (this.root === undefined) return;
    const table = await processTable();
    for (const p of descendants(this.root, table)) this.leaders.add(p.session);
  }

  /**
   * Watches the command of a plan that reports its PID (see {@link ExecPlan.commandPid}): when
   * it has ended while the wrapper still runs, kills what is left in its session.
   */
  private watchCommand(): void {
    const get = this.plan.commandPid;
    if (!get) return;
    void (async () => {
      let pid: number | undefined;
      let start: string | undefined;
      for (let round = 0; !this.done; round++) {
        await delay(pid === undefined ? 20 : Math.min(20 + round * 10, 200), undefined, { ref: false });
        if (this.done) return;
        if (pid === undefined) {
          pid = get();
          start = pid !== undefined ? procStartTime(pid) : undefined;
          if (pid === undefined || start !== undefined) continue;
        } else if (procStartTime(pid) === start) {
          continue;
        }
        await sweepSessions([pid], Date.now() + KILL_DEADLINE_MS);
        return;
      }
    })();
  }

  /** `/proc/<script>/fd/<n>`: the pty slave script holds (the only terminal among its fds). */
  private slavePath(): string | undefined {
    return this.root === undefined ? undefined : ptySlaveOf(this.root);
  }

  private gate(target: PassThrough): Gate | undefined {
    const w = this.plan.wrapperFailure;
    if (!w) return undefined;
    const g: Gate = { prefix: w.prefix, held: undefined, target };
    this.gates.push(g);
    return g;
  }

  /** Copies a child's output to the caller's stream, with back-pressure; dropped once the caller destroyed it. */
  private forward(src: Readable, dst: PassThrough, gate: Gate | undefined): void {
    src.on('data', (b: Buffer) => {
      this.readBytes += b.length;
      if (gate) {
        if (gate.held === undefined) gate.held = b.toString('utf8', 0, gate.prefix.length) === gate.prefix ? [] : false;
        if (gate.held !== false) {
          gate.held.push(b);
          return;
        }
      }
      if (dst.destroyed || dst.writableEnded) return;
      if (!dst.write(b)) src.pause();
    });
    dst.on('drain', () => src.resume());
    dst.on('close', () => src.resume());
    src.on('error', () => {});
  }

  /**
   * Writes to the terminal once it is set up (input that arrived earlier would meet script's pty
   * in its first modes: echoed, or taken as its own EOF, before `ownTerminal` made it raw).
   */
  private async toTerminal(target: Writable, data: Buffer | string): Promise<void> {
    await this.ready;
    if (target.destroyed || target.writableEnded || this.done) return;
    await new Promise<void>((resolve) => target.write(data, () => resolve()));
  }

  /** The caller's stdin: forwards to the command's; its end is EOF (on a terminal: the EOF character). */
  private input(target: Writable, tty: boolean): Writable {
    let last = '\n';
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (chunk.length > 0) last = chunk.toString('latin1', chunk.length - 1);
        if (tty) {
          void this.toTerminal(target, chunk).then(() => cb());
        } else if (target.destroyed || target.writableEnded || this.done) {
          cb();
        } else {
          target.write(chunk, () => cb()); // a failed write (command gone) drops the input
        }
      },
      final: (cb) => {
        if (tty) {
          // A pending line is only submitted by the first ^D; the second then reads as EOF.
          void this.toTerminal(target, last === '\n' || last === '\r' || last === EOF_CHAR ? EOF_CHAR : EOF_CHAR + EOF_CHAR).then(() => cb());
          return;
        }
        if (!target.destroyed && !target.writableEnded && !this.done) target.end();
        cb();
      },
    });
  }

  private async finish(exit: Promise<ChildExit>, setup: Promise<string>): Promise<ExecStreamExit> {
    const e = await exit;
    this.resolveReady();
    if (this.killing) await this.killing;
    // What the command left behind goes with it (its sessions; a cgroup is the container's).
    await sweepSessions(this.sessions(), Date.now() + KILL_DEADLINE_MS);
    this.done = true;
    await this.drain();
    const setupText = (await within(setup, 200)) ? await setup : '';
    destroyStreams(this.child);
    let exitCode = 'code' in e ? exitCodeOf(e.code, e.signal) : 127;
    let signal: NodeJS.Signals | undefined = 'code' in e ? e.signal ?? undefined : undefined;
    if (signal === undefined && 'code' in e && (this.opts.tty || this.plan.signalledByCode === true)) signal = signalOfExitCode(exitCode);
    let message: string | undefined = 'error' in e ? `exec: ${errText(e.error)}` : undefined;
    const setupFailure = this.plan.parseSetup?.(setupText);
    const wrapper = setupFailure === undefined && exitCode !== 0 && this.killing === undefined ? this.plan.wrapperFailure?.read() : undefined;
    if (setupFailure !== undefined) {
      message = setupMessage(setupFailure, this.plan.cmd, this.plan.workingDir).text;
      exitCode = setupFailure.code === 'notfound' ? 127 : 126;
      signal = undefined;
    } else if (wrapper !== undefined) {
      message = wrapper.message;
      exitCode = wrapper.exitCode;
      signal = undefined;
    }
    for (const g of this.gates) {
      const held = g.held;
      g.held = false;
      if (held && wrapper === undefined) for (const b of held) this.write(g.target, b);
    }
    if (message !== undefined) {
      const text = `${message}\n`;
      this.write(this.stderrOut ?? this.stdout, Buffer.from(this.opts.tty ? text.replace(/\n/g, '\r\n') : text));
    }
    this.stdout.end();
    this.stderrOut?.end();
    (this.stdin as Writable | undefined)?.destroy();
    await this.plan.cleanup?.();
    return signal !== undefined ? { exitCode, signal } : { exitCode };
  }

  private write(dst: PassThrough, b: Buffer): void {
    if (!dst.destroyed && !dst.writableEnded) dst.write(b);
  }

  /**
   * Waits until the child's output streams ended (every byte passed on); gives up when they make
   * no progress for {@link DRAIN_IDLE_MS} while the caller is not the one holding them up (a
   * process that escaped the kill may keep them open).
   */
  private async drain(): Promise<void> {
    const srcs = [this.child.stdout, this.child.stderr].filter((s): s is Readable => s !== null);
    const ended = Promise.all(srcs.map((s) => new Promise<void>((resolve) => {
      if (s.readableEnded || s.destroyed) resolve();
      s.once('end', () => resolve());
      s.once('close', () => resolve());
    })));
    let seen = -1;
    while (!(await within(ended, DRAIN_IDLE_MS))) {
      const blocked = [this.stdout, this.stderrOut].some((d) => d !== undefined && !d.destroyed && d.writableNeedDrain);
      if (!blocked && this.readBytes === seen) break;
      seen = this.readBytes;
    }
  }
}

/**
 * `/proc/<pid>/fd/<n>` of the first pseudo-terminal slave (`/dev/pts/N`) process `pid` holds
 * (`script` keeps its pty's slave open), for `stty -F`; undefined when it has none or is gone.
 */
export function ptySlaveOf(pid: number): string | undefined {
  const dir = `/proc/${pid}/fd`;
  try {
    for (const fd of fs.readdirSync(dir)) {
      if (/^\/dev\/pts\/\d+$/.test(fs.readlinkSync(`${dir}/${fd}`))) return `${dir}/${fd}`;
    }
  } catch {
    // the process is gone
  }
  return undefined;
}

/** The live descendants of `root` in `table`, `root` included (breadth first). */
function descendants(root: number, table: readonly ProcEntry[]): ProcEntry[] {
  const byParent = new Map<number, ProcEntry[]>();
  for (const p of table) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcEntry[] = [];
  const seen = new Set<number>();
  const queue = table.filter((p) => p.pid === root);
  while (queue.length > 0) {
    const p = queue.shift();
    if (p === undefined || seen.has(p.pid) || p.pid === process.pid) continue;
    seen.add(p.pid);
    out.push(p);
    queue.push(...(byParent.get(p.pid) ?? []));
  }
  return out;
}

/**
 * SIGKILLs an exec's process tree (see the module comment): the descendants of `root` (found
 * before anything is killed, while the tree is intact), and every process in the sessions and
 * process groups led by `root`, by `leaders` and by any of those descendants, until none is
 * left; false at the deadline.
 */
export async function killExecTree(root: number, leaders: readonly number[], deadline: number): Promise<boolean> {
  if (process.platform !== 'linux') {
    tryKill(-root, 'SIGKILL');
    return true;
  }
  const tree = descendants(root, await processTable());
  const sessions = new Set<number>([root, ...leaders]);
  for (const p of tree) {
    sessions.add(p.session);
    sessions.add(p.pgrp);
  }
  for (const p of tree) tryKill(p.pid, 'SIGKILL');
  tryKill(-root, 'SIGKILL');
  const swept = await sweepSessions(sessions, deadline);
  // Descendants that were in none of those sessions (none expected: they are found there).
  const started = new Map(tree.map((p) => [p.pid, p.start]));
  for (let round = 0; ; round++) {
    const alive = (await processTable()).filter((p) => started.get(p.pid) === p.start);
    if (alive.length === 0) return swept;
    for (const p of alive) tryKill(p.pid, 'SIGKILL');
    if (Date.now() >= deadline) return false;
    await delay(Math.min(2 + round * 2, 20));
  }
}

/**
 * The live streaming execs of a runtime, by instance: they are killed when their instance ends
 * or the runtime closes (an exec never outlives its container).
 */
export class ExecStreams {
  private readonly live = new Map<string, Set<ExecStream>>();

  /** Tracks `s` as an exec into instance `id` until it has exited. */
  add(id: string, s: ExecStream): void {
    let set = this.live.get(id);
    if (!set) this.live.set(id, set = new Set());
    set.add(s);
    void s.exited.finally(() => {
      set.delete(s);
      if (set.size === 0 && this.live.get(id) === set) this.live.delete(id);
    });
  }

  /** Kills every exec into instance `id` (it ended). */
  killInstance(id: string): void {
    for (const s of this.live.get(id) ?? []) s.kill();
  }

  /** Kills every exec and waits (bounded) until they have exited. */
  async closeAll(): Promise<void> {
    const all = [...this.live.values()].flatMap((set) => [...set]);
    for (const s of all) s.kill();
    await within(Promise.all(all.map((s) => s.exited)), KILL_DEADLINE_MS * 2);
  }
}

/**
 * A TCP connection to `host:port` (`kubectl port-forward`): resolves once connected, rejects
 * with the connect error (`ECONNREFUSED`, …), or with {@link StreamUnavailableError} for a port
 * that is not one.
 */
export function connectTcp(host: string, port: number): Promise<net.Socket> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new StreamUnavailableError(`invalid port ${String(port)}`));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const onError = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
