/**
 * The streaming exec (`ContainerRuntime.execStream`, `kubectl exec [-i] [-t]`): runs a runtime's
 * {@link ExecPlan} (exec-plan.ts, which also runs the probe exec) with its streams open, and
 * follows it to its end.
 *
 * A streaming exec is spawned detached (its own session and process group), with pipes:
 *
 * - without a terminal: stdin a pipe only with `stdin` (else /dev/null), stdout and stderr pipes,
 *   and fd 3, the set-up channel of the wrapper's last shell (`finalScript`: `E notfound`, …);
 * - with a terminal (`tty`): the same, stdin always a pipe, plus fd 4 for the line that says the
 *   terminal is set up. The plan's argv runs under util-linux `script` on a new pseudo-terminal:
 *   its flags (`-q -e -E always`, typescript `/dev/null`), the initial size and modes, the ready
 *   line, resizes and the EOF character that ends stdin are described in tty.ts.
 *
 * `kill()` SIGKILLs the whole tree (see exec-kill.ts). After a normal exit, what the command left
 * in the sessions known (the spawned process's, those of every process of a terminal exec once it
 * is set up, runc's exec'd process's) is killed too: `exited` resolves when the command has
 * exited, its processes are gone, and its output was read to the end. A process that left those
 * sessions itself (setsid) survives a normal exit, until its container ends. An exec never
 * touches the instance: its output goes to the caller only (never the container's log), its exit
 * is its own.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { KILL_DEADLINE_MS, descendants, killExecTree } from './exec-kill.js';
import type { ExecPlan } from './exec-plan.js';
import { signalOfExitCode } from './monitor/signals.js';
import {
  SH, destroyStreams, errText, exitCodeOf, procStartTime, processTable, readAll, run, setupMessage, sweepSessions,
  watchChild, within, type ChildExit,
} from './proc-util.js';
import { EOF_CHAR, cells, ptySlaveOf, ttyTools, underScript } from './tty.js';
import {
  StreamUnavailableError, type ExecStream, type ExecStreamExit, type ExecStreamOptions, type TerminalSize,
} from './types.js';

/** An exec's output that has not ended this long after its processes are gone, with nobody reading, is dropped. */
const DRAIN_IDLE_MS = 1_000;

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
