/**
 * The `direct` monitor: podvisor itself is the wrapper's parent and writes its output to the
 * CRI format log. The fallback where conmon is not installed (a fresh machine with nothing but
 * Node), and `run`'s default: containers end with podvisor, and a later podvisor process cannot
 * re-attach to them (it finds them `unknown` and the runtime kills what is left).
 *
 * With a directory (see {@link createMonitor}) it keeps one spare ready ({@link SparePool}): a
 * shell, podvisor's child in its own session, that joined a leaf cgroup ahead and waits for
 * `go` on a pipe before it sources its command file. Without one, each launch spawns its wrapper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SH, errText, exitCodeOf, readSetup, tryKill, watchChild, within, type ChildExit } from '../proc-util.js';
import { CriLogWriter } from './cri-writer.js';
import { joinSpareCgroup, removeSpareCgroup, SparePool, sweepSpareCgroups, WAIT_SCRIPT, writeCommand, type SpareBase } from './spares.js';
import type { LaunchSpec, Launched, Monitor, MonitorExit, Reattached, Reservation } from './types.js';

/** Options of {@link DirectMonitor}. */
export interface DirectOptions {
  /** Where spares' command files go; without it no spare is prepared. */
  dir?: string;
  /** A cgroup v1 directory where spares join a leaf of their own ahead (see {@link Reservation.cgroup}). */
  spareCgroupRoot?: string;
  /** Other cgroup v1 directories (usage accounting) where spares join a leaf of the same name ahead. */
  spareAccountingRoots?: readonly string[];
  /**
   * Spares kept ready (default 1: a spare costs a fork of nothing but a shell, and starting
   * several at once competed with the restarts they serve in the in-place restart benchmark).
   */
  spares?: number;
}

/** A spare: the waiting shell and its pipes (stdout, stderr, set-up channel, `go`). */
interface DirectSpare extends SpareBase {
  child: ChildProcess;
  pid: number;
  exit: Promise<ChildExit>;
  /** The command file it sources. */
  file: string;
}

/** PATH of a spare's waiting shell (the container's own environment comes with its command). */
const SPARE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The direct monitor. */
export class DirectMonitor implements Monitor {
  readonly kind = 'direct';
  readonly outlivesPodvisor = false;
  private readonly spares: SparePool<DirectSpare> | undefined;

  constructor(private readonly opts: DirectOptions = {}) {
    this.spares = opts.dir === undefined ? undefined
      : new SparePool((id) => this.startSpare(id), (s) => this.endSpare(s), () => randomBytes(16).toString('hex'), opts.spares ?? 1);
  }

  /**
   * Creates the spares' directory; command files an earlier process left (it died during a
   * launch; its spares ended with it, on the EOF of their pipe) are removed.
   */
  static async create(opts: DirectOptions): Promise<DirectMonitor> {
    if (opts.dir !== undefined) {
      await fsp.rm(opts.dir, { recursive: true, force: true });
      await fsp.mkdir(opts.dir, { recursive: true, mode: 0o700 });
    }
    // Leaves of spares that ended with an earlier process (on the EOF of their pipe).
    await sweepSpareCgroups(opts.spareCgroupRoot, opts.spareAccountingRoots);
    return new DirectMonitor(opts);
  }

  async reserve(): Promise<Reservation> {
    const spare = await this.spares?.take();
    if (!spare) return { id: randomBytes(16).toString('hex') };
    return spare.cgroup === undefined ? { id: spare.id } : { id: spare.id, cgroup: spare.cgroup };
  }

  private async startSpare(id: string): Promise<DirectSpare> {
    const file = path.join(this.opts.dir ?? '', `${id}.sh`);
    const child = spawn(SH, ['-c', WAIT_SCRIPT, 'sh', file], {
      detached: true, env: { PATH: SPARE_PATH }, cwd: '/', stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    const watched = watchChild(child);
    const spawned = await watched.spawned;
    if (spawned !== true || child.pid === undefined) throw new Error(`cannot start a spare shell: ${spawned === true ? 'no PID' : errText(spawned)}`);
    const spare: DirectSpare = { id, child, pid: child.pid, exit: watched.exit, file };
    void watched.exit.then(() => { spare.exited = true; });
    const leaf = await joinSpareCgroup(this.opts.spareCgroupRoot, id, child.pid, this.opts.spareAccountingRoots);
    if (leaf !== undefined) spare.cgroup = leaf;
    return spare;
  }

  private async endSpare(s: DirectSpare): Promise<void> {
    // An exited spare's PID may be another process's by now.
    if (s.exited !== true) tryKill(s.pid, 'SIGKILL');
    for (const st of s.child.stdio) st?.destroy();
    await within(s.exit, 2_000);
    await fsp.rm(s.file, { force: true });
    await removeSpareCgroup(this.opts.spareCgroupRoot, s.id, this.opts.spareAccountingRoots);
  }

  launch(spec: LaunchSpec): Promise<Launched> {
    const spare = this.spares?.claim(spec.id);
    if (spare) {
      try {
        return Promise.resolve(this.launchSpare(spare, spec));
      } catch (err) {
        return this.endSpare(spare).then(() => { throw err; });
      }
    }
    const [cmd, ...args] = spec.argv;
    if (cmd === undefined) return Promise.reject(new Error('empty wrapper command'));
    // The set-up channel is a pipe here (read until `OK` or its end): nobody outlives this
    // process, so nothing needs the file, and a pipe spares a watch and reads per start.
    let child;
    try {
      child = spawn(cmd, args, { detached: true, env: spec.env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      return Promise.reject(new Error(`cannot start the container's wrapper: ${errText(err)}`));
    }
    const watched = watchChild(child);
    const pid = child.pid;
    if (pid === undefined) {
      return watched.spawned.then((e) => {
        throw new Error(`cannot start the container's wrapper: ${e === true ? 'no PID' : errText(e)}`);
      });
    }
    const launched = this.watch(child, pid, watched.exit, spec.logPath);
    // The first launch had no spare: the next one will.
    void launched.setup.finally(() => this.spares?.replenishSoon());
    return Promise.resolve(launched);
  }

  /** Hands the command to a spare: its file, then `go` (and the pipe's end) on fd 4. */
  private launchSpare(spare: DirectSpare, spec: LaunchSpec): Launched {
    writeCommand(spare.file, spec);
    const go = spare.child.stdio[4] as Writable;
    go.on('error', () => undefined); // a spare that died meanwhile: its exit reports it
    go.end('go\n');
    const launched = this.watch(spare.child, spare.pid, spare.exit, spec.logPath);
    void launched.setup.finally(() => {
      void fsp.rm(spare.file, { force: true });
      this.spares?.replenishSoon();
    });
    return launched;
  }

  private watch(child: ChildProcess, pid: number, exited: Promise<ChildExit>, logPath: string): Launched {
    const log = new CriLogWriter(logPath);
    log.follow(child.stdout as Readable, 'stdout');
    log.follow(child.stderr as Readable, 'stderr');
    const exit: Promise<MonitorExit> = exited.then((e) => {
      const finishedAt = Date.now();
      if (!('code' in e)) return { exitCode: 128, finishedAt };
      const m: MonitorExit = { exitCode: exitCodeOf(e.code, e.signal), finishedAt };
      if (e.signal !== null) m.signal = e.signal;
      return m;
    });
    return { pid, setup: readSetup(child.stdio[3]), exit, logged: log.done };
  }

  reattach(): Promise<Reattached> {
    return Promise.resolve({ state: 'unknown', why: 'podvisor was its parent (no monitor: conmon is not installed)' });
  }

  async forget(id: string): Promise<void> {
    await this.spares?.giveBack(id);
  }

  async close(): Promise<void> {
    // Nothing is watched beyond the children themselves; spares end.
    if (this.spares) await within(this.spares.close(), 2_500);
  }
}
